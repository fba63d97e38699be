func.func @fp8_embedding(%ids: tensor<?x?xi64>, %t: tensor<256x64xf8E4M3FN>) -> tensor<?x?x64xbf16> {
  %e = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xf8E4M3FN>) -> tensor<?x?x64xbf16>
  return %e : tensor<?x?x64xbf16>
}
