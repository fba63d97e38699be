func.func @fp8_router(%x: tensor<?x?x8xbf16>, %g: tensor<4x8xf8E4M3FN>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>) {
  %w, %i = llm.moe_router %x, %g experts 4 top_k 2 : (tensor<?x?x8xbf16>, tensor<4x8xf8E4M3FN>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return %w, %i : tensor<?x?x2xf32>, tensor<?x?x2xi64>
}
