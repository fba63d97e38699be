func.func @embedding_table_rank(%ids: tensor<?x?xi64>, %t: tensor<256x64x1xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64x1xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
