!cache = !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>
module @stages attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 4>} {
  shard.grid @grid(shape = 2)
  llm.weight @embed : tensor<64x64xbf16>
  llm.weight @w0 : tensor<64x64xbf16>
  llm.weight @w1 : tensor<64x64xbf16>
  llm.weight @w2 : tensor<64x64xbf16>
  llm.weight @w3 : tensor<64x64xbf16>
  llm.weight @norm : tensor<64xbf16>
  llm.weight @head : tensor<64x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>, %cache: !cache) -> (tensor<?x1x64xbf16>, tensor<?x1xi64>) {
    %emb = llm.param @embed : tensor<64x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %h0 = llm.decoder_layer 0 (%h, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %w = llm.param @w0 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %w = llm.param @w1 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h2 = llm.decoder_layer 2 (%h1, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %w = llm.param @w2 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %h3 = llm.decoder_layer 3 (%h2, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %w = llm.param @w3 : tensor<64x64xbf16>
      %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %y : tensor<?x?x64xbf16>
    }
    %last = llm.last_token %h3 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %wn = llm.param @norm : tensor<64xbf16>
    %n = llm.rms_norm %last, %wn eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %wh = llm.param @head : tensor<64x64xbf16>
    %logits = llm.lm_head %n, %wh : (tensor<?x1x64xbf16>, tensor<64x64xbf16>) -> tensor<?x1x64xbf16>
    %next = llm.argmax %logits : (tensor<?x1x64xbf16>) -> tensor<?x1xi64>
    return %logits, %next : tensor<?x1x64xbf16>, tensor<?x1xi64>
  }
}
