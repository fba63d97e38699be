func.func @cache_layers(%c: !llm.kv_cache<layers = 0, kv_heads = 8, head_dim = 128, bf16>)
