func.func @moe_router(%x: tensor<?x?x64xbf16>, %gate: tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>, tensor<?x?x8xf32>, tensor<?x?x8xi64>) {
  %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  %w2, %i2 = llm.moe_router %x, %gate experts 8 top_k 8 renormalize : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x8xf32>, tensor<?x?x8xi64>)
  return %w, %i, %w2, %i2 : tensor<?x?x2xf32>, tensor<?x?x2xi64>, tensor<?x?x8xf32>, tensor<?x?x8xi64>
}
func.func @experts_all(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>,
                       %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>,
                       %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>,
                       %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.experts %x, %rw, %ri experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
func.func @experts_ids(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>,
                       %g: tensor<32x64xbf16>, %d: tensor<64x32xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %0 = llm.experts %x, %rw, %ri experts 8 ids [1, 6] gate(%g, %g) up(%g, %g) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  %1 = llm.experts %x, %rw, %ri experts 8 ids [7] gate(%g) up(%g) down(%d) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>) up(tensor<32x64xbf16>) down(tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}
func.func @router_to_experts(%x: tensor<?x?x64xbf16>, %gate: tensor<2x64xbf16>, %g: tensor<32x64xbf16>, %d: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  %w, %i = llm.moe_router %x, %gate experts 2 top_k 1 renormalize : (tensor<?x?x64xbf16>, tensor<2x64xbf16>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
  %0 = llm.experts %x, %w, %i experts 2 gate(%g, %g) up(%g, %g) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
func.func @shared_expert(%x: tensor<?x?x64xbf16>, %g: tensor<128x64xbf16>, %u: tensor<128x64xbf16>, %d: tensor<64x128xbf16>, %eg: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>, tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
