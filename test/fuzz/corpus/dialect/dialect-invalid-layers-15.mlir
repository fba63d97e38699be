func.func @linear_in_features(%x: tensor<?x?x64xbf16>, %w: tensor<64x16xbf16>) -> tensor<?x?x16xbf16> {
  %0 = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x16xbf16>) -> tensor<?x?x16xbf16>
  return %0 : tensor<?x?x16xbf16>
}
