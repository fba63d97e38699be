func.func @nested() {
  llm.weight @w : tensor<4xf32>
  return
}
