module {
  llm.weight @w : tensor<16x8xbf16>
  llm.weight @w_scale : tensor<16xbf16>
  func.func @forward(%x: tensor<?x?x8xbf16>) -> tensor<?x?x16xbf16> {
    %w = llm.param @w : tensor<16x8xbf16>
    %y = llm.linear %x, %w : (tensor<?x?x8xbf16>, tensor<16x8xbf16>) -> tensor<?x?x16xbf16>
    return %y : tensor<?x?x16xbf16>
  }
}
