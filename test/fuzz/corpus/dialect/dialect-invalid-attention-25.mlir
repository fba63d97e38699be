func.func @cache_without_slot(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
  %0 = "llm.attention"(%q, %k, %k, %p, %c) <{head_dim = 8 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64}> : (tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
