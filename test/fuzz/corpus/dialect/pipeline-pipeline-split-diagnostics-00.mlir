module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [3], microbatches = 1>} {
  shard.grid @grid(shape = 3)
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
