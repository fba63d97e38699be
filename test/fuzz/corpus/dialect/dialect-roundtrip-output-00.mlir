llm.weight @lm_head.weight : tensor<256x64xbf16>
llm.weight @model.embed_tokens.weight : tensor<256x64xbf16>
func.func @last_token(%x: tensor<?x?x64xbf16>, %y: tensor<2x7x8xf32>) -> (tensor<?x1x64xbf16>, tensor<2x1x8xf32>) {
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
  %1 = llm.last_token %y : (tensor<2x7x8xf32>) -> tensor<2x1x8xf32>
  return %0, %1 : tensor<?x1x64xbf16>, tensor<2x1x8xf32>
}
func.func @lm_head(%x: tensor<?x1x64xbf16>) -> (tensor<?x1x256xbf16>, tensor<?x1x256xbf16>, tensor<?x1x256xbf16>, tensor<?x1x256xbf16>) {
  %w = llm.param @lm_head.weight : tensor<256x64xbf16>
  %e = llm.param @model.embed_tokens.weight : tensor<256x64xbf16>
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
  %1 = llm.lm_head %x, %e tied : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
  %2 = llm.lm_head %x, %w vocab_parallel : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
  %3 = llm.lm_head %x, %e tied vocab_parallel : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
  return %0, %1, %2, %3 : tensor<?x1x256xbf16>, tensor<?x1x256xbf16>, tensor<?x1x256xbf16>, tensor<?x1x256xbf16>
}
func.func @lm_head_full_sequence(%x: tensor<?x?x64xbf16>, %w: tensor<256x64xbf16>) -> tensor<?x?x256xbf16> {
  %0 = llm.lm_head %x, %w : (tensor<?x?x64xbf16>, tensor<256x64xbf16>) -> tensor<?x?x256xbf16>
  return %0 : tensor<?x?x256xbf16>
}
func.func @argmax(%l: tensor<?x1x256xbf16>, %l2: tensor<4x256xf32>) -> (tensor<?x1xi64>, tensor<4xi32>) {
  %0 = llm.argmax %l : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
  %1 = llm.argmax %l2 : (tensor<4x256xf32>) -> tensor<4xi32>
  return %0, %1 : tensor<?x1xi64>, tensor<4xi32>
}
func.func @sample(%l: tensor<?x1x256xbf16>, %seed: i64) -> (tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>) {
  %0 = llm.sample %l, %seed temperature 0.5 top_p 0.875 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  %1 = llm.sample %l, %seed temperature 1.0 top_p 1.0 top_k 40 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  %2 = llm.sample %l, %seed temperature 2.0 top_p 0.25 top_k 0 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0, %1, %2 : tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>
}
