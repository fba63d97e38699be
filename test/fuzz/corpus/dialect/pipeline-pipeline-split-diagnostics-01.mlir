module {
  shard.grid @grid(shape = 2) {dist.axes = ["pp"]}
  func.func @main() {
    return
  }
}
