func.func @yield_type(%h: tensor<?x?x8xbf16>, %g: tensor<?x?x8xf32>) -> tensor<?x?x8xbf16> {
  %0 = llm.decoder_layer 7 (%h, %g) : (tensor<?x?x8xbf16>, tensor<?x?x8xf32>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>, %y: tensor<?x?x8xf32>):
    llm.yield %y : tensor<?x?x8xf32>
  }
  return %0 : tensor<?x?x8xbf16>
}
