func.func @argmax_rank(%l: tensor<?x1x256xbf16>) -> tensor<?x1x1xi64> {
  %0 = llm.argmax %l : (tensor<?x1x256xbf16>) -> tensor<?x1x1xi64>
  return %0 : tensor<?x1x1xi64>
}
