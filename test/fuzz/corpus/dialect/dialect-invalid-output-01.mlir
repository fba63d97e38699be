func.func @last_token_result_rank(%x: tensor<?x?x64xbf16>) -> tensor<?x64xbf16> {
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}
