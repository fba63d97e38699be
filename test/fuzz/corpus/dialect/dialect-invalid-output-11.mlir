func.func @lm_head_vocab(%x: tensor<?x1x64xbf16>, %w: tensor<256x64xbf16>) -> tensor<?x1x128xbf16> {
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x128xbf16>
  return %0 : tensor<?x1x128xbf16>
}
