func.func @rope_head_dim_odd(%x: tensor<?x?x63xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x63xbf16> {
  %0 = llm.rope %x, %p head_dim 7 <theta = 10000.0> : (tensor<?x?x63xbf16>, tensor<?x?xi64>) -> tensor<?x?x63xbf16>
  return %0 : tensor<?x?x63xbf16>
}
