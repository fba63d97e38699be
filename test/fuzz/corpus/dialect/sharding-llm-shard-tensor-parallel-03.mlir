module @qkv_bias attributes {dist.plan = #dist.plan<axes = ["pp", "tp"], shape = [2, 4], microbatches = 1>} {
  shard.grid @grid(shape = 2x4)
  llm.weight @q : tensor<64x64xbf16>
  llm.weight @q_bias : tensor<64xbf16>
  llm.weight @k : tensor<16x64xbf16>
  llm.weight @k_bias : tensor<16xbf16>
  llm.weight @v : tensor<16x64xbf16>
  llm.weight @v_bias : tensor<16xbf16>
  llm.weight @o : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
    %wq = llm.param @q : tensor<64x64xbf16>
    %bq = llm.param @q_bias : tensor<64xbf16>
    %q = llm.linear %x, %wq bias %bq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
    %wk = llm.param @k : tensor<16x64xbf16>
    %bk = llm.param @k_bias : tensor<16xbf16>
    %k = llm.linear %x, %wk bias %bk : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
    %wv = llm.param @v : tensor<16x64xbf16>
    %bv = llm.param @v_bias : tensor<16xbf16>
    %v = llm.linear %x, %wv bias %bv : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
    %a = llm.attention %q, %k, %v, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    %wo = llm.param @o : tensor<64x64xbf16>
    %o = llm.linear %a, %wo : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %r = llm.add %x, %o : tensor<?x?x64xbf16>
    return %r : tensor<?x?x64xbf16>
  }
}
