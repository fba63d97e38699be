func.func @linear_result_features(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
