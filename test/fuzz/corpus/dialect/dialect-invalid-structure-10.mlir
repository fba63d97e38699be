func.func @missing_argument(%h: tensor<?x?x8xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x8xbf16> {
  %0 = llm.decoder_layer 2 (%h, %p) : (tensor<?x?x8xbf16>, tensor<?x?xi64>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
    llm.yield %x : tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}
