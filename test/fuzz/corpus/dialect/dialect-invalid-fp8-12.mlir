func.func @quantize_shape(%x: tensor<?x?x64xbf16>, %s: tensor<?x?x1xf32>) -> tensor<?x?x32xf8E4M3FN> {
  %q = llm.quantize %x, %s : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x32xf8E4M3FN>
  return %q : tensor<?x?x32xf8E4M3FN>
}
