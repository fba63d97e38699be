module attributes {dist.plan = #dist.plan<axes = ["ep", "tp"], shape = [2, 2], microbatches = 1, batch_axes = ["ep"]>, llm.architecture = "MixtralForCausalLM", llm.bos_token_id = 1 : i64, llm.eos_token_ids = array<i64: 2>, llm.max_position_embeddings = 512 : i64, llm.source = "tmplekdvf_x"} {
  shard.grid @grid(shape = 2x2)
  llm.weight @model.embed_tokens.weight : tensor<128x64xbf16> slice <dim = 0, size = 128, axis = "tp", offsets = [0, 128], full = [256, 64]>
  llm.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<32x64xf8E4M3FN> scale @model.layers.0.self_attn.q_proj.weight_scale slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>
  llm.weight @model.layers.0.self_attn.q_proj.weight_scale : tensor<32x1xf32> slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 1]>
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<8x64xf8E4M3FN> scale @model.layers.0.self_attn.k_proj.weight_scale slice <dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 64]>
  llm.weight @model.layers.0.self_attn.k_proj.weight_scale : tensor<8x1xf32> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 1]>
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<8x64xf8E4M3FN> scale @model.layers.0.self_attn.v_proj.weight_scale slice <dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 64]>
  llm.weight @model.layers.0.self_attn.v_proj.weight_scale : tensor<8x1xf32> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 1]>
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<64x32xf8E4M3FN> scale @model.layers.0.self_attn.o_proj.weight_scale slice <dim = 1, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>
  llm.weight @model.layers.0.self_attn.o_proj.weight_scale : tensor<64x1xf32>
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.block_sparse_moe.gate.weight : tensor<8x64xbf16>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w1.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.0.w1.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w1.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w3.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.0.w3.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w3.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w2.weight : tensor<64x48xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.0.w2.weight_scale slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w2.weight_scale : tensor<64x1xf32> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w1.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.1.w1.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w1.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w3.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.1.w3.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w3.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w2.weight : tensor<64x48xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.1.w2.weight_scale slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w2.weight_scale : tensor<64x1xf32> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w1.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.2.w1.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w1.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w3.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.2.w3.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w3.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w2.weight : tensor<64x48xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.2.w2.weight_scale slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w2.weight_scale : tensor<64x1xf32> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w1.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.3.w1.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w1.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w3.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.3.w3.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w3.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w2.weight : tensor<64x48xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.3.w2.weight_scale slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w2.weight_scale : tensor<64x1xf32> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w1.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.4.w1.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w1.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w3.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.4.w3.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w3.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w2.weight : tensor<64x48xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.4.w2.weight_scale slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w2.weight_scale : tensor<64x1xf32> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w1.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.5.w1.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w1.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w3.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.5.w3.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w3.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w2.weight : tensor<64x48xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.5.w2.weight_scale slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w2.weight_scale : tensor<64x1xf32> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w1.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.6.w1.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w1.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w3.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.6.w3.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w3.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w2.weight : tensor<64x48xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.6.w2.weight_scale slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w2.weight_scale : tensor<64x1xf32> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w1.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.7.w1.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w1.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w3.weight : tensor<48x64xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.7.w3.weight_scale slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 64]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w3.weight_scale : tensor<48x1xf32> slice <dim = 0, size = 48, axis = "tp", offsets = [0, 48], full = [96, 1]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w2.weight : tensor<64x48xf8E4M3FN> scale @model.layers.0.block_sparse_moe.experts.7.w2.weight_scale slice <dim = 1, size = 48, axis = "tp", offsets = [0, 48], full = [64, 96]> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w2.weight_scale : tensor<64x1xf32> owner <axis = "ep", coord = 1>
  llm.weight @model.norm.weight : tensor<64xbf16>
  llm.weight @lm_head.weight : tensor<128x64xbf16> slice <dim = 0, size = 128, axis = "tp", offsets = [0, 128], full = [256, 64]>
  func.func @forward(%arg0: tensor<?x?xi64> {llm.name = "input_ids"}, %arg1: tensor<?x?xi64> {llm.name = "positions"}, %arg2: !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 8, f8E4M3FN, scales = per_token_head> {llm.name = "kv_cache"}) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %0 = llm.param @model.embed_tokens.weight : tensor<128x64xbf16>
    %1 = llm.embedding %arg0, %0 vocab_parallel : (tensor<?x?xi64>, tensor<128x64xbf16>) -> tensor<?x?x64xbf16>
    %all_reduce = shard.all_reduce %1 on @grid grid_axes = [1] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
    %2 = llm.decoder_layer 0 (%all_reduce, %arg1, %arg2) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 8, f8E4M3FN, scales = per_token_head>) -> tensor<?x?x64xbf16> {
    ^bb0(%arg3: tensor<?x?x64xbf16>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 8, f8E4M3FN, scales = per_token_head>):
      %9 = llm.param @model.layers.0.input_layernorm.weight : tensor<64xbf16>
      %10 = llm.rms_norm %arg3, %9 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %11 = llm.token_scale %10 : (tensor<?x?x64xbf16>) -> tensor<?x?x1xf32>
      %12 = llm.quantize %10, %11 : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xf8E4M3FN>
      %13 = llm.param @model.layers.0.self_attn.q_proj.weight : tensor<32x64xf8E4M3FN>
      %14 = llm.param @model.layers.0.self_attn.q_proj.weight_scale : tensor<32x1xf32>
      %15 = llm.linear %12, %13 scale %14 input_scale %11 : (tensor<?x?x64xf8E4M3FN>, tensor<32x64xf8E4M3FN>, tensor<32x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x32xbf16>
      %16 = llm.param @model.layers.0.self_attn.k_proj.weight : tensor<8x64xf8E4M3FN>
      %17 = llm.param @model.layers.0.self_attn.k_proj.weight_scale : tensor<8x1xf32>
      %18 = llm.linear %12, %16 scale %17 input_scale %11 : (tensor<?x?x64xf8E4M3FN>, tensor<8x64xf8E4M3FN>, tensor<8x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x8xbf16>
      %19 = llm.param @model.layers.0.self_attn.v_proj.weight : tensor<8x64xf8E4M3FN>
      %20 = llm.param @model.layers.0.self_attn.v_proj.weight_scale : tensor<8x1xf32>
      %21 = llm.linear %12, %19 scale %20 input_scale %11 : (tensor<?x?x64xf8E4M3FN>, tensor<8x64xf8E4M3FN>, tensor<8x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x8xbf16>
      %22 = llm.rope %15, %arg4 head_dim 8 <theta = 1.000000e+06> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %23 = llm.rope %18, %arg4 head_dim 8 <theta = 1.000000e+06> : (tensor<?x?x8xbf16>, tensor<?x?xi64>) -> tensor<?x?x8xbf16>
      %24 = llm.attention %22, %23, %21, %arg4 cache(%arg5 : !llm.kv_cache<layers = 1, kv_heads = 1, head_dim = 8, f8E4M3FN, scales = per_token_head>) [0] heads 4 kv_heads 1 head_dim 8 causal : tensor<?x?x32xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x32xbf16>
      %25 = llm.token_scale %24 : (tensor<?x?x32xbf16>) -> tensor<?x?x1xf32>
      %all_reduce_0 = shard.all_reduce %25 on @grid grid_axes = [1] reduction =  max : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
      %26 = llm.quantize %24, %all_reduce_0 : (tensor<?x?x32xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x32xf8E4M3FN>
      %27 = llm.param @model.layers.0.self_attn.o_proj.weight : tensor<64x32xf8E4M3FN>
      %28 = llm.param @model.layers.0.self_attn.o_proj.weight_scale : tensor<64x1xf32>
      %29 = llm.linear %26, %27 scale %28 input_scale %all_reduce_0 : (tensor<?x?x32xf8E4M3FN>, tensor<64x32xf8E4M3FN>, tensor<64x1xf32>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
      %all_reduce_1 = shard.all_reduce %29 on @grid grid_axes = [1] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
      %30 = llm.add %arg3, %all_reduce_1 : tensor<?x?x64xbf16>
      %31 = llm.param @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
      %32 = llm.rms_norm %30, %31 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %33 = llm.param @model.layers.0.block_sparse_moe.gate.weight : tensor<8x64xbf16>
      %weights, %indices = llm.moe_router %32, %33 experts 8 top_k 2 renormalize : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
      %34 = llm.param @model.layers.0.block_sparse_moe.experts.0.w1.weight : tensor<48x64xf8E4M3FN>
      %35 = llm.param @model.layers.0.block_sparse_moe.experts.0.w1.weight_scale : tensor<48x1xf32>
      %36 = llm.param @model.layers.0.block_sparse_moe.experts.0.w3.weight : tensor<48x64xf8E4M3FN>
      %37 = llm.param @model.layers.0.block_sparse_moe.experts.0.w3.weight_scale : tensor<48x1xf32>
      %38 = llm.param @model.layers.0.block_sparse_moe.experts.0.w2.weight : tensor<64x48xf8E4M3FN>
      %39 = llm.param @model.layers.0.block_sparse_moe.experts.0.w2.weight_scale : tensor<64x1xf32>
      %40 = llm.param @model.layers.0.block_sparse_moe.experts.1.w1.weight : tensor<48x64xf8E4M3FN>
      %41 = llm.param @model.layers.0.block_sparse_moe.experts.1.w1.weight_scale : tensor<48x1xf32>
      %42 = llm.param @model.layers.0.block_sparse_moe.experts.1.w3.weight : tensor<48x64xf8E4M3FN>
      %43 = llm.param @model.layers.0.block_sparse_moe.experts.1.w3.weight_scale : tensor<48x1xf32>
      %44 = llm.param @model.layers.0.block_sparse_moe.experts.1.w2.weight : tensor<64x48xf8E4M3FN>
      %45 = llm.param @model.layers.0.block_sparse_moe.experts.1.w2.weight_scale : tensor<64x1xf32>
      %46 = llm.param @model.layers.0.block_sparse_moe.experts.2.w1.weight : tensor<48x64xf8E4M3FN>
      %47 = llm.param @model.layers.0.block_sparse_moe.experts.2.w1.weight_scale : tensor<48x1xf32>
      %48 = llm.param @model.layers.0.block_sparse_moe.experts.2.w3.weight : tensor<48x64xf8E4M3FN>
      %49 = llm.param @model.layers.0.block_sparse_moe.experts.2.w3.weight_scale : tensor<48x1xf32>
      %50 = llm.param @model.layers.0.block_sparse_moe.experts.2.w2.weight : tensor<64x48xf8E4M3FN>
      %51 = llm.param @model.layers.0.block_sparse_moe.experts.2.w2.weight_scale : tensor<64x1xf32>
      %52 = llm.param @model.layers.0.block_sparse_moe.experts.3.w1.weight : tensor<48x64xf8E4M3FN>
      %53 = llm.param @model.layers.0.block_sparse_moe.experts.3.w1.weight_scale : tensor<48x1xf32>
      %54 = llm.param @model.layers.0.block_sparse_moe.experts.3.w3.weight : tensor<48x64xf8E4M3FN>
      %55 = llm.param @model.layers.0.block_sparse_moe.experts.3.w3.weight_scale : tensor<48x1xf32>
      %56 = llm.param @model.layers.0.block_sparse_moe.experts.3.w2.weight : tensor<64x48xf8E4M3FN>
      %57 = llm.param @model.layers.0.block_sparse_moe.experts.3.w2.weight_scale : tensor<64x1xf32>
      %58 = llm.param @model.layers.0.block_sparse_moe.experts.4.w1.weight : tensor<48x64xf8E4M3FN>
      %59 = llm.param @model.layers.0.block_sparse_moe.experts.4.w1.weight_scale : tensor<48x1xf32>
      %60 = llm.param @model.layers.0.block_sparse_moe.experts.4.w3.weight : tensor<48x64xf8E4M3FN>
      %61 = llm.param @model.layers.0.block_sparse_moe.experts.4.w3.weight_scale : tensor<48x1xf32>
      %62 = llm.param @model.layers.0.block_sparse_moe.experts.4.w2.weight : tensor<64x48xf8E4M3FN>
      %63 = llm.param @model.layers.0.block_sparse_moe.experts.4.w2.weight_scale : tensor<64x1xf32>
      %64 = llm.param @model.layers.0.block_sparse_moe.experts.5.w1.weight : tensor<48x64xf8E4M3FN>
      %65 = llm.param @model.layers.0.block_sparse_moe.experts.5.w1.weight_scale : tensor<48x1xf32>
      %66 = llm.param @model.layers.0.block_sparse_moe.experts.5.w3.weight : tensor<48x64xf8E4M3FN>
      %67 = llm.param @model.layers.0.block_sparse_moe.experts.5.w3.weight_scale : tensor<48x1xf32>
      %68 = llm.param @model.layers.0.block_sparse_moe.experts.5.w2.weight : tensor<64x48xf8E4M3FN>
      %69 = llm.param @model.layers.0.block_sparse_moe.experts.5.w2.weight_scale : tensor<64x1xf32>
      %70 = llm.param @model.layers.0.block_sparse_moe.experts.6.w1.weight : tensor<48x64xf8E4M3FN>
      %71 = llm.param @model.layers.0.block_sparse_moe.experts.6.w1.weight_scale : tensor<48x1xf32>
      %72 = llm.param @model.layers.0.block_sparse_moe.experts.6.w3.weight : tensor<48x64xf8E4M3FN>
      %73 = llm.param @model.layers.0.block_sparse_moe.experts.6.w3.weight_scale : tensor<48x1xf32>
      %74 = llm.param @model.layers.0.block_sparse_moe.experts.6.w2.weight : tensor<64x48xf8E4M3FN>
      %75 = llm.param @model.layers.0.block_sparse_moe.experts.6.w2.weight_scale : tensor<64x1xf32>
      %76 = llm.param @model.layers.0.block_sparse_moe.experts.7.w1.weight : tensor<48x64xf8E4M3FN>
      %77 = llm.param @model.layers.0.block_sparse_moe.experts.7.w1.weight_scale : tensor<48x1xf32>
      %78 = llm.param @model.layers.0.block_sparse_moe.experts.7.w3.weight : tensor<48x64xf8E4M3FN>
      %79 = llm.param @model.layers.0.block_sparse_moe.experts.7.w3.weight_scale : tensor<48x1xf32>
      %80 = llm.param @model.layers.0.block_sparse_moe.experts.7.w2.weight : tensor<64x48xf8E4M3FN>
      %81 = llm.param @model.layers.0.block_sparse_moe.experts.7.w2.weight_scale : tensor<64x1xf32>
      %tokens, %token_weights, %token_indices, %route = dist.expert_dispatch %32, %weights, %indices on @grid axis 0 owners [0, 0, 0, 0, 1, 1, 1, 1] : (tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64>) -> (tensor<1x?x64xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
      %82 = llm.experts %tokens, %token_weights, %token_indices experts 8 owners("ep") [0, 0, 0, 0, 1, 1, 1, 1] gate(%34, %40, %46, %52, %58, %64, %70, %76) up(%36, %42, %48, %54, %60, %66, %72, %78) down(%38, %44, %50, %56, %62, %68, %74, %80) scales(gate(%35, %41, %47, %53, %59, %65, %71, %77) up(%37, %43, %49, %55, %61, %67, %73, %79) down(%39, %45, %51, %57, %63, %69, %75, %81)) : tensor<1x?x64xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64> gate(tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>) up(tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>) down(tensor<64x48xf8E4M3FN>, tensor<64x48xf8E4M3FN>, tensor<64x48xf8E4M3FN>, tensor<64x48xf8E4M3FN>, tensor<64x48xf8E4M3FN>, tensor<64x48xf8E4M3FN>, tensor<64x48xf8E4M3FN>, tensor<64x48xf8E4M3FN>) scales(gate(tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>) up(tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>) down(tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>)) -> tensor<1x?x64xbf16>
      %83 = dist.expert_combine %82, %route, %32 on @grid axis 0 : (tensor<1x?x64xbf16>, tensor<?x3xi64>, tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16>
      %all_reduce_2 = shard.all_reduce %83 on @grid grid_axes = [1] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
      %84 = llm.add %30, %all_reduce_2 : tensor<?x?x64xbf16>
      llm.yield %84 : tensor<?x?x64xbf16>
    }
    %3 = llm.last_token %2 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %4 = llm.param @model.norm.weight : tensor<64xbf16>
    %5 = llm.rms_norm %3, %4 eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %6 = llm.param @lm_head.weight : tensor<128x64xbf16>
    %7 = llm.lm_head %5, %6 vocab_parallel : (tensor<?x1x64xbf16>, tensor<128x64xbf16>) -> tensor<?x1x128xbf16>
    %all_gather = shard.all_gather %7 on @grid grid_axes = [1] gather_axis = 2 : tensor<?x1x128xbf16> -> tensor<?x1x256xbf16>
    %8 = llm.argmax %all_gather : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %all_gather, %8 : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}

