module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @q : tensor<64x64xbf16>
  llm.weight @kv : tensor<16x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
    %wq = llm.param @q : tensor<64x64xbf16>
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %wkv = llm.param @kv : tensor<16x64xbf16>
    %kv = llm.linear %x, %wkv : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
    %a = llm.attention %q, %kv, %kv, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    %r = llm.add %a, %x : tensor<?x?x64xbf16>
    return %r : tensor<?x?x64xbf16>
  }
}
