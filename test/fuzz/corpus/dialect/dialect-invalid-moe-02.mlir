func.func @router_top_k_above_experts(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 9 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x9xf32>, tensor<?x?x9xi64>)
  return
}
