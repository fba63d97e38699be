func.func @not_a_weight() -> tensor<4xf32> {
  %0 = llm.param @not_a_weight : tensor<4xf32>
  return %0 : tensor<4xf32>
}
