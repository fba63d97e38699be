func.func @embedding_seq(%ids: tensor<?x5xi64>, %t: tensor<256x64xbf16>) -> tensor<?x6x64xbf16> {
  %0 = llm.embedding %ids, %t : (tensor<?x5xi64>, tensor<256x64xbf16>) -> tensor<?x6x64xbf16>
  return %0 : tensor<?x6x64xbf16>
}
