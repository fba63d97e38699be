module @tied attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [4], microbatches = 1>} {
  shard.grid @grid(shape = 4)
  llm.weight @embed : tensor<256x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>) -> tensor<?x1x256xbf16> {
    %emb = llm.param @embed : tensor<256x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
    %last = llm.last_token %h : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %whead = llm.param @embed : tensor<256x64xbf16>
    %logits = llm.lm_head %last, %whead tied : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
    return %logits : tensor<?x1x256xbf16>
  }
}
