func.func @cache_element_type(%c: !llm.kv_cache<layers = 32, kv_heads = 8, head_dim = 128, i8>)
