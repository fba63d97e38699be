func.func @bias_add_scalar(%x: tensor<bf16>, %b: tensor<1xbf16>) -> tensor<bf16> {
  %0 = llm.bias_add %x, %b : tensor<bf16>, tensor<1xbf16>
  return %0 : tensor<bf16>
}
