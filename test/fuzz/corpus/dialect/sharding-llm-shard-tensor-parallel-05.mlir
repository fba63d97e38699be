module @no_tp attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @q : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %wq = llm.param @q : tensor<64x64xbf16>
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    return %q : tensor<?x?x64xbf16>
  }
}
