module attributes {dist.plan = #dist.plan<axes = ["ep"], shape = [2], microbatches = 1, batch_axes = ["ep"]>, llm.architecture = "Qwen2MoeForCausalLM", llm.bos_token_id = 1 : i64, llm.eos_token_ids = array<i64: 2>, llm.max_position_embeddings = 512 : i64, llm.source = "tmpj_uafraz"} {
  shard.grid @grid(shape = 2)
  llm.weight @model.embed_tokens.weight : tensor<256x64xbf16>
  llm.weight @model.layers.0.input_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.self_attn.q_proj.bias : tensor<64xbf16>
  llm.weight @model.layers.0.self_attn.k_proj.weight : tensor<16x64xbf16>
  llm.weight @model.layers.0.self_attn.k_proj.bias : tensor<16xbf16>
  llm.weight @model.layers.0.self_attn.v_proj.weight : tensor<16x64xbf16>
  llm.weight @model.layers.0.self_attn.v_proj.bias : tensor<16xbf16>
  llm.weight @model.layers.0.self_attn.o_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
  llm.weight @model.layers.0.mlp.gate.weight : tensor<8x64xbf16>
  llm.weight @model.layers.0.mlp.experts.0.gate_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.0.up_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.0.down_proj.weight : tensor<64x32xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.1.gate_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.1.up_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.1.down_proj.weight : tensor<64x32xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.2.gate_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.2.up_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.2.down_proj.weight : tensor<64x32xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.3.gate_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.3.up_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.3.down_proj.weight : tensor<64x32xbf16> owner <axis = "ep", coord = 0>
  llm.weight @model.layers.0.mlp.experts.4.gate_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.4.up_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.4.down_proj.weight : tensor<64x32xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.5.gate_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.5.up_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.5.down_proj.weight : tensor<64x32xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.6.gate_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.6.up_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.6.down_proj.weight : tensor<64x32xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.7.gate_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.7.up_proj.weight : tensor<32x64xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.experts.7.down_proj.weight : tensor<64x32xbf16> owner <axis = "ep", coord = 1>
  llm.weight @model.layers.0.mlp.shared_expert.gate_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.mlp.shared_expert.up_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.mlp.shared_expert.down_proj.weight : tensor<64x64xbf16>
  llm.weight @model.layers.0.mlp.shared_expert_gate.weight : tensor<1x64xbf16>
  llm.weight @model.norm.weight : tensor<64xbf16>
  llm.weight @lm_head.weight : tensor<256x64xbf16>
  func.func @forward(%arg0: tensor<?x?xi64> {llm.name = "input_ids"}, %arg1: tensor<?x?xi64> {llm.name = "positions"}, %arg2: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16> {llm.name = "kv_cache"}) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %0 = llm.param @model.embed_tokens.weight : tensor<256x64xbf16>
    %1 = llm.embedding %arg0, %0 : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
    %2 = llm.decoder_layer 0 (%1, %arg1, %arg2) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%arg3: tensor<?x?x64xbf16>, %arg4: tensor<?x?xi64>, %arg5: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>):
      %9 = llm.param @model.layers.0.input_layernorm.weight : tensor<64xbf16>
      %10 = llm.rms_norm %arg3, %9 eps 9.9999999999999995E-7 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %11 = llm.param @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
      %12 = llm.param @model.layers.0.self_attn.q_proj.bias : tensor<64xbf16>
      %13 = llm.linear %10, %11 bias %12 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %14 = llm.param @model.layers.0.self_attn.k_proj.weight : tensor<16x64xbf16>
      %15 = llm.param @model.layers.0.self_attn.k_proj.bias : tensor<16xbf16>
      %16 = llm.linear %10, %14 bias %15 : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
      %17 = llm.param @model.layers.0.self_attn.v_proj.weight : tensor<16x64xbf16>
      %18 = llm.param @model.layers.0.self_attn.v_proj.bias : tensor<16xbf16>
      %19 = llm.linear %10, %17 bias %18 : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
      %20 = llm.rope %13, %arg4 head_dim 8 <theta = 1.000000e+06> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
      %21 = llm.rope %16, %arg4 head_dim 8 <theta = 1.000000e+06> : (tensor<?x?x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x16xbf16>
      %22 = llm.attention %20, %21, %19, %arg4 cache(%arg5 : !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>) [0] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
      %23 = llm.param @model.layers.0.self_attn.o_proj.weight : tensor<64x64xbf16>
      %24 = llm.linear %22, %23 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %25 = llm.add %arg3, %24 : tensor<?x?x64xbf16>
      %26 = llm.param @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
      %27 = llm.rms_norm %25, %26 eps 9.9999999999999995E-7 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %28 = llm.param @model.layers.0.mlp.gate.weight : tensor<8x64xbf16>
      %weights, %indices = llm.moe_router %27, %28 experts 8 top_k 2 : (tensor<?x?x64xbf16>, tensor<8x64xbf16>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
      %29 = llm.param @model.layers.0.mlp.experts.0.gate_proj.weight : tensor<32x64xbf16>
      %30 = llm.param @model.layers.0.mlp.experts.0.up_proj.weight : tensor<32x64xbf16>
      %31 = llm.param @model.layers.0.mlp.experts.0.down_proj.weight : tensor<64x32xbf16>
      %32 = llm.param @model.layers.0.mlp.experts.1.gate_proj.weight : tensor<32x64xbf16>
      %33 = llm.param @model.layers.0.mlp.experts.1.up_proj.weight : tensor<32x64xbf16>
      %34 = llm.param @model.layers.0.mlp.experts.1.down_proj.weight : tensor<64x32xbf16>
      %35 = llm.param @model.layers.0.mlp.experts.2.gate_proj.weight : tensor<32x64xbf16>
      %36 = llm.param @model.layers.0.mlp.experts.2.up_proj.weight : tensor<32x64xbf16>
      %37 = llm.param @model.layers.0.mlp.experts.2.down_proj.weight : tensor<64x32xbf16>
      %38 = llm.param @model.layers.0.mlp.experts.3.gate_proj.weight : tensor<32x64xbf16>
      %39 = llm.param @model.layers.0.mlp.experts.3.up_proj.weight : tensor<32x64xbf16>
      %40 = llm.param @model.layers.0.mlp.experts.3.down_proj.weight : tensor<64x32xbf16>
      %41 = llm.param @model.layers.0.mlp.experts.4.gate_proj.weight : tensor<32x64xbf16>
      %42 = llm.param @model.layers.0.mlp.experts.4.up_proj.weight : tensor<32x64xbf16>
      %43 = llm.param @model.layers.0.mlp.experts.4.down_proj.weight : tensor<64x32xbf16>
      %44 = llm.param @model.layers.0.mlp.experts.5.gate_proj.weight : tensor<32x64xbf16>
      %45 = llm.param @model.layers.0.mlp.experts.5.up_proj.weight : tensor<32x64xbf16>
      %46 = llm.param @model.layers.0.mlp.experts.5.down_proj.weight : tensor<64x32xbf16>
      %47 = llm.param @model.layers.0.mlp.experts.6.gate_proj.weight : tensor<32x64xbf16>
      %48 = llm.param @model.layers.0.mlp.experts.6.up_proj.weight : tensor<32x64xbf16>
      %49 = llm.param @model.layers.0.mlp.experts.6.down_proj.weight : tensor<64x32xbf16>
      %50 = llm.param @model.layers.0.mlp.experts.7.gate_proj.weight : tensor<32x64xbf16>
      %51 = llm.param @model.layers.0.mlp.experts.7.up_proj.weight : tensor<32x64xbf16>
      %52 = llm.param @model.layers.0.mlp.experts.7.down_proj.weight : tensor<64x32xbf16>
      %tokens, %token_weights, %token_indices, %route = dist.expert_dispatch %27, %weights, %indices on @grid axis 0 owners [0, 0, 0, 0, 1, 1, 1, 1] : (tensor<?x?x64xbf16>, tensor<?x?x2xf32>, tensor<?x?x2xi64>) -> (tensor<1x?x64xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
      %53 = llm.experts %tokens, %token_weights, %token_indices experts 8 owners("ep") [0, 0, 0, 0, 1, 1, 1, 1] gate(%29, %32, %35, %38, %41, %44, %47, %50) up(%30, %33, %36, %39, %42, %45, %48, %51) down(%31, %34, %37, %40, %43, %46, %49, %52) : tensor<1x?x64xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>, tensor<64x32xbf16>, tensor<64x32xbf16>, tensor<64x32xbf16>, tensor<64x32xbf16>, tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<1x?x64xbf16>
      %54 = dist.expert_combine %53, %route, %27 on @grid axis 0 : (tensor<1x?x64xbf16>, tensor<?x3xi64>, tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16>
      %55 = llm.param @model.layers.0.mlp.shared_expert.gate_proj.weight : tensor<64x64xbf16>
      %56 = llm.param @model.layers.0.mlp.shared_expert.up_proj.weight : tensor<64x64xbf16>
      %57 = llm.param @model.layers.0.mlp.shared_expert.down_proj.weight : tensor<64x64xbf16>
      %58 = llm.param @model.layers.0.mlp.shared_expert_gate.weight : tensor<1x64xbf16>
      %59 = llm.shared_expert %27, %55, %56, %57, %58 : (tensor<?x?x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
      %60 = llm.add %54, %59 : tensor<?x?x64xbf16>
      %61 = llm.add %25, %60 : tensor<?x?x64xbf16>
      llm.yield %61 : tensor<?x?x64xbf16>
    }
    %3 = llm.last_token %2 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %4 = llm.param @model.norm.weight : tensor<64xbf16>
    %5 = llm.rms_norm %3, %4 eps 9.9999999999999995E-7 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %6 = llm.param @lm_head.weight : tensor<256x64xbf16>
    %7 = llm.lm_head %5, %6 : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
    %8 = llm.argmax %7 : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %7, %8 : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}

