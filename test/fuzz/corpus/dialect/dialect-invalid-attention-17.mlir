func.func @cache_kv_heads(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 4, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
  %0 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 4, head_dim = 8, bf16>) [0] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
