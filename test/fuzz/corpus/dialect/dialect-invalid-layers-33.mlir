func.func @swiglu_types(%g: tensor<?x?x96xbf16>, %u: tensor<?x?x96xf32>) -> tensor<?x?x96xbf16> {
  %0 = "llm.swiglu"(%g, %u) : (tensor<?x?x96xbf16>, tensor<?x?x96xf32>) -> tensor<?x?x96xbf16>
  return %0 : tensor<?x?x96xbf16>
}
