func.func @last_token_hidden(%x: tensor<?x?x64xbf16>) -> tensor<?x1x32xbf16> {
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x1x32xbf16>
  return %0 : tensor<?x1x32xbf16>
}
