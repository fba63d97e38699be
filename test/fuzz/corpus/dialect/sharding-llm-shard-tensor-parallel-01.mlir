module @odd_vocab attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @embed : tensor<255x64xbf16>
  llm.weight @gate : tensor<128x64xbf16>
  llm.weight @up : tensor<128x64xbf16>
  llm.weight @down : tensor<64x128xbf16>
  llm.weight @head : tensor<255x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>) -> tensor<?x1x255xbf16> {
    %emb = llm.param @embed : tensor<255x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<255x64xbf16>) -> tensor<?x?x64xbf16>
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %wg = llm.param @gate : tensor<128x64xbf16>
      %g = llm.linear %x, %wg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %wu = llm.param @up : tensor<128x64xbf16>
      %u = llm.linear %x, %wu : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %s = llm.swiglu %g, %u : tensor<?x?x128xbf16>
      %wd = llm.param @down : tensor<64x128xbf16>
      %d = llm.linear %s, %wd : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
      %r = llm.add %x, %d : tensor<?x?x64xbf16>
      llm.yield %r : tensor<?x?x64xbf16>
    }
    %last = llm.last_token %h0 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %whead = llm.param @head : tensor<255x64xbf16>
    %logits = llm.lm_head %last, %whead : (tensor<?x1x64xbf16>, tensor<255x64xbf16>) -> tensor<?x1x255xbf16>
    return %logits : tensor<?x1x255xbf16>
  }
}
