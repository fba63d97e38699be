func.func @embedding_dtype(%ids: tensor<?x?xi64>, %t: tensor<256x64xbf16>) -> tensor<?x?x64xf32> {
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
