func.func @bias_add_size(%x: tensor<?x?x64xbf16>, %b: tensor<16xbf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.bias_add %x, %b : tensor<?x?x64xbf16>, tensor<16xbf16>
  return %0 : tensor<?x?x64xbf16>
}
