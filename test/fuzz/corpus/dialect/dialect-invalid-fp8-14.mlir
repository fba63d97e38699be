func.func @quantize_scale_shape(%x: tensor<?x?x64xbf16>, %s: tensor<64xf32>) -> tensor<?x?x64xf8E4M3FN> {
  %q = llm.quantize %x, %s : (tensor<?x?x64xbf16>, tensor<64xf32>) -> tensor<?x?x64xf8E4M3FN>
  return %q : tensor<?x?x64xf8E4M3FN>
}
