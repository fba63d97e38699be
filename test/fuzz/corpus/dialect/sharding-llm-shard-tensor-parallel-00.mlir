!cache = !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 8, bf16>
module @dense attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @embed : tensor<256x64xbf16>
  llm.weight @attn_norm : tensor<64xbf16>
  llm.weight @q : tensor<64x64xbf16>
  llm.weight @k : tensor<32x64xbf16>
  llm.weight @v : tensor<32x64xbf16>
  llm.weight @o : tensor<64x64xbf16>
  llm.weight @mlp_norm : tensor<64xbf16>
  llm.weight @gate : tensor<128x64xbf16>
  llm.weight @up : tensor<128x64xbf16>
  llm.weight @down : tensor<64x128xbf16>
  llm.weight @final_norm : tensor<64xbf16>
  llm.weight @head : tensor<256x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>, %cache: !cache) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %emb = llm.param @embed : tensor<256x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
    %h0 = llm.decoder_layer 0 (%h, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %wn1 = llm.param @attn_norm : tensor<64xbf16>
      %n1 = llm.rms_norm %x, %wn1 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %wq = llm.param @q : tensor<64x64xbf16>
      %q = llm.linear %n1, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %wk = llm.param @k : tensor<32x64xbf16>
      %k = llm.linear %n1, %wk : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %wv = llm.param @v : tensor<32x64xbf16>
      %v = llm.linear %n1, %wv : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %qr = llm.rope %q, %p head_dim 8 <theta = 5.000000e+05> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
      %kr = llm.rope %k, %p head_dim 8 <theta = 5.000000e+05> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %a = llm.attention %qr, %kr, %v, %p cache(%c : !cache) [0] heads 8 kv_heads 4 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x32xbf16>, tensor<?x?x32xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
      %wo = llm.param @o : tensor<64x64xbf16>
      %o = llm.linear %a, %wo : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %r1 = llm.add %x, %o : tensor<?x?x64xbf16>
      %wn2 = llm.param @mlp_norm : tensor<64xbf16>
      %n2 = llm.rms_norm %r1, %wn2 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %wg = llm.param @gate : tensor<128x64xbf16>
      %g = llm.linear %n2, %wg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %wu = llm.param @up : tensor<128x64xbf16>
      %u = llm.linear %n2, %wu : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %s = llm.swiglu %g, %u : tensor<?x?x128xbf16>
      %wd = llm.param @down : tensor<64x128xbf16>
      %d = llm.linear %s, %wd : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
      %r2 = llm.add %r1, %d : tensor<?x?x64xbf16>
      llm.yield %r2 : tensor<?x?x64xbf16>
    }
    %last = llm.last_token %h0 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %wnf = llm.param @final_norm : tensor<64xbf16>
    %nf = llm.rms_norm %last, %wnf eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %whead = llm.param @head : tensor<256x64xbf16>
    %logits = llm.lm_head %nf, %whead : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
    %next = llm.argmax %logits : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %logits, %next : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}
