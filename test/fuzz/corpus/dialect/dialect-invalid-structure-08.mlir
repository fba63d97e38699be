llm.weight @model.norm.weight : tensor<4096xbf16>
func.func @wrong_shape() -> tensor<4095xbf16> {
  %0 = llm.param @model.norm.weight : tensor<4095xbf16>
  return %0 : tensor<4095xbf16>
}
