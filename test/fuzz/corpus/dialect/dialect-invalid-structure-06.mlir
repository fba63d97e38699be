func.func @undeclared() -> tensor<4xf32> {
  %0 = llm.param @model.norm.weight : tensor<4xf32>
  return %0 : tensor<4xf32>
}
