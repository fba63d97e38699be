func.func @experts_id_negative(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>, %g0: tensor<32x64xbf16>, %g1: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %u1: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>, %d1: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.experts %x, %rw, %ri experts 8 ids [-1, 0] gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
