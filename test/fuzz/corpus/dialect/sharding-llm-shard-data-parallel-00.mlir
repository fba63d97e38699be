module @dp {
  shard.grid @grid(shape = 2x2) {dist.axes = ["dp", "tp"]}
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    return %h : tensor<?x?x64xbf16>
  }
  func.func @helper() {
    return
  }
}
