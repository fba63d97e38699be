func.func @router_top_k_zero(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) {
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 0 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x0xf32>, tensor<?x?x0xi64>)
  return
}
