func.func @embedding_batch(%ids: tensor<2x5xi64>, %t: tensor<256x64xbf16>) -> tensor<3x5x64xbf16> {
  %0 = llm.embedding %ids, %t : (tensor<2x5xi64>, tensor<256x64xbf16>) -> tensor<3x5x64xbf16>
  return %0 : tensor<3x5x64xbf16>
}
