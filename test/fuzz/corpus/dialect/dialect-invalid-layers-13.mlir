func.func @linear_input_rank(%x: tensor<bf16>, %w: tensor<16x64xbf16>) -> tensor<16xbf16> {
  %0 = llm.linear %x, %w : (tensor<bf16>, tensor<16x64xbf16>) -> tensor<16xbf16>
  return %0 : tensor<16xbf16>
}
