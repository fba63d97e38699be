module {
  func.func @forward(%gate: tensor<?x?x128xbf16>, %up: tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
    %s = llm.swiglu %gate, %up : tensor<?x?x128xbf16>
    return %s : tensor<?x?x128xbf16>
  }
}
