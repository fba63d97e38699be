module @dp_ep attributes {dist.plan = #dist.plan<axes = ["dp", "ep"], shape = [2, 2], microbatches = 1>} {
  shard.grid @grid(shape = 2x2)
  func.func @forward() {
    return
  }
}
