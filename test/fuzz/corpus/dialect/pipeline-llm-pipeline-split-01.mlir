module @uneven attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [3], microbatches = 1>} {
  shard.grid @grid(shape = 3)
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  llm.weight @w2 : tensor<64x64xbf16>
  llm.weight @w3 : tensor<64x64xbf16>
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h2 = llm.decoder_layer 2 (%h1) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w2 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h3 = llm.decoder_layer 3 (%h2) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %w = llm.param @w3 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    return %h3 : tensor<?x?x64xbf16>
  }
}
