func.func @cache_layers_negative(%c: !llm.kv_cache<layers = -3, kv_heads = 8, head_dim = 128, bf16>)
