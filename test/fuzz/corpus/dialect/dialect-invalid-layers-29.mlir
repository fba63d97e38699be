func.func @rope_features(%x: tensor<?x?x60xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x60xbf16> {
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x?x60xbf16>, tensor<?x?xi64>) -> tensor<?x?x60xbf16>
  return %0 : tensor<?x?x60xbf16>
}
