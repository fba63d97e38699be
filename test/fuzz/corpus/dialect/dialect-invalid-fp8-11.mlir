func.func @token_scale_of_fp8(%x: tensor<?x?x64xf8E4M3FN>) -> tensor<?x?x1xf32> {
  %s = llm.token_scale %x : (tensor<?x?x64xf8E4M3FN>) -> tensor<?x?x1xf32>
  return %s : tensor<?x?x1xf32>
}
