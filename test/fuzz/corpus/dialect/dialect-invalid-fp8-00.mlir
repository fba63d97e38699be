func.func @fp8_weight_without_scale(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>) -> tensor<?x?x16xbf16> {
  %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}
