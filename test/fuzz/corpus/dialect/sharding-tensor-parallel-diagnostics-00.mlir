module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @forward(%x: tensor<?x?x64xbf16>, %wq: tensor<64x64xbf16>, %k: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %a = llm.attention %q, %k, %k, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    return %a : tensor<?x?x64xbf16>
  }
}
