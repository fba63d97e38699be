func.func @scale_shape(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<64x1xf32>) -> tensor<?x?x16xbf16> {
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<64x1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
