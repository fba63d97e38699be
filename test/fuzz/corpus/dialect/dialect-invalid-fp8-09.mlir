func.func @e5m2_weight(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E5M2>) -> tensor<?x?x16xbf16> {
  %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xf8E5M2>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
