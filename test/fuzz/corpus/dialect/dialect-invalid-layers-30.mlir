func.func @rope_positions_shape(%x: tensor<1x4x64xbf16>, %p: tensor<1x5xi64>) -> tensor<1x4x64xbf16> {
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<1x4x64xbf16>, tensor<1x5xi64>) -> tensor<1x4x64xbf16>
  return %0 : tensor<1x4x64xbf16>
}
