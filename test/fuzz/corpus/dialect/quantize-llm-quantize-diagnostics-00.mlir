module {
  shard.grid @grid(shape = 2) {dist.axes = ["tp"]}
  func.func @forward() {
    return
  }
}
