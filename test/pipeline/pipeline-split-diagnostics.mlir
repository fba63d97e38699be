// RUN: llm-opt %s -split-input-file --llm-pipeline-split -verify-diagnostics

// llm-pipeline-split's own refusals, for grids that did not come from
// llm-shard-create-grid (which refuses such plans first; see
// test/sharding/diagnostics.mlir).

// More stages than decoder layers.
module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [3], microbatches = 1>} {
  shard.grid @grid(shape = 3)
  // expected-error@+1 {{pp = 3 exceeds the 2 decoder layers}}
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      llm.yield %x : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      llm.yield %x : tensor<?x?x64xbf16>
    }
    return %h1 : tensor<?x?x64xbf16>
  }
}

// -----

// A pp grid but no @forward.
// expected-error@+1 {{expected a func.func @forward to split}}
module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @main() {
    return
  }
}
