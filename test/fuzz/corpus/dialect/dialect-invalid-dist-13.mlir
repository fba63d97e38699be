module attributes {dist.plan = #dist.plan<axes = ["sp"], shape = [4], microbatches = 1>} {
  shard.grid @grid(shape = 4)
  func.func @ring_steps(%q: tensor<?x?x16xbf16>, %k: tensor<?x?x8xbf16>, %pos: tensor<?x?xi64>) {
    %a = dist.ring_attention %q, %k, %k, %pos heads 4 kv_heads 2 head_dim 4 causal on @grid axis 0 steps 2 : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
    return
  }
}
