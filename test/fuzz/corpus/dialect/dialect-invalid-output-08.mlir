func.func @lm_head_hidden(%x: tensor<?x1x64xbf16>, %w: tensor<64x256xbf16>) -> tensor<?x1x64xbf16> {
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<64x256xbf16>) -> tensor<?x1x64xbf16>
  return %0 : tensor<?x1x64xbf16>
}
