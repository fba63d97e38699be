func.func @lm_head_weight_rank(%x: tensor<?x1x64xbf16>, %w: tensor<16384xbf16>) -> tensor<?x1x256xbf16> {
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<16384xbf16>) -> tensor<?x1x256xbf16>
  return %0 : tensor<?x1x256xbf16>
}
