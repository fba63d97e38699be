func.func @scale_on_bf16_weight(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>, %s: tensor<16x1xf32>) -> tensor<?x?x16xbf16> {
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16x1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
