func.func @positions_rank(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?xi64>) -> tensor<?x?x64xbf16> {
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
