func.func @last_token_dtype(%x: tensor<?x?x64xbf16>) -> tensor<?x1x64xf32> {
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x1x64xf32>
  return %0 : tensor<?x1x64xf32>
}
