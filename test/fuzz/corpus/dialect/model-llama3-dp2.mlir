module attributes {dist.plan = #dist.plan<axes = ["dp"], shape = [2], microbatches = 1, batch_axes = ["dp"]>, llm.architecture = "LlamaForCausalLM", llm.bos_token_id = 1 : i64, llm.eos_token_ids = array<i64: 2>, llm.max_position_embeddings = 512 : i64, llm.source = "tmpj_uafraz"} {
  shard.grid @grid(shape = 2)
  llm.weight @model.embed_tokens.weight : tensor<256x64xbf16>
  llm.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<32x64xbf16>
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<32x64xbf16>
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.mlp.gate_proj.weight : tensor<128x64xbf16>
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<128x64xbf16>
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<64x128xbf16>
  llm.weight @model.layers.1.input_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.1.self_attn.q_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.1.self_attn.k_proj.weight : tensor<32x64xbf16>
  llm.weight @model.layers.1.self_attn.v_proj.weight : tensor<32x64xbf16>
  llm.weight @model.layers.1.self_attn.o_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.1.post_attention_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.1.mlp.gate_proj.weight : tensor<128x64xbf16>
  llm.weight @model.layers.1.mlp.up_proj.weight : tensor<128x64xbf16>
  llm.weight @model.layers.1.mlp.down_proj.weight : tensor<64x128xbf16>
  llm.weight @model.norm.weight : tensor<64xbf16>
  llm.weight @lm_head.weight : tensor<256x64xbf16>
  func.func @forward(%arg0: tensor<?x?xi64> {llm.name = "input_ids"}, %arg1: tensor<?x?xi64> {llm.name = "positions"}, %arg2: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16> {llm.name = "kv_cache"}) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %0 = llm.param @model.embed_tokens.weight : tensor<256x64xbf16>
    %1 = llm.embedding %arg0, %0 : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
    %2 = llm.decoder_layer 0 (%1, %arg1, %arg2) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%arg3: tensor<?x?x64xbf16>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>):
      %10 = llm.param @model.layers.0.input_layernorm.weight : tensor<64xbf16>
      %11 = llm.rms_norm %arg3, %10 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %12 = llm.param @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
      %13 = llm.linear %11, %12 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %14 = llm.param @model.layers.0.self_attn.k_proj.weight : tensor<32x64xbf16>
      %15 = llm.linear %11, %14 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %16 = llm.param @model.layers.0.self_attn.v_proj.weight : tensor<32x64xbf16>
      %17 = llm.linear %11, %16 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %18 = llm.rope %13, %arg4 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
      %19 = llm.rope %15, %arg4 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %20 = llm.attention %18, %19, %17, %arg4 cache(%arg5 : !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) [0] heads 8 kv_heads 4 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x32xbf16>, tensor<?x?x32xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
      %21 = llm.param @model.layers.0.self_attn.o_proj.weight : tensor<64x64xbf16>
      %22 = llm.linear %20, %21 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %23 = llm.add %arg3, %22 : tensor<?x?x64xbf16>
      %24 = llm.param @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
      %25 = llm.rms_norm %23, %24 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %26 = llm.param @model.layers.0.mlp.gate_proj.weight : tensor<128x64xbf16>
      %27 = llm.linear %25, %26 : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %28 = llm.param @model.layers.0.mlp.up_proj.weight : tensor<128x64xbf16>
      %29 = llm.linear %25, %28 : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %30 = llm.swiglu %27, %29 : tensor<?x?x128xbf16>
      %31 = llm.param @model.layers.0.mlp.down_proj.weight : tensor<64x128xbf16>
      %32 = llm.linear %30, %31 : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
      %33 = llm.add %23, %32 : tensor<?x?x64xbf16>
      llm.yield %33 : tensor<?x?x64xbf16>
    }
    %3 = llm.decoder_layer 1 (%2, %arg1, %arg2) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%arg3: tensor<?x?x64xbf16>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>):
      %10 = llm.param @model.layers.1.input_layernorm.weight : tensor<64xbf16>
      %11 = llm.rms_norm %arg3, %10 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %12 = llm.param @model.layers.1.self_attn.q_proj.weight : tensor<64x64xbf16>
      %13 = llm.linear %11, %12 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %14 = llm.param @model.layers.1.self_attn.k_proj.weight : tensor<32x64xbf16>
      %15 = llm.linear %11, %14 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %16 = llm.param @model.layers.1.self_attn.v_proj.weight : tensor<32x64xbf16>
      %17 = llm.linear %11, %16 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %18 = llm.rope %13, %arg4 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
      %19 = llm.rope %15, %arg4 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %20 = llm.attention %18, %19, %17, %arg4 cache(%arg5 : !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) [1] heads 8 kv_heads 4 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x32xbf16>, tensor<?x?x32xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
      %21 = llm.param @model.layers.1.self_attn.o_proj.weight : tensor<64x64xbf16>
      %22 = llm.linear %20, %21 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %23 = llm.add %arg3, %22 : tensor<?x?x64xbf16>
      %24 = llm.param @model.layers.1.post_attention_layernorm.weight : tensor<64xbf16>
      %25 = llm.rms_norm %23, %24 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %26 = llm.param @model.layers.1.mlp.gate_proj.weight : tensor<128x64xbf16>
      %27 = llm.linear %25, %26 : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %28 = llm.param @model.layers.1.mlp.up_proj.weight : tensor<128x64xbf16>
      %29 = llm.linear %25, %28 : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %30 = llm.swiglu %27, %29 : tensor<?x?x128xbf16>
      %31 = llm.param @model.layers.1.mlp.down_proj.weight : tensor<64x128xbf16>
      %32 = llm.linear %30, %31 : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
      %33 = llm.add %23, %32 : tensor<?x?x64xbf16>
      llm.yield %33 : tensor<?x?x64xbf16>
    }
    %4 = llm.last_token %3 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %5 = llm.param @model.norm.weight : tensor<64xbf16>
    %6 = llm.rms_norm %4, %5 eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %7 = llm.param @lm_head.weight : tensor<256x64xbf16>
    %8 = llm.lm_head %6, %7 : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
    %9 = llm.argmax %8 : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %8, %9 : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}

