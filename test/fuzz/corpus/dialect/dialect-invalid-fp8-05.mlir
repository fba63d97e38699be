func.func @input_scale_on_bf16_input(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xf32>, %is: tensor<1xf32>) -> tensor<?x?x16xbf16> {
  %y = llm.linear %x, %w scale %s input_scale %is : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>, tensor<1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
