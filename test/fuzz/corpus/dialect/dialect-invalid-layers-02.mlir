func.func @embedding_result_rank(%ids: tensor<?x?xi64>, %t: tensor<256x64xbf16>) -> tensor<?x64xbf16> {
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}
