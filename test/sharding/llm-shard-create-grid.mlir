// RUN: llm-opt %s -split-input-file --llm-shard-create-grid=spec=tp2 | FileCheck %s --check-prefix=TP2
// RUN: llm-opt %s -split-input-file '--llm-shard-create-grid=spec=tp4,pp2 microbatches=4' | FileCheck %s --check-prefix=TP4PP2
// RUN: llm-opt %s -split-input-file --llm-shard-create-grid=spec=pp2,dp2,tp2 | FileCheck %s --check-prefix=ORDER
// RUN: llm-opt %s -split-input-file --llm-shard-create-grid=spec=dp4,tp1,pp1 | FileCheck %s --check-prefix=DEG1
// RUN: llm-opt %s -split-input-file '--llm-shard-create-grid=spec=pp2 gpus=8' | FileCheck %s --check-prefix=SPARE

// A single-GPU plan (every degree 1) leaves the module exactly as it was:
// no grid, no plan, no retyped weight. (An empty spec is
// refused; see diagnostics.mlir.)
// RUN: llm-opt %s -split-input-file > %t.plain
// RUN: llm-opt %s -split-input-file --llm-shard-create-grid=spec=tp1 > %t.tp1
// RUN: llm-opt %s -split-input-file '--llm-shard-create-grid=spec=tp1,pp1,dp1 microbatches=4' > %t.ones
// RUN: diff %t.plain %t.tp1
// RUN: diff %t.plain %t.ones
// RUN: FileCheck %s --check-prefix=ONE < %t.tp1

// The pass only validates the plan and creates the grid: the grid is the
// first op of the module, the plan (its axes by name, their degrees and the
// micro-batch count) is the module's dist.plan, and nothing in the model is sliced yet (that is
// llm-shard-tensor-parallel's job).

// TP2-LABEL: module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
// TP2-NEXT:    shard.grid @grid(shape = 2){{$}}
// TP2-NEXT:    llm.weight @model.embed_tokens.weight : tensor<256x64xbf16>{{$}}
// TP2:         llm.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>{{$}}
// TP2-NOT:     shard.grid
// TP2-NOT:     shard.all_reduce
// TP2-LABEL: func.func @forward(
// TP2-SAME:      %{{[^:]+}}: tensor<?x?xi64>, %{{[^:]+}}: tensor<?x?xi64>, %{{[^:]+}}: !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>)
// TP2:         llm.attention {{.*}} heads 8 kv_heads 4 head_dim 8
// TP2-NOT:     shard.

// Outermost axis first: pp, then tp (tp innermost so its ranks are NVLink
// neighbours). The micro-batch count comes from the option.
// TP4PP2-LABEL: module attributes {dist.plan = #dist.plan<axes = ["pp", "tp"], shape = [2, 4], microbatches = 4>} {
// TP4PP2-NEXT:    shard.grid @grid(shape = 2x4){{$}}
// TP4PP2-NOT:     dist.stage

// The spec is written pp2,dp2,tp2; the grid is in dp, pp, ep, sp, tp order
// (all five axes: create-grid-all-axes.mlir).
// ORDER-LABEL: module attributes {dist.plan = #dist.plan<axes = ["dp", "pp", "tp"], shape = [2, 2, 2], microbatches = 1>} {
// ORDER-NEXT:    shard.grid @grid(shape = 2x2x2){{$}}

// Degree-1 axes are left out of the grid.
// DEG1-LABEL: module attributes {dist.plan = #dist.plan<axes = ["dp"], shape = [4], microbatches = 1>} {
// DEG1-NEXT:    shard.grid @grid(shape = 4){{$}}

// --gpus above the plan's product is allowed; the grid is the plan's.
// SPARE-LABEL: module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
// SPARE-NEXT:    shard.grid @grid(shape = 2){{$}}

// ONE-LABEL: module {
// ONE-NOT:     shard.grid
// ONE-NOT:     dist.

