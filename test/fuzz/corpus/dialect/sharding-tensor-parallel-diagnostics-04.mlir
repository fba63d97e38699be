module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @gate : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>, %up: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %w = llm.param @gate : tensor<64x64xbf16>
    %g = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %s = llm.swiglu %g, %up : tensor<?x?x64xbf16>
    return %s : tensor<?x?x64xbf16>
  }
}
