func.func @slot_without_cache(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  %0 = "llm.attention"(%q, %k, %k, %p) <{cache_slot = 0 : i64, head_dim = 8 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64}> : (tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
