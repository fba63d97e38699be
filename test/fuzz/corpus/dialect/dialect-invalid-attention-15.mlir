func.func @result_seq(%q: tensor<?x4x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x1x64xbf16> {
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x4x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x1x64xbf16>
  return %0 : tensor<?x1x64xbf16>
}
