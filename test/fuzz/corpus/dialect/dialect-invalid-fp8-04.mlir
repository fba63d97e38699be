func.func @fp8_input_without_scale(%x: tensor<?x?x64xf8E4M3FN>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xf32>) -> tensor<?x?x16xbf16> {
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
