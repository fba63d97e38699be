func.func @router_gate_experts(%x: tensor<?x?x64xbf16>, %gate: tensor<4x64xbf16>) {
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<4x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return
}
