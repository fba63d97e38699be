func.func @last_token_batch(%x: tensor<2x?x64xbf16>) -> tensor<4x1x64xbf16> {
  %0 = llm.last_token %x : (tensor<2x?x64xbf16>) -> tensor<4x1x64xbf16>
  return %0 : tensor<4x1x64xbf16>
}
