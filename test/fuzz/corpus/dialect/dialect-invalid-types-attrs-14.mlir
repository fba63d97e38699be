func.func @rope_op_attr(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0, linear, factor = -2.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
