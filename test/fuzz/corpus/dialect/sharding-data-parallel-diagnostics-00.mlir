module {
  shard.grid @grid(shape = 2) {dist.axes = ["dp"]}
  func.func @main() {
    return
  }
}
