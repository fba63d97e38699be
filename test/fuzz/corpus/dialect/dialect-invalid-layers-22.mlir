func.func @bias_add_rank(%x: tensor<?x?x64xbf16>, %b: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.bias_add %x, %b : tensor<?x?x64xbf16>, tensor<1x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
