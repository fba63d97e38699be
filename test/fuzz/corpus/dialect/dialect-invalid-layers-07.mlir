func.func @embedding_float_ids(%ids: tensor<?x?xf32>, %t: tensor<256x64xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.embedding %ids, %t : (tensor<?x?xf32>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
