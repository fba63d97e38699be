func.func @not_isolated(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  %0 = llm.decoder_layer 0 () : () -> tensor<?x?x8xbf16> {
    llm.yield %h : tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}
