func.func @add_types(%a: tensor<?x?x64xbf16>, %b: tensor<?x?x32xbf16>) -> tensor<?x?x64xbf16> {
  %0 = "llm.add"(%a, %b) : (tensor<?x?x64xbf16>, tensor<?x?x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
