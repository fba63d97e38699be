func.func @bias_add_result(%x: tensor<?x?x64xbf16>, %b: tensor<64xbf16>) -> tensor<?x?x64xf32> {
  %0 = "llm.bias_add"(%x, %b) : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
