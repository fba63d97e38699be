module attributes {
  test.rope_none = #llm.rope<theta = 10000.0>,
  test.rope_linear = #llm.rope<theta = 10000.0, linear, factor = 2.0>,
  test.rope_llama3 = #llm.rope<theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position = 8192>,
  test.slice = #llm.slice<dim = 1, size = 2, axis = "ep", offsets = [0, 0, 2, 2], full = [8, 4]>
} {
llm.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<4096x4096xbf16>
llm.weight @"weird name/with-punctuation" : tensor<2x3xf16>
llm.weight @q_shard : tensor<1024x4096xbf16> slice #llm.slice<dim = 0, size = 1024, axis = "tp", offsets = [0, 1024, 2048, 3072], full = [4096, 4096]>
llm.weight @k_shard : tensor<128x4096xbf16> slice <dim = 0, size = 128, axis = "tp", offsets = [0, 0, 128, 128], full = [256, 4096]>
llm.weight @norm_rep : tensor<64xf32> slice <dim = 0, size = 64, axis = "dp", offsets = [0], full = [64]>
llm.weight @w : tensor<64xf32> {test.note = "kept"}
llm.weight @scalar : tensor<f32>
func.func @param() -> (tensor<64xf32>, tensor<4096x4096xbf16>, tensor<1024x4096xbf16>) {
  %0 = llm.param @w : tensor<64xf32>
  %1 = llm.param @"model.layers.0.self_attn.q_proj.weight" : tensor<4096x4096xbf16>
  %2 = llm.param @q_shard : tensor<1024x4096xbf16>
  return %0, %1, %2 : tensor<64xf32>, tensor<4096x4096xbf16>, tensor<1024x4096xbf16>
}
func.func @layer(%h: tensor<?x?x64xf32>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f32>) -> tensor<?x?x64xf32> {
  %r = llm.decoder_layer 3 (%h, %p, %c) : (tensor<?x?x64xf32>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>, %pp: tensor<?x?xi64>, %cc: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f32>):
    %y = llm.add %x, %x : tensor<?x?x64xf32>
    llm.yield %y : tensor<?x?x64xf32>
  }
  return %r : tensor<?x?x64xf32>
}
func.func @two_layers(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  %0 = llm.decoder_layer 0 (%h) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
    llm.yield %x : tensor<?x?x8xbf16>
  }
  %1 = llm.decoder_layer 79 (%0) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
    llm.yield %x : tensor<?x?x8xbf16>
  }
  return %1 : tensor<?x?x8xbf16>
}
func.func @empty_layer() {
  llm.decoder_layer 5 () : () -> () {
    llm.yield
  }
  return
}
func.func @layer_attrs(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  %0 = llm.decoder_layer 1 (%h) {test.stage = 2 : i64} : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
    llm.yield %x : tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}
func.func @cache_types(%a: !llm.kv_cache<layers = 80, kv_heads = 8, head_dim = 128, bf16>,
                       %b: !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 1, f16>,
                       %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 64, f32>,
                       %d: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 16, f8E4M3FN, scales = per_token_head>) {
  return
}
}
