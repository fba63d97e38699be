func.func @linear_result_leading(%x: tensor<2x7x64xbf16>, %w: tensor<16x64xbf16>) -> tensor<2x8x16xbf16> {
  %0 = llm.linear %x, %w : (tensor<2x7x64xbf16>, tensor<16x64xbf16>) -> tensor<2x8x16xbf16>
  return %0 : tensor<2x8x16xbf16>
}
