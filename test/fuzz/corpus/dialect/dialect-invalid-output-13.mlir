func.func @argmax_scalar(%l: tensor<bf16>) -> tensor<i64> {
  %0 = llm.argmax %l : (tensor<bf16>) -> tensor<i64>
  return %0 : tensor<i64>
}
