func.func @router_experts_zero(%x: tensor<?x?x64xbf16>, %gate: tensor<0x64xbf16>) {
  %w, %i = llm.moe_router %x, %gate experts 0 top_k 2 : (tensor<?x?x64xbf16>, tensor<0x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return
}
