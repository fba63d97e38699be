// RUN: llm-opt %s --llm-shard-create-grid=spec=tp2,dp2 | FileCheck %s

// The pipeline rule (each stage needs a decoder layer) applies only when the
// plan has a pp axis: a @forward without llm.decoder_layer ops still takes
// tp and dp. (pp2 on it is refused; see diagnostics.mlir.)

// CHECK-LABEL: module attributes {dist.plan = #dist.plan<axes = ["dp", "tp"], shape = [2, 2], microbatches = 1>} {
// CHECK-NEXT:    shard.grid @grid(shape = 2x2){{$}}
module {
  func.func @forward(%gate: tensor<?x?x128xbf16>, %up: tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
    %s = llm.swiglu %gate, %up : tensor<?x?x128xbf16>
    return %s : tensor<?x?x128xbf16>
  }
}
