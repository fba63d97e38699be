func.func @fp8_norm(%x: tensor<?x?x64xbf16>, %w: tensor<64xf8E4M3FN>) -> tensor<?x?x64xbf16> {
  %y = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<?x?x64xbf16>, tensor<64xf8E4M3FN>) -> tensor<?x?x64xbf16>
  return %y : tensor<?x?x64xbf16>
}
