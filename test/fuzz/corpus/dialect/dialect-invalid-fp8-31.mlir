func.func @fp8_cache_without_scales(%c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f8E4M3FN>)
