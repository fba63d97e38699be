func.func @rope_positions_rank(%x: tensor<?x?x64xbf16>, %p: tensor<?xi64>) -> tensor<?x?x64xbf16> {
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
