func.func @cache_kv_heads(%c: !llm.kv_cache<layers = 32, kv_heads = 0, head_dim = 128, bf16>)
