func.func @bf16_cache_with_scales(%c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, bf16, scales = per_token_head>)
