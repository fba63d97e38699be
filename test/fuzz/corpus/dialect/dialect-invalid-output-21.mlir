func.func @sample_batch(%l: tensor<4x1x256xbf16>, %seed: i64) -> tensor<4x2xi64> {
  %0 = llm.sample %l, %seed temperature 1.0 top_p 1.0 : (tensor<4x1x256xbf16>, i64) -> tensor<4x2xi64>
  return %0 : tensor<4x2xi64>
}
