func.func @fp8_input_bf16_weight(%x: tensor<?x?x64xf8E4M3FN>, %w: tensor<16x64xbf16>, %is: tensor<1xf32>) -> tensor<?x?x16xbf16> {
  %y = llm.linear %x, %w input_scale %is : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xbf16>, tensor<1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
