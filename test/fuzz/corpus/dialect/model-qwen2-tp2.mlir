module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>, llm.architecture = "Qwen2ForCausalLM", llm.bos_token_id = 1 : i64, llm.eos_token_ids = array<i64: 2>, llm.max_position_embeddings = 512 : i64, llm.source = "tmpj_uafraz"} {
  shard.grid @grid(shape = 2)
  llm.weight @model.embed_tokens.weight : tensor<128x64xbf16> slice <dim = 0, size = 128, axis = "tp", offsets = [0, 128], full = [256, 64]>
  llm.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<32x64xbf16> slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>
  llm.weight @model.layers.0.self_attn.q_proj.bias : tensor<32xbf16> slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64]>
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<8x64xbf16> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 64]>
  llm.weight @model.layers.0.self_attn.k_proj.bias : tensor<8xbf16> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16]>
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<8x64xbf16> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 64]>
  llm.weight @model.layers.0.self_attn.v_proj.bias : tensor<8xbf16> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16]>
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<64x32xbf16> slice <dim = 1, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.mlp.gate_proj.weight : tensor<48x64xbf16> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]>
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<48x64xbf16> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]>
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<64x48xbf16> slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]>
  llm.weight @model.norm.weight : tensor<64xbf16>
  func.func @forward(%arg0: tensor<?x?xi64> {llm.name = "input_ids"}, %arg1: tensor<?x?xi64> {llm.name = "positions"}, %arg2: !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 8, bf16> {llm.name = "kv_cache"}) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %0 = llm.param @model.embed_tokens.weight : tensor<128x64xbf16>
    %1 = llm.embedding %arg0, %0 vocab_parallel : (tensor<?x?xi64>, tensor<128x64xbf16>) -> tensor<?x?x64xbf16>
    %all_reduce = shard.all_reduce %1 on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
    %2 = llm.decoder_layer 0 (%all_reduce, %arg1, %arg2) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%arg3: tensor<?x?x64xbf16>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 8, bf16>):
      %9 = llm.param @model.layers.0.input_layernorm.weight : tensor<64xbf16>
      %10 = llm.rms_norm %arg3, %9 eps 9.9999999999999995E-7 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %11 = llm.param @model.layers.0.self_attn.q_proj.weight : tensor<32x64xbf16>
      %12 = llm.param @model.layers.0.self_attn.q_proj.bias : tensor<32xbf16>
      %13 = llm.linear %10, %11 bias %12 : (tensor<?x?x64xbf16>, tensor<32x64xbf16>, tensor<32xbf16>) -> tensor<?x?x32xbf16>
      %14 = llm.param @model.layers.0.self_attn.k_proj.weight : tensor<8x64xbf16>
      %15 = llm.param @model.layers.0.self_attn.k_proj.bias : tensor<8xbf16>
      %16 = llm.linear %10, %14 bias %15 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>, tensor<8xbf16>) -> tensor<?x?x8xbf16>
      %17 = llm.param @model.layers.0.self_attn.v_proj.weight : tensor<8x64xbf16>
      %18 = llm.param @model.layers.0.self_attn.v_proj.bias : tensor<8xbf16>
      %19 = llm.linear %10, %17 bias %18 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>, tensor<8xbf16>) -> tensor<?x?x8xbf16>
      %20 = llm.rope %13, %arg4 head_dim 8 <theta = 1.000000e+06> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %21 = llm.rope %16, %arg4 head_dim 8 <theta = 1.000000e+06> : (tensor<?x?x8xbf16>, tensor<?x?xi64>) -> tensor<?x?x8xbf16>
      %22 = llm.attention %20, %21, %19, %arg4 cache(%arg5 : !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 8, bf16>) [0] heads 4 kv_heads 1 head_dim 8 causal : tensor<?x?x32xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x32xbf16>
      %23 = llm.param @model.layers.0.self_attn.o_proj.weight : tensor<64x32xbf16>
      %24 = llm.linear %22, %23 : (tensor<?x?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
      %all_reduce_0 = shard.all_reduce %24 on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
      %25 = llm.add %arg3, %all_reduce_0 : tensor<?x?x64xbf16>
      %26 = llm.param @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
      %27 = llm.rms_norm %25, %26 eps 9.9999999999999995E-7 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %28 = llm.param @model.layers.0.mlp.gate_proj.weight : tensor<48x64xbf16>
      %29 = llm.linear %27, %28 : (tensor<?x?x64xbf16>, tensor<48x64xbf16>) -> tensor<?x?x48xbf16>
      %30 = llm.param @model.layers.0.mlp.up_proj.weight : tensor<48x64xbf16>
      %31 = llm.linear %27, %30 : (tensor<?x?x64xbf16>, tensor<48x64xbf16>) -> tensor<?x?x48xbf16>
      %32 = llm.swiglu %29, %31 : tensor<?x?x48xbf16>
      %33 = llm.param @model.layers.0.mlp.down_proj.weight : tensor<64x48xbf16>
      %34 = llm.linear %32, %33 : (tensor<?x?x48xbf16>, tensor<64x48xbf16>) -> tensor<?x?x64xbf16>
      %all_reduce_1 = shard.all_reduce %34 on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
      %35 = llm.add %25, %all_reduce_1 : tensor<?x?x64xbf16>
      llm.yield %35 : tensor<?x?x64xbf16>
    }
    %3 = llm.last_token %2 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %4 = llm.param @model.norm.weight : tensor<64xbf16>
    %5 = llm.rms_norm %3, %4 eps 9.9999999999999995E-7 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %6 = llm.param @model.embed_tokens.weight : tensor<128x64xbf16>
    %7 = llm.lm_head %5, %6 tied vocab_parallel : (tensor<?x1x64xbf16>, tensor<128x64xbf16>) -> tensor<?x1x128xbf16>
    %all_gather = shard.all_gather %7 on @grid grid_axes = [0] gather_axis = 2 : tensor<?x1x128xbf16> -> tensor<?x1x256xbf16>
    %8 = llm.argmax %all_gather : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %all_gather, %8 : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}

