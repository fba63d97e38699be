func.func @router_weights_batch(%x: tensor<4x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<4x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<5x?x2xf32>, tensor<?x?x2xi64>)
  return
}
