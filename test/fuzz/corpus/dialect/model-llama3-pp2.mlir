module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>, llm.architecture = "LlamaForCausalLM", llm.bos_token_id = 1 : i64, llm.eos_token_ids = array<i64: 2>, llm.max_position_embeddings = 512 : i64, llm.source = "tmpj_uafraz"} {
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
    %0:2 = dist.pipeline microbatches 1 (%arg0, %arg1, %arg2) : (tensor<?x?xi64>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    ^bb0(%arg3: tensor<?x?xi64>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>):
      %1 = dist.stage 0 layers [0, 1) (%arg3, %arg4, %arg5) : (tensor<?x?xi64>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
      ^bb0(%arg6: tensor<?x?xi64>, %arg7: tensor<?x?xi64>, %arg8: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>):
        %4 = llm.param @model.embed_tokens.weight : tensor<256x64xbf16>
        %5 = llm.embedding %arg6, %4 : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
        %6 = llm.decoder_layer 0 (%5, %arg7, %arg8) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
        ^bb0(%arg9: tensor<?x?x64xbf16>, %arg10: tensor<?x?xi64>, %arg11: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>):
          %7 = llm.param @model.layers.0.input_layernorm.weight : tensor<64xbf16>
          %8 = llm.rms_norm %arg9, %7 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
          %9 = llm.param @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
          %10 = llm.linear %8, %9 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
          %11 = llm.param @model.layers.0.self_attn.k_proj.weight : tensor<32x64xbf16>
          %12 = llm.linear %8, %11 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
          %13 = llm.param @model.layers.0.self_attn.v_proj.weight : tensor<32x64xbf16>
          %14 = llm.linear %8, %13 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
          %15 = llm.rope %10, %arg10 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
          %16 = llm.rope %12, %arg10 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
          %17 = llm.attention %15, %16, %14, %arg10 cache(%arg11 : !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) [0] heads 8 kv_heads 4 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x32xbf16>, tensor<?x?x32xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
          %18 = llm.param @model.layers.0.self_attn.o_proj.weight : tensor<64x64xbf16>
          %19 = llm.linear %17, %18 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
          %20 = llm.add %arg9, %19 : tensor<?x?x64xbf16>
          %21 = llm.param @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
          %22 = llm.rms_norm %20, %21 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
          %23 = llm.param @model.layers.0.mlp.gate_proj.weight : tensor<128x64xbf16>
          %24 = llm.linear %22, %23 : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
          %25 = llm.param @model.layers.0.mlp.up_proj.weight : tensor<128x64xbf16>
          %26 = llm.linear %22, %25 : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
          %27 = llm.swiglu %24, %26 : tensor<?x?x128xbf16>
          %28 = llm.param @model.layers.0.mlp.down_proj.weight : tensor<64x128xbf16>
          %29 = llm.linear %27, %28 : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
          %30 = llm.add %20, %29 : tensor<?x?x64xbf16>
          llm.yield %30 : tensor<?x?x64xbf16>
        }
        dist.yield %6 : tensor<?x?x64xbf16>
      }
      %2 = dist.transfer %1 on @grid axis 0 from 0 to 1 : tensor<?x?x64xbf16>
      %3:2 = dist.stage 1 layers [1, 2) (%2, %arg4, %arg5) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
      ^bb0(%arg6: tensor<?x?x64xbf16>, %arg7: tensor<?x?xi64>, %arg8: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>):
        %4 = llm.decoder_layer 1 (%arg6, %arg7, %arg8) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
        ^bb0(%arg9: tensor<?x?x64xbf16>, %arg10: tensor<?x?xi64>, %arg11: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>):
          %11 = llm.param @model.layers.1.input_layernorm.weight : tensor<64xbf16>
          %12 = llm.rms_norm %arg9, %11 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
          %13 = llm.param @model.layers.1.self_attn.q_proj.weight : tensor<64x64xbf16>
          %14 = llm.linear %12, %13 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
          %15 = llm.param @model.layers.1.self_attn.k_proj.weight : tensor<32x64xbf16>
          %16 = llm.linear %12, %15 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
          %17 = llm.param @model.layers.1.self_attn.v_proj.weight : tensor<32x64xbf16>
          %18 = llm.linear %12, %17 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
          %19 = llm.rope %14, %arg10 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
          %20 = llm.rope %16, %arg10 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
          %21 = llm.attention %19, %20, %18, %arg10 cache(%arg11 : !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>) [1] heads 8 kv_heads 4 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x32xbf16>, tensor<?x?x32xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
          %22 = llm.param @model.layers.1.self_attn.o_proj.weight : tensor<64x64xbf16>
          %23 = llm.linear %21, %22 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
          %24 = llm.add %arg9, %23 : tensor<?x?x64xbf16>
          %25 = llm.param @model.layers.1.post_attention_layernorm.weight : tensor<64xbf16>
          %26 = llm.rms_norm %24, %25 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
          %27 = llm.param @model.layers.1.mlp.gate_proj.weight : tensor<128x64xbf16>
          %28 = llm.linear %26, %27 : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
          %29 = llm.param @model.layers.1.mlp.up_proj.weight : tensor<128x64xbf16>
          %30 = llm.linear %26, %29 : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
          %31 = llm.swiglu %28, %30 : tensor<?x?x128xbf16>
          %32 = llm.param @model.layers.1.mlp.down_proj.weight : tensor<64x128xbf16>
          %33 = llm.linear %31, %32 : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
          %34 = llm.add %24, %33 : tensor<?x?x64xbf16>
          llm.yield %34 : tensor<?x?x64xbf16>
        }
        %5 = llm.last_token %4 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
        %6 = llm.param @model.norm.weight : tensor<64xbf16>
        %7 = llm.rms_norm %5, %6 eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
        %8 = llm.param @lm_head.weight : tensor<256x64xbf16>
        %9 = llm.lm_head %7, %8 : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
        %10 = llm.argmax %9 : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
        dist.yield %9, %10 : tensor<?x1x256xbf16>, tensor<?x1xi64>
      }
      dist.yield %3#0, %3#1 : tensor<?x1x256xbf16>, tensor<?x1xi64>
    }
    return %0#0, %0#1 : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}

