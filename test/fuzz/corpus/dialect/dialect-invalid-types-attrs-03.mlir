func.func @cache_head_dim(%c: !llm.kv_cache<layers = 32, kv_heads = 8, head_dim = -128, bf16>)
