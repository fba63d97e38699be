func.func @lm_head_result_rank(%x: tensor<?x1x64xbf16>, %w: tensor<256x64xbf16>) -> tensor<?x256xbf16> {
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x256xbf16>
  return %0 : tensor<?x256xbf16>
}
