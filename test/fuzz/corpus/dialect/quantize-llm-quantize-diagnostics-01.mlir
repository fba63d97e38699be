module {
  llm.weight @embed : tensor<16x8xbf16>
  func.func @forward(%ids: tensor<?x?xi64>, %x: tensor<?x1x8xbf16>) -> tensor<?x1x16xbf16> {
    %t = llm.param @embed : tensor<16x8xbf16>
    %e = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xbf16>) -> tensor<?x?x8xbf16>
    %l = llm.lm_head %x, %t tied : (tensor<?x1x8xbf16>, tensor<16x8xbf16>) -> tensor<?x1x16xbf16>
    return %l : tensor<?x1x16xbf16>
  }
}
