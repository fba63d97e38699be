func.func @token_scale_shape(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xf32> {
  %s = llm.token_scale %x : (tensor<?x?x64xbf16>) -> tensor<?x?x64xf32>
  return %s : tensor<?x?x64xf32>
}
