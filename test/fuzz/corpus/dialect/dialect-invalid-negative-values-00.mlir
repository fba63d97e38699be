func.func @negative_layer_index(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  %0 = llm.decoder_layer -1 (%h) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
    llm.yield %x : tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}
