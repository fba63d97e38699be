module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>, llm.architecture = "LlamaForCausalLM", llm.bos_token_id = 1 : i64, llm.eos_token_ids = array<i64: 2>, llm.max_position_embeddings = 512 : i64, llm.source = "tmplekdvf_x"} {
  shard.grid @grid(shape = 2)
  llm.weight @model.embed_tokens.weight : tensor<128x64xbf16> slice <dim = 0, size = 128, axis = "tp", offsets = [0, 128], full = [256, 64]>
  llm.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<32x64xf8E4M3FN> scale @model.layers.0.self_attn.q_proj.weight_scale slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>
  llm.weight @model.layers.0.self_attn.q_proj.weight_scale : tensor<32x1xf32> slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 1]>
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<16x64xf8E4M3FN> scale @model.layers.0.self_attn.k_proj.weight_scale slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>
  llm.weight @model.layers.0.self_attn.k_proj.weight_scale : tensor<16x1xf32> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 1]>
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<16x64xf8E4M3FN> scale @model.layers.0.self_attn.v_proj.weight_scale slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>
  llm.weight @model.layers.0.self_attn.v_proj.weight_scale : tensor<16x1xf32> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 1]>
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<64x32xf8E4M3FN> scale @model.layers.0.self_attn.o_proj.weight_scale slice <dim = 1, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>
  llm.weight @model.layers.0.self_attn.o_proj.weight_scale : tensor<64x1xf32>
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.mlp.gate_proj.weight : tensor<64x64xf8E4M3FN> scale @model.layers.0.mlp.gate_proj.weight_scale slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 64]>
  llm.weight @model.layers.0.mlp.gate_proj.weight_scale : tensor<64x1xf32> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 1]>
  llm.weight @model.layers.0.mlp.up_proj.weight : tensor<64x64xf8E4M3FN> scale @model.layers.0.mlp.up_proj.weight_scale slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 64]>
  llm.weight @model.layers.0.mlp.up_proj.weight_scale : tensor<64x1xf32> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 1]>
  llm.weight @model.layers.0.mlp.down_proj.weight : tensor<64x64xf8E4M3FN> scale @model.layers.0.mlp.down_proj.weight_scale slice <dim = 1, size = 64, axis = "tp", offsets = [0, 64], full = [64, 128]>
  llm.weight @model.layers.0.mlp.down_proj.weight_scale : tensor<64x1xf32>
  llm.weight @model.layers.1.input_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.1.self_attn.q_proj.weight : tensor<32x64xf8E4M3FN> scale @model.layers.1.self_attn.q_proj.weight_scale slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>
  llm.weight @model.layers.1.self_attn.q_proj.weight_scale : tensor<32x1xf32> slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 1]>
  llm.weight @model.layers.1.self_attn.k_proj.weight : tensor<16x64xf8E4M3FN> scale @model.layers.1.self_attn.k_proj.weight_scale slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>
  llm.weight @model.layers.1.self_attn.k_proj.weight_scale : tensor<16x1xf32> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 1]>
  llm.weight @model.layers.1.self_attn.v_proj.weight : tensor<16x64xf8E4M3FN> scale @model.layers.1.self_attn.v_proj.weight_scale slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>
  llm.weight @model.layers.1.self_attn.v_proj.weight_scale : tensor<16x1xf32> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 1]>
  llm.weight @model.layers.1.self_attn.o_proj.weight : tensor<64x32xf8E4M3FN> scale @model.layers.1.self_attn.o_proj.weight_scale slice <dim = 1, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>
  llm.weight @model.layers.1.self_attn.o_proj.weight_scale : tensor<64x1xf32>
  llm.weight @model.layers.1.post_attention_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.1.mlp.gate_proj.weight : tensor<64x64xf8E4M3FN> scale @model.layers.1.mlp.gate_proj.weight_scale slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 64]>
  llm.weight @model.layers.1.mlp.gate_proj.weight_scale : tensor<64x1xf32> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 1]>
  llm.weight @model.layers.1.mlp.up_proj.weight : tensor<64x64xf8E4M3FN> scale @model.layers.1.mlp.up_proj.weight_scale slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 64]>
  llm.weight @model.layers.1.mlp.up_proj.weight_scale : tensor<64x1xf32> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 1]>
  llm.weight @model.layers.1.mlp.down_proj.weight : tensor<64x64xf8E4M3FN> scale @model.layers.1.mlp.down_proj.weight_scale slice <dim = 1, size = 64, axis = "tp", offsets = [0, 64], full = [64, 128]>
  llm.weight @model.layers.1.mlp.down_proj.weight_scale : tensor<64x1xf32>
  llm.weight @model.norm.weight : tensor<64xbf16>
  llm.weight @lm_head.weight : tensor<128x64xbf16> slice <dim = 0, size = 128, axis = "tp", offsets = [0, 128], full = [256, 64]>
  func.func @forward(%arg0: tensor<?x?xi64> {llm.name = "input_ids"}, %arg1: tensor<?x?xi64> {llm.name = "positions"}, %arg2: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f8E4M3FN, scales = per_token_head> {llm.name = "kv_cache"}) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %0 = llm.param @model.embed_tokens.weight : tensor<128x64xbf16>
    %1 = llm.embedding %arg0, %0 vocab_parallel : (tensor<?x?xi64>, tensor<128x64xbf16>) -> tensor<?x?x64xbf16>
    %all_reduce = shard.all_reduce %1 on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
    %2 = llm.decoder_layer 0 (%all_reduce, %arg1, %arg2) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f8E4M3FN, scales = per_token_head>) -> tensor<?x?x64xbf16> {
    ^bb0(%arg3: tensor<?x?x64xbf16>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f8E4M3FN, scales = per_token_head>):
      %10 = llm.param @model.layers.0.input_layernorm.weight : tensor<64xbf16>
      %11 = llm.rms_norm %arg3, %10 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %12 = llm.token_scale %11 : (tensor<?x?x64xbf16>) -> tensor<?x?x1xf32>
      %13 = llm.quantize %11, %12 : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xf8E4M3FN>
      %14 = llm.param @model.layers.0.self_attn.q_proj.weight : tensor<32x64xf8E4M3FN>
      %15 = llm.param @model.layers.0.self_attn.q_proj.weight_scale : tensor<32x1xf32>
      %16 = llm.linear %13, %14 scale %15 input_scale %12 : (tensor<?x?x64xf8E4M3FN>, tensor<32x64xf8E4M3FN>, tensor<32x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x32xbf16>
      %17 = llm.param @model.layers.0.self_attn.k_proj.weight : tensor<16x64xf8E4M3FN>
      %18 = llm.param @model.layers.0.self_attn.k_proj.weight_scale : tensor<16x1xf32>
      %19 = llm.linear %13, %17 scale %18 input_scale %12 : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x16xbf16>
      %20 = llm.param @model.layers.0.self_attn.v_proj.weight : tensor<16x64xf8E4M3FN>
      %21 = llm.param @model.layers.0.self_attn.v_proj.weight_scale : tensor<16x1xf32>
      %22 = llm.linear %13, %20 scale %21 input_scale %12 : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x16xbf16>
      %23 = llm.rope %16, %arg4 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %24 = llm.rope %19, %arg4 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x16xbf16>
      %25 = llm.attention %23, %24, %22, %arg4 cache(%arg5 : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f8E4M3FN, scales = per_token_head>) [0] heads 4 kv_heads 2 head_dim 8 causal : tensor<?x?x32xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x32xbf16>
      %26 = llm.token_scale %25 : (tensor<?x?x32xbf16>) -> tensor<?x?x1xf32>
      %all_reduce_0 = shard.all_reduce %26 on @grid grid_axes = [0] reduction =  max : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
      %27 = llm.quantize %25, %all_reduce_0 : (tensor<?x?x32xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x32xf8E4M3FN>
      %28 = llm.param @model.layers.0.self_attn.o_proj.weight : tensor<64x32xf8E4M3FN>
      %29 = llm.param @model.layers.0.self_attn.o_proj.weight_scale : tensor<64x1xf32>
      %30 = llm.linear %27, %28 scale %29 input_scale %all_reduce_0 : (tensor<?x?x32xf8E4M3FN>, tensor<64x32xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %all_reduce_1 = shard.all_reduce %30 on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
      %31 = llm.add %arg3, %all_reduce_1 : tensor<?x?x64xbf16>
      %32 = llm.param @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
      %33 = llm.rms_norm %31, %32 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %34 = llm.token_scale %33 : (tensor<?x?x64xbf16>) -> tensor<?x?x1xf32>
      %35 = llm.quantize %33, %34 : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xf8E4M3FN>
      %36 = llm.param @model.layers.0.mlp.gate_proj.weight : tensor<64x64xf8E4M3FN>
      %37 = llm.param @model.layers.0.mlp.gate_proj.weight_scale : tensor<64x1xf32>
      %38 = llm.linear %35, %36 scale %37 input_scale %34 : (tensor<?x?x64xf8E4M3FN>, tensor<64x64xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %39 = llm.param @model.layers.0.mlp.up_proj.weight : tensor<64x64xf8E4M3FN>
      %40 = llm.param @model.layers.0.mlp.up_proj.weight_scale : tensor<64x1xf32>
      %41 = llm.linear %35, %39 scale %40 input_scale %34 : (tensor<?x?x64xf8E4M3FN>, tensor<64x64xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %42 = llm.swiglu %38, %41 : tensor<?x?x64xbf16>
      %43 = llm.token_scale %42 : (tensor<?x?x64xbf16>) -> tensor<?x?x1xf32>
      %all_reduce_2 = shard.all_reduce %43 on @grid grid_axes = [0] reduction =  max : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
      %44 = llm.quantize %42, %all_reduce_2 : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xf8E4M3FN>
      %45 = llm.param @model.layers.0.mlp.down_proj.weight : tensor<64x64xf8E4M3FN>
      %46 = llm.param @model.layers.0.mlp.down_proj.weight_scale : tensor<64x1xf32>
      %47 = llm.linear %44, %45 scale %46 input_scale %all_reduce_2 : (tensor<?x?x64xf8E4M3FN>, tensor<64x64xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %all_reduce_3 = shard.all_reduce %47 on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
      %48 = llm.add %31, %all_reduce_3 : tensor<?x?x64xbf16>
      llm.yield %48 : tensor<?x?x64xbf16>
    }
    %3 = llm.decoder_layer 1 (%2, %arg1, %arg2) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f8E4M3FN, scales = per_token_head>) -> tensor<?x?x64xbf16> {
    ^bb0(%arg3: tensor<?x?x64xbf16>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f8E4M3FN, scales = per_token_head>):
      %10 = llm.param @model.layers.1.input_layernorm.weight : tensor<64xbf16>
      %11 = llm.rms_norm %arg3, %10 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %12 = llm.token_scale %11 : (tensor<?x?x64xbf16>) -> tensor<?x?x1xf32>
      %13 = llm.quantize %11, %12 : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xf8E4M3FN>
      %14 = llm.param @model.layers.1.self_attn.q_proj.weight : tensor<32x64xf8E4M3FN>
      %15 = llm.param @model.layers.1.self_attn.q_proj.weight_scale : tensor<32x1xf32>
      %16 = llm.linear %13, %14 scale %15 input_scale %12 : (tensor<?x?x64xf8E4M3FN>, tensor<32x64xf8E4M3FN>, tensor<32x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x32xbf16>
      %17 = llm.param @model.layers.1.self_attn.k_proj.weight : tensor<16x64xf8E4M3FN>
      %18 = llm.param @model.layers.1.self_attn.k_proj.weight_scale : tensor<16x1xf32>
      %19 = llm.linear %13, %17 scale %18 input_scale %12 : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x16xbf16>
      %20 = llm.param @model.layers.1.self_attn.v_proj.weight : tensor<16x64xf8E4M3FN>
      %21 = llm.param @model.layers.1.self_attn.v_proj.weight_scale : tensor<16x1xf32>
      %22 = llm.linear %13, %20 scale %21 input_scale %12 : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x16xbf16>
      %23 = llm.rope %16, %arg4 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %24 = llm.rope %19, %arg4 head_dim 8 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 256> : (tensor<?x?x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x16xbf16>
      %25 = llm.attention %23, %24, %22, %arg4 cache(%arg5 : !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 8, f8E4M3FN, scales = per_token_head>) [1] heads 4 kv_heads 2 head_dim 8 causal : tensor<?x?x32xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x32xbf16>
      %26 = llm.token_scale %25 : (tensor<?x?x32xbf16>) -> tensor<?x?x1xf32>
      %all_reduce_0 = shard.all_reduce %26 on @grid grid_axes = [0] reduction =  max : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
      %27 = llm.quantize %25, %all_reduce_0 : (tensor<?x?x32xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x32xf8E4M3FN>
      %28 = llm.param @model.layers.1.self_attn.o_proj.weight : tensor<64x32xf8E4M3FN>
      %29 = llm.param @model.layers.1.self_attn.o_proj.weight_scale : tensor<64x1xf32>
      %30 = llm.linear %27, %28 scale %29 input_scale %all_reduce_0 : (tensor<?x?x32xf8E4M3FN>, tensor<64x32xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %all_reduce_1 = shard.all_reduce %30 on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
      %31 = llm.add %arg3, %all_reduce_1 : tensor<?x?x64xbf16>
      %32 = llm.param @model.layers.1.post_attention_layernorm.weight : tensor<64xbf16>
      %33 = llm.rms_norm %31, %32 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %34 = llm.token_scale %33 : (tensor<?x?x64xbf16>) -> tensor<?x?x1xf32>
      %35 = llm.quantize %33, %34 : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xf8E4M3FN>
      %36 = llm.param @model.layers.1.mlp.gate_proj.weight : tensor<64x64xf8E4M3FN>
      %37 = llm.param @model.layers.1.mlp.gate_proj.weight_scale : tensor<64x1xf32>
      %38 = llm.linear %35, %36 scale %37 input_scale %34 : (tensor<?x?x64xf8E4M3FN>, tensor<64x64xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %39 = llm.param @model.layers.1.mlp.up_proj.weight : tensor<64x64xf8E4M3FN>
      %40 = llm.param @model.layers.1.mlp.up_proj.weight_scale : tensor<64x1xf32>
      %41 = llm.linear %35, %39 scale %40 input_scale %34 : (tensor<?x?x64xf8E4M3FN>, tensor<64x64xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %42 = llm.swiglu %38, %41 : tensor<?x?x64xbf16>
      %43 = llm.token_scale %42 : (tensor<?x?x64xbf16>) -> tensor<?x?x1xf32>
      %all_reduce_2 = shard.all_reduce %43 on @grid grid_axes = [0] reduction =  max : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
      %44 = llm.quantize %42, %all_reduce_2 : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xf8E4M3FN>
      %45 = llm.param @model.layers.1.mlp.down_proj.weight : tensor<64x64xf8E4M3FN>
      %46 = llm.param @model.layers.1.mlp.down_proj.weight_scale : tensor<64x1xf32>
      %47 = llm.linear %44, %45 scale %46 input_scale %all_reduce_2 : (tensor<?x?x64xf8E4M3FN>, tensor<64x64xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %all_reduce_3 = shard.all_reduce %47 on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
      %48 = llm.add %31, %all_reduce_3 : tensor<?x?x64xbf16>
      llm.yield %48 : tensor<?x?x64xbf16>
    }
    %4 = llm.last_token %3 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %5 = llm.param @model.norm.weight : tensor<64xbf16>
    %6 = llm.rms_norm %4, %5 eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %7 = llm.param @lm_head.weight : tensor<128x64xbf16>
    %8 = llm.lm_head %6, %7 vocab_parallel : (tensor<?x1x64xbf16>, tensor<128x64xbf16>) -> tensor<?x1x128xbf16>
    %all_gather = shard.all_gather %8 on @grid grid_axes = [0] gather_axis = 2 : tensor<?x1x128xbf16> -> tensor<?x1x256xbf16>
    %9 = llm.argmax %all_gather : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %all_gather, %9 : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}

