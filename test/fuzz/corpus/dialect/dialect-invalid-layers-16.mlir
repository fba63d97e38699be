func.func @linear_bias_size(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>, %b: tensor<64xbf16>) -> tensor<?x?x16xbf16> {
  %0 = llm.linear %x, %w bias %b : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<64xbf16>) -> tensor<?x?x16xbf16>
  return %0 : tensor<?x?x16xbf16>
}
