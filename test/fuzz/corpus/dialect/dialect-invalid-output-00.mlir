func.func @last_token_input_rank(%x: tensor<?x64xbf16>) -> tensor<?x1x64xbf16> {
  %0 = llm.last_token %x : (tensor<?x64xbf16>) -> tensor<?x1x64xbf16>
  return %0 : tensor<?x1x64xbf16>
}
