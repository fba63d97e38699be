func.func @embedding_hidden(%ids: tensor<?x?xi64>, %t: tensor<256x64xbf16>) -> tensor<?x?x32xbf16> {
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x32xbf16>
  return %0 : tensor<?x?x32xbf16>
}
