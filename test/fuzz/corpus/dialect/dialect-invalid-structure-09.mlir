llm.weight @model.norm.weight : tensor<4096xbf16>
func.func @wrong_dtype() -> tensor<4096xf32> {
  %0 = llm.param @model.norm.weight : tensor<4096xf32>
  return %0 : tensor<4096xf32>
}
