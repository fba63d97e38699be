module @dp attributes {dist.plan = #dist.plan<axes = ["dp", "tp"], shape = [2, 2], microbatches = 1>} {
  shard.grid @grid(shape = 2x2)
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    return %h : tensor<?x?x64xbf16>
  }
  func.func @helper() {
    return
  }
}
