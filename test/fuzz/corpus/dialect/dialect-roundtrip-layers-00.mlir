llm.weight @embed : tensor<256x64xbf16>
func.func @embedding(%ids: tensor<?x?xi64>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %t = llm.param @embed : tensor<256x64xbf16>
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
  %1 = llm.embedding %ids, %t vocab_parallel : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}
func.func @embedding_static(%ids: tensor<2x5xi32>, %t: tensor<16x8xf32>) -> tensor<2x5x8xf32> {
  %0 = llm.embedding %ids, %t : (tensor<2x5xi32>, tensor<16x8xf32>) -> tensor<2x5x8xf32>
  return %0 : tensor<2x5x8xf32>
}
func.func @rms_norm(%x: tensor<?x?x64xbf16>, %w: tensor<64xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %0 = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
  %1 = llm.rms_norm %x, %w eps 1.0e-06 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}
func.func @linear(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>, %b: tensor<16xbf16>) -> (tensor<?x?x16xbf16>, tensor<?x?x16xbf16>) {
  %0 = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
  %1 = llm.linear %x, %w bias %b : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
  return %0, %1 : tensor<?x?x16xbf16>, tensor<?x?x16xbf16>
}
func.func @bias_add(%x: tensor<?x?x64xbf16>, %b: tensor<64xbf16>, %y: tensor<3x5xf32>, %c: tensor<?xf32>) -> (tensor<?x?x64xbf16>, tensor<3x5xf32>) {
  %0 = llm.bias_add %x, %b : tensor<?x?x64xbf16>, tensor<64xbf16>
  %1 = llm.bias_add %y, %c : tensor<3x5xf32>, tensor<?xf32>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<3x5xf32>
}
func.func @rope(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  %1 = llm.rope %x, %p head_dim 8 <theta = 10000.0, linear, factor = 4.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  %2 = llm.rope %x, %p head_dim 16 <theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position = 8192> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0, %1, %2 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}
func.func @attention_no_cache(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  %1 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}
func.func @attention_cache(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) {
  %0 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) [3] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  %1 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal window 4096 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  %2 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 scale 0.125 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  %3 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) [0] heads 8 kv_heads 2 head_dim 8 causal window 16 scale 0.25 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return
}
func.func @attention_mha(%q: tensor<1x3x8xf32>, %p: tensor<1x3xi64>) -> tensor<1x3x8xf32> {
  %0 = llm.attention %q, %q, %q, %p heads 4 kv_heads 4 head_dim 2 causal : tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3xi64> -> tensor<1x3x8xf32>
  return %0 : tensor<1x3x8xf32>
}
func.func @swiglu_add(%g: tensor<?x?x96xbf16>, %u: tensor<?x?x96xbf16>) -> tensor<?x?x96xbf16> {
  %0 = llm.swiglu %g, %u : tensor<?x?x96xbf16>
  %1 = llm.add %0, %u : tensor<?x?x96xbf16>
  return %1 : tensor<?x?x96xbf16>
}
