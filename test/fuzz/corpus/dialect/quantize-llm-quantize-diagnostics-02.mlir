module {
  llm.weight @w : tensor<16x8xbf16>
  func.func @forward(%ids: tensor<?x?xi64>, %x: tensor<?x?x8xbf16>) -> (tensor<?x?x8xbf16>, tensor<?x?x16xbf16>) {
    %w = llm.param @w : tensor<16x8xbf16>
    %e = llm.embedding %ids, %w : (tensor<?x?xi64>, tensor<16x8xbf16>) -> tensor<?x?x8xbf16>
    %y = llm.linear %x, %w : (tensor<?x?x8xbf16>, tensor<16x8xbf16>) -> tensor<?x?x16xbf16>
    return %e, %y : tensor<?x?x8xbf16>, tensor<?x?x16xbf16>
  }
}
