func.func @fp8_result(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xf32>) -> tensor<?x?x16xf8E4M3FN> {
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>) -> tensor<?x?x16xf8E4M3FN>
  return %y : tensor<?x?x16xf8E4M3FN>
}
