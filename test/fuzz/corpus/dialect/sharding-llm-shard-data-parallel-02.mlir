module @tp_pp {
  shard.grid @grid(shape = 2x2) {dist.axes = ["pp", "tp"]}
  func.func @forward() {
    return
  }
}
