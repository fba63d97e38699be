func.func @rope_input_rank(%x: tensor<?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x64xbf16> {
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x64xbf16>, tensor<?x?xi64>) -> tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}
