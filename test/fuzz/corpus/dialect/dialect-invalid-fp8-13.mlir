func.func @quantize_to_bf16(%x: tensor<?x?x64xbf16>, %s: tensor<?x?x1xf32>) -> tensor<?x?x64xbf16> {
  %q = llm.quantize %x, %s : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
  return %q : tensor<?x?x64xbf16>
}
