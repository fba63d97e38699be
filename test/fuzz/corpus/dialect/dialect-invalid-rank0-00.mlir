func.func @rms_norm_scalar(%x: tensor<bf16>, %w: tensor<1xbf16>) -> tensor<bf16> {
  %0 = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<bf16>, tensor<1xbf16>) -> tensor<bf16>
  return %0 : tensor<bf16>
}
