module attributes {dist.plan = #dist.plan<axes = ["ep"], shape = [2], microbatches = 1, batch_axes = ["ep"]>, llm.architecture = "MixtralForCausalLM", llm.bos_token_id = 1 : i64, llm.eos_token_ids = array<i64: 2>, llm.max_position_embeddings = 512 : i64, llm.source = "tmpj_uafraz"} {
  shard.grid @grid(shape = 2)
  llm.weight @model.embed_tokens.weight : tensor<256x64xbf16>
  llm.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<16x64xbf16>
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<16x64xbf16>
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.block_sparse_moe.gate.weight : tensor<8x64xbf16>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w1.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w3.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.0.w2.weight : tensor<64x96xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w1.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w3.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.1.w2.weight : tensor<64x96xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w1.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w3.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.2.w2.weight : tensor<64x96xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w1.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w3.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.3.w2.weight : tensor<64x96xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w1.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w3.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.4.w2.weight : tensor<64x96xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w1.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w3.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.5.w2.weight : tensor<64x96xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w1.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w3.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.6.w2.weight : tensor<64x96xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w1.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w3.weight : tensor<96x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.block_sparse_moe.experts.7.w2.weight : tensor<64x96xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.norm.weight : tensor<64xbf16>
  llm.weight @lm_head.weight : tensor<256x64xbf16>
  func.func @forward(%arg0: tensor<?x?xi64> {llm.name = "input_ids"}, %arg1: tensor<?x?xi64> {llm.name = "positions"}, %arg2: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16> {llm.name = "kv_cache"}) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %0 = llm.param @model.embed_tokens.weight : tensor<256x64xbf16>
    %1 = llm.embedding %arg0, %0 : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
    %2 = llm.decoder_layer 0 (%1, %arg1, %arg2) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%arg3: tensor<?x?x64xbf16>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>):
      %9 = llm.param @model.layers.0.input_layernorm.weight : tensor<64xbf16>
      %10 = llm.rms_norm %arg3, %9 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %11 = llm.param @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
      %12 = llm.linear %10, %11 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %13 = llm.param @model.layers.0.self_attn.k_proj.weight : tensor<16x64xbf16>
      %14 = llm.linear %10, %13 : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
      %15 = llm.param @model.layers.0.self_attn.v_proj.weight : tensor<16x64xbf16>
      %16 = llm.linear %10, %15 : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
      %17 = llm.rope %12, %arg4 head_dim 8 <theta = 1.000000e+06> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
      %18 = llm.rope %14, %arg4 head_dim 8 <theta = 1.000000e+06> : (tensor<?x?x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x16xbf16>
      %19 = llm.attention %17, %18, %16, %arg4 cache(%arg5 : !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>) [0] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
      %20 = llm.param @model.layers.0.self_attn.o_proj.weight : tensor<64x64xbf16>
      %21 = llm.linear %19, %20 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %22 = llm.add %arg3, %21 : tensor<?x?x64xbf16>
      %23 = llm.param @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
      %24 = llm.rms_norm %22, %23 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %25 = llm.param @model.layers.0.block_sparse_moe.gate.weight : tensor<8x64xbf16>
      %weights, %indices = llm.moe_router %24, %25 experts 8 top_k 2 renormalize : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
      %26 = llm.param @model.layers.0.block_sparse_moe.experts.0.w1.weight : tensor<96x64xbf16>
      %27 = llm.param @model.layers.0.block_sparse_moe.experts.0.w3.weight : tensor<96x64xbf16>
      %28 = llm.param @model.layers.0.block_sparse_moe.experts.0.w2.weight : tensor<64x96xbf16>
      %29 = llm.param @model.layers.0.block_sparse_moe.experts.1.w1.weight : tensor<96x64xbf16>
      %30 = llm.param @model.layers.0.block_sparse_moe.experts.1.w3.weight : tensor<96x64xbf16>
      %31 = llm.param @model.layers.0.block_sparse_moe.experts.1.w2.weight : tensor<64x96xbf16>
      %32 = llm.param @model.layers.0.block_sparse_moe.experts.2.w1.weight : tensor<96x64xbf16>
      %33 = llm.param @model.layers.0.block_sparse_moe.experts.2.w3.weight : tensor<96x64xbf16>
      %34 = llm.param @model.layers.0.block_sparse_moe.experts.2.w2.weight : tensor<64x96xbf16>
      %35 = llm.param @model.layers.0.block_sparse_moe.experts.3.w1.weight : tensor<96x64xbf16>
      %36 = llm.param @model.layers.0.block_sparse_moe.experts.3.w3.weight : tensor<96x64xbf16>
      %37 = llm.param @model.layers.0.block_sparse_moe.experts.3.w2.weight : tensor<64x96xbf16>
      %38 = llm.param @model.layers.0.block_sparse_moe.experts.4.w1.weight : tensor<96x64xbf16>
      %39 = llm.param @model.layers.0.block_sparse_moe.experts.4.w3.weight : tensor<96x64xbf16>
      %40 = llm.param @model.layers.0.block_sparse_moe.experts.4.w2.weight : tensor<64x96xbf16>
      %41 = llm.param @model.layers.0.block_sparse_moe.experts.5.w1.weight : tensor<96x64xbf16>
      %42 = llm.param @model.layers.0.block_sparse_moe.experts.5.w3.weight : tensor<96x64xbf16>
      %43 = llm.param @model.layers.0.block_sparse_moe.experts.5.w2.weight : tensor<64x96xbf16>
      %44 = llm.param @model.layers.0.block_sparse_moe.experts.6.w1.weight : tensor<96x64xbf16>
      %45 = llm.param @model.layers.0.block_sparse_moe.experts.6.w3.weight : tensor<96x64xbf16>
      %46 = llm.param @model.layers.0.block_sparse_moe.experts.6.w2.weight : tensor<64x96xbf16>
      %47 = llm.param @model.layers.0.block_sparse_moe.experts.7.w1.weight : tensor<96x64xbf16>
      %48 = llm.param @model.layers.0.block_sparse_moe.experts.7.w3.weight : tensor<96x64xbf16>
      %49 = llm.param @model.layers.0.block_sparse_moe.experts.7.w2.weight : tensor<64x96xbf16>
      %tokens, %token_weights, %token_indices, %route = dist.expert_dispatch %24, %weights, %indices on @grid axis 0 owners [0, 0, 0, 0, 1, 1, 1, 1] : (tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64>) -> (tensor<1x?x64xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
      %50 = llm.experts %tokens, %token_weights, %token_indices experts 8 owners("ep") [0, 0, 0, 0, 1, 1, 1, 1] gate(%26, %29, %32, %35, %38, %41, %44, %47) up(%27, %30, %33, %36, %39, %42, %45, %48) down(%28, %31, %34, %37, %40, %43, %46, %49) : tensor<1x?x64xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64> gate(tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>) up(tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>, tensor<96x64xbf16>) down(tensor<64x96xbf16>, tensor<64x96xbf16>, tensor<64x96xbf16>, tensor<64x96xbf16>, tensor<64x96xbf16>, tensor<64x96xbf16>, tensor<64x96xbf16>, tensor<64x96xbf16>) -> tensor<1x?x64xbf16>
      %51 = dist.expert_combine %50, %route, %24 on @grid axis 0 : (tensor<1x?x64xbf16>, tensor<?x3xi64>, tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16>
      %52 = llm.add %22, %51 : tensor<?x?x64xbf16>
      llm.yield %52 : tensor<?x?x64xbf16>
    }
    %3 = llm.last_token %2 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %4 = llm.param @model.norm.weight : tensor<64xbf16>
    %5 = llm.rms_norm %3, %4 eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %6 = llm.param @lm_head.weight : tensor<256x64xbf16>
    %7 = llm.lm_head %5, %6 : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
    %8 = llm.argmax %7 : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %7, %8 : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}

