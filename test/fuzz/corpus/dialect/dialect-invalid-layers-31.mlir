func.func @rope_result(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
