func.func @tied_fp8_head(%x: tensor<?x1x8xbf16>, %h: tensor<32x8xf8E4M3FN>, %s: tensor<32x1xf32>) -> tensor<?x1x32xbf16> {
  %z = llm.lm_head %x, %h scale %s tied : (tensor<?x1x8xbf16>, tensor<32x8xf8E4M3FN>, tensor<32x1xf32>) -> tensor<?x1x32xbf16>
  return %z : tensor<?x1x32xbf16>
}
