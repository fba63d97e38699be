func.func @implicit_yield(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  %0 = llm.decoder_layer 3 (%h) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
  }
  return %0 : tensor<?x?x8xbf16>
}
