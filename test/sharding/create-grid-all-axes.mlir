// RUN: llm-opt %s --llm-shard-create-grid=spec=tp2,sp2,ep2,pp2,dp2 | FileCheck %s --check-prefix=ALL
// RUN: llm-opt %s --llm-shard-create-grid=spec=ep2,sp3,tp4,dp5,pp1 | FileCheck %s --check-prefix=MIXED

// All five axes on a model that can take them (two MoE layers of two
// experts of width 32; no attention, so any tp dividing 32 works). The grid
// lists its axes outermost first, dp, pp, ep, sp, tp, whatever the order in
// the spec. Distinct degrees
// (MIXED) show that each degree lands on its own axis; pp1 is left out.

// ALL-LABEL: module attributes {dist.plan = #dist.plan<axes = ["dp", "pp", "ep", "sp", "tp"], shape = [2, 2, 2, 2, 2], microbatches = 1>} {
// ALL-NEXT:    shard.grid @grid(shape = 2x2x2x2x2){{$}}

// MIXED-LABEL: module attributes {dist.plan = #dist.plan<axes = ["dp", "ep", "sp", "tp"], shape = [5, 2, 3, 4], microbatches = 1>} {
// MIXED-NEXT:    shard.grid @grid(shape = 5x2x3x4){{$}}

module {
  llm.weight @router0 : tensor<2x64xbf16>
  llm.weight @gate0 : tensor<32x64xbf16>
  llm.weight @up0 : tensor<32x64xbf16>
  llm.weight @down0 : tensor<64x32xbf16>
  llm.weight @router1 : tensor<2x64xbf16>
  llm.weight @gate1 : tensor<32x64xbf16>
  llm.weight @up1 : tensor<32x64xbf16>
  llm.weight @down1 : tensor<64x32xbf16>
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %r = llm.param @router0 : tensor<2x64xbf16>
      %w, %i = llm.moe_router %x, %r experts 2 top_k 1 : (tensor<?x?x64xbf16>, tensor<2x64xbf16>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
      %g = llm.param @gate0 : tensor<32x64xbf16>
      %u = llm.param @up0 : tensor<32x64xbf16>
      %d = llm.param @down0 : tensor<64x32xbf16>
      %e = llm.experts %x, %w, %i experts 2 gate(%g, %g) up(%u, %u) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %e : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %r = llm.param @router1 : tensor<2x64xbf16>
      %w, %i = llm.moe_router %x, %r experts 2 top_k 1 : (tensor<?x?x64xbf16>, tensor<2x64xbf16>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
      %g = llm.param @gate1 : tensor<32x64xbf16>
      %u = llm.param @up1 : tensor<32x64xbf16>
      %d = llm.param @down1 : tensor<64x32xbf16>
      %e = llm.experts %x, %w, %i experts 2 gate(%g, %g) up(%u, %u) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %e : tensor<?x?x64xbf16>
    }
    return %h1 : tensor<?x?x64xbf16>
  }
}