!cache = !llm.kv_cache<layers = 2, kv_heads = 4, head_dim = 8, bf16>
module {
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
  func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>, %cache: !cache) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %emb = llm.param @model.embed_tokens.weight : tensor<256x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
    %h0 = llm.decoder_layer 0 (%h, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %wn1 = llm.param @model.layers.0.input_layernorm.weight : tensor<64xbf16>
      %n1 = llm.rms_norm %x, %wn1 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %wq = llm.param @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
      %q = llm.linear %n1, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %wk = llm.param @model.layers.0.self_attn.k_proj.weight : tensor<32x64xbf16>
      %k = llm.linear %n1, %wk : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %wv = llm.param @model.layers.0.self_attn.v_proj.weight : tensor<32x64xbf16>
      %v = llm.linear %n1, %wv : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %qr = llm.rope %q, %p head_dim 8 <theta = 5.000000e+05> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
      %kr = llm.rope %k, %p head_dim 8 <theta = 5.000000e+05> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %a = llm.attention %qr, %kr, %v, %p cache(%c : !cache) [0] heads 8 kv_heads 4 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x32xbf16>, tensor<?x?x32xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
      %wo = llm.param @model.layers.0.self_attn.o_proj.weight : tensor<64x64xbf16>
      %o = llm.linear %a, %wo : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %r1 = llm.add %x, %o : tensor<?x?x64xbf16>
      %wn2 = llm.param @model.layers.0.post_attention_layernorm.weight : tensor<64xbf16>
      %n2 = llm.rms_norm %r1, %wn2 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %wg = llm.param @model.layers.0.mlp.gate_proj.weight : tensor<128x64xbf16>
      %g = llm.linear %n2, %wg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %wu = llm.param @model.layers.0.mlp.up_proj.weight : tensor<128x64xbf16>
      %u = llm.linear %n2, %wu : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %s = llm.swiglu %g, %u : tensor<?x?x128xbf16>
      %wd = llm.param @model.layers.0.mlp.down_proj.weight : tensor<64x128xbf16>
      %d = llm.linear %s, %wd : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
      %r2 = llm.add %r1, %d : tensor<?x?x64xbf16>
      llm.yield %r2 : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %wn1 = llm.param @model.layers.1.input_layernorm.weight : tensor<64xbf16>
      %n1 = llm.rms_norm %x, %wn1 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %wq = llm.param @model.layers.1.self_attn.q_proj.weight : tensor<64x64xbf16>
      %q = llm.linear %n1, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %wk = llm.param @model.layers.1.self_attn.k_proj.weight : tensor<32x64xbf16>
      %k = llm.linear %n1, %wk : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %wv = llm.param @model.layers.1.self_attn.v_proj.weight : tensor<32x64xbf16>
      %v = llm.linear %n1, %wv : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %qr = llm.rope %q, %p head_dim 8 <theta = 5.000000e+05> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
      %kr = llm.rope %k, %p head_dim 8 <theta = 5.000000e+05> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %a = llm.attention %qr, %kr, %v, %p cache(%c : !cache) [1] heads 8 kv_heads 4 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x32xbf16>, tensor<?x?x32xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
      %wo = llm.param @model.layers.1.self_attn.o_proj.weight : tensor<64x64xbf16>
      %o = llm.linear %a, %wo : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %r1 = llm.add %x, %o : tensor<?x?x64xbf16>
      %wn2 = llm.param @model.layers.1.post_attention_layernorm.weight : tensor<64xbf16>
      %n2 = llm.rms_norm %r1, %wn2 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %wg = llm.param @model.layers.1.mlp.gate_proj.weight : tensor<128x64xbf16>
      %g = llm.linear %n2, %wg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %wu = llm.param @model.layers.1.mlp.up_proj.weight : tensor<128x64xbf16>
      %u = llm.linear %n2, %wu : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %s = llm.swiglu %g, %u : tensor<?x?x128xbf16>
      %wd = llm.param @model.layers.1.mlp.down_proj.weight : tensor<64x128xbf16>
      %d = llm.linear %s, %wd : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
      %r2 = llm.add %r1, %d : tensor<?x?x64xbf16>
      llm.yield %r2 : tensor<?x?x64xbf16>
    }
    %last = llm.last_token %h1 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %wnf = llm.param @model.norm.weight : tensor<64xbf16>
    %nf = llm.rms_norm %last, %wnf eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %whead = llm.param @lm_head.weight : tensor<256x64xbf16>
    %logits = llm.lm_head %nf, %whead : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
    %next = llm.argmax %logits : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %logits, %next : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}
