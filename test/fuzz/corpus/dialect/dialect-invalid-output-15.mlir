func.func @argmax_float(%l: tensor<?x1x256xbf16>) -> tensor<?x1xf32> {
  %0 = llm.argmax %l : (tensor<?x1x256xbf16>) -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}
