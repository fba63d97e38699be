func.func @embedding_ids_rank(%ids: tensor<?xi64>, %t: tensor<256x64xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.embedding %ids, %t : (tensor<?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
