func.func @experts_none(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x2xf32>, %ri: tensor<?x?x2xi64>) -> tensor<?x?x64xbf16> {
  %0 = "llm.experts"(%x, %rw, %ri) <{num_experts = 8 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0>}> : (tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
