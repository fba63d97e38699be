module @dp_ep {
  shard.grid @grid(shape = 2x2) {dist.axes = ["dp", "ep"]}
  func.func @forward() {
    return
  }
}
