module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @w : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %w = llm.param @w : tensor<64x64xbf16>
    %g = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %s = llm.swiglu %g, %g : tensor<?x?x64xbf16>
    %o = llm.linear %s, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    return %o : tensor<?x?x64xbf16>
  }
}
