func.func @scale_bf16(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xbf16>) -> tensor<?x?x16xbf16> {
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<16x1xbf16>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
