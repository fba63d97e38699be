func.func @argmax_batch(%l: tensor<3x1x256xbf16>) -> tensor<2x1xi64> {
  %0 = llm.argmax %l : (tensor<3x1x256xbf16>) -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}
