// RUN: llm-opt %s -split-input-file --llm-shard-tensor-parallel | FileCheck %s

// Megatron tensor parallelism on hand-written modules that already carry a
// grid (llm-shard-create-grid's output): column-parallel q/k/v and gate/up,
// row-parallel o_proj/down_proj each followed by one shard.all_reduce,
// vocab-parallel embedding and lm_head, replicated norms. Imported models
// are in tensor-parallel-models.test.

// One dense layer, GQA 8 heads / 4 kv heads / head_dim 8, MLP width 128,
// vocab 256, tp2. Rank c loads rows (dim 0) or columns (dim 1)
// [offsets[c], offsets[c] + size) of the full tensor.
// CHECK-LABEL: module @dense attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
// CHECK-NEXT:    shard.grid @grid(shape = 2){{$}}
// CHECK-NEXT:    llm.weight @embed : tensor<128x64xbf16> slice <dim = 0, size = 128, axis = "tp", offsets = [0, 128], full = [256, 64]>{{$}}
// CHECK-NEXT:    llm.weight @attn_norm : tensor<64xbf16>{{$}}
// CHECK-NEXT:    llm.weight @q : tensor<32x64xbf16> slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>{{$}}
// CHECK-NEXT:    llm.weight @k : tensor<16x64xbf16> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>{{$}}
// CHECK-NEXT:    llm.weight @v : tensor<16x64xbf16> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>{{$}}
// CHECK-NEXT:    llm.weight @o : tensor<64x32xbf16> slice <dim = 1, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>{{$}}
// CHECK-NEXT:    llm.weight @mlp_norm : tensor<64xbf16>{{$}}
// CHECK-NEXT:    llm.weight @gate : tensor<64x64xbf16> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 64]>{{$}}
// CHECK-NEXT:    llm.weight @up : tensor<64x64xbf16> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 64]>{{$}}
// CHECK-NEXT:    llm.weight @down : tensor<64x64xbf16> slice <dim = 1, size = 64, axis = "tp", offsets = [0, 64], full = [64, 128]>{{$}}
// CHECK-NEXT:    llm.weight @final_norm : tensor<64xbf16>{{$}}
// CHECK-NEXT:    llm.weight @head : tensor<128x64xbf16> slice <dim = 0, size = 128, axis = "tp", offsets = [0, 128], full = [256, 64]>{{$}}
// The cache holds the rank's 2 kv heads, in the signature and the layer.
// CHECK-NEXT:    func.func @forward(
// CHECK-SAME:        %[[IDS:[^:]+]]: tensor<?x?xi64>, %[[POS:[^:]+]]: tensor<?x?xi64>, %[[CACHE:[^:]+]]: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>)
// CHECK-SAME:        -> (tensor<?x1x256xbf16>, tensor<?x1xi64>)
// Vocab-parallel embedding: a masked lookup into the local rows, summed.
// CHECK-NEXT:      %[[EMB:.+]] = llm.param @embed : tensor<128x64xbf16>
// CHECK-NEXT:      %[[H:.+]] = llm.embedding %[[IDS]], %[[EMB]] vocab_parallel : (tensor<?x?xi64>, tensor<128x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:      %[[HR:.+]] = shard.all_reduce %[[H]] on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
// CHECK-NEXT:      %[[L0:.+]] = llm.decoder_layer 0 (%[[HR]], %[[POS]], %[[CACHE]]) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
// CHECK-NEXT:      ^bb0(%[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[P:[^:]+]]: tensor<?x?xi64>, %[[C:[^:]+]]: !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>):
// CHECK-NEXT:        %[[WN1:.+]] = llm.param @attn_norm : tensor<64xbf16>
// CHECK-NEXT:        %[[N1:.+]] = llm.rms_norm %[[X]], %[[WN1]] {{.*}} -> tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[WQ:.+]] = llm.param @q : tensor<32x64xbf16>
// CHECK-NEXT:        %[[Q:.+]] = llm.linear %[[N1]], %[[WQ]] : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
// CHECK-NEXT:        %[[WK:.+]] = llm.param @k : tensor<16x64xbf16>
// CHECK-NEXT:        %[[K:.+]] = llm.linear %[[N1]], %[[WK]] : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
// CHECK-NEXT:        %[[WV:.+]] = llm.param @v : tensor<16x64xbf16>
// CHECK-NEXT:        %[[V:.+]] = llm.linear %[[N1]], %[[WV]] : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
// CHECK-NEXT:        %[[QR:.+]] = llm.rope %[[Q]], %[[P]] head_dim 8 {{.*}} : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
// CHECK-NEXT:        %[[KR:.+]] = llm.rope %[[K]], %[[P]] head_dim 8 {{.*}} : (tensor<?x?x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x16xbf16>
// CHECK-NEXT:        %[[A:.+]] = llm.attention %[[QR]], %[[KR]], %[[V]], %[[P]] cache(%[[C]] : !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 8, bf16>) [0] heads 4 kv_heads 2 head_dim 8 causal : tensor<?x?x32xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x32xbf16>
// Row-parallel o_proj: a partial sum, all-reduced right away.
// CHECK-NEXT:        %[[WO:.+]] = llm.param @o : tensor<64x32xbf16>
// CHECK-NEXT:        %[[O:.+]] = llm.linear %[[A]], %[[WO]] : (tensor<?x?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[OR:.+]] = shard.all_reduce %[[O]] on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[R1:.+]] = llm.add %[[X]], %[[OR]] : tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[WN2:.+]] = llm.param @mlp_norm : tensor<64xbf16>
// CHECK-NEXT:        %[[N2:.+]] = llm.rms_norm %[[R1]], %[[WN2]] {{.*}} -> tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[WG:.+]] = llm.param @gate : tensor<64x64xbf16>
// CHECK-NEXT:        %[[G:.+]] = llm.linear %[[N2]], %[[WG]] : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[WU:.+]] = llm.param @up : tensor<64x64xbf16>
// CHECK-NEXT:        %[[U:.+]] = llm.linear %[[N2]], %[[WU]] : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[S:.+]] = llm.swiglu %[[G]], %[[U]] : tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[WD:.+]] = llm.param @down : tensor<64x64xbf16>
// CHECK-NEXT:        %[[D:.+]] = llm.linear %[[S]], %[[WD]] : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[DR:.+]] = shard.all_reduce %[[D]] on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
// CHECK-NEXT:        %[[R2:.+]] = llm.add %[[R1]], %[[DR]] : tensor<?x?x64xbf16>
// CHECK-NEXT:        llm.yield %[[R2]] : tensor<?x?x64xbf16>
// CHECK-NEXT:      }
// Replicated final norm; vocab-parallel lm_head gathers the logits on the
// vocab dim (2) before argmax.
// CHECK-NEXT:      %[[LAST:.+]] = llm.last_token %[[L0]] : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
// CHECK-NEXT:      %[[WNF:.+]] = llm.param @final_norm : tensor<64xbf16>
// CHECK-NEXT:      %[[NF:.+]] = llm.rms_norm %[[LAST]], %[[WNF]] {{.*}} -> tensor<?x1x64xbf16>
// CHECK-NEXT:      %[[WH:.+]] = llm.param @head : tensor<128x64xbf16>
// CHECK-NEXT:      %[[LOCAL:.+]] = llm.lm_head %[[NF]], %[[WH]] vocab_parallel : (tensor<?x1x64xbf16>, tensor<128x64xbf16>) -> tensor<?x1x128xbf16>
// CHECK-NEXT:      %[[LOGITS:.+]] = shard.all_gather %[[LOCAL]] on @grid grid_axes = [0] gather_axis = 2 : tensor<?x1x128xbf16> -> tensor<?x1x256xbf16>
// CHECK-NEXT:      %[[NEXT:.+]] = llm.argmax %[[LOGITS]] : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
// CHECK-NEXT:      return %[[LOGITS]], %[[NEXT]] : tensor<?x1x256xbf16>, tensor<?x1xi64>

!cache = !llm.kv_cache<layers = 1, kv_heads = 4, head_dim = 8, bf16>
module @dense attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @embed : tensor<256x64xbf16>
  llm.weight @attn_norm : tensor<64xbf16>
  llm.weight @q : tensor<64x64xbf16>
  llm.weight @k : tensor<32x64xbf16>
  llm.weight @v : tensor<32x64xbf16>
  llm.weight @o : tensor<64x64xbf16>
  llm.weight @mlp_norm : tensor<64xbf16>
  llm.weight @gate : tensor<128x64xbf16>
  llm.weight @up : tensor<128x64xbf16>
  llm.weight @down : tensor<64x128xbf16>
  llm.weight @final_norm : tensor<64xbf16>
  llm.weight @head : tensor<256x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>, %cache: !cache) -> (tensor<?x1x256xbf16>, tensor<?x1xi64>) {
    %emb = llm.param @embed : tensor<256x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
    %h0 = llm.decoder_layer 0 (%h, %pos, %cache) : (tensor<?x?x64xbf16>, tensor<?x?xi64>, !cache) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>, %c: !cache):
      %wn1 = llm.param @attn_norm : tensor<64xbf16>
      %n1 = llm.rms_norm %x, %wn1 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %wq = llm.param @q : tensor<64x64xbf16>
      %q = llm.linear %n1, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %wk = llm.param @k : tensor<32x64xbf16>
      %k = llm.linear %n1, %wk : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %wv = llm.param @v : tensor<32x64xbf16>
      %v = llm.linear %n1, %wv : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
      %qr = llm.rope %q, %p head_dim 8 <theta = 5.000000e+05> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
      %kr = llm.rope %k, %p head_dim 8 <theta = 5.000000e+05> : (tensor<?x?x32xbf16>, tensor<?x?xi64>) -> tensor<?x?x32xbf16>
      %a = llm.attention %qr, %kr, %v, %p cache(%c : !cache) [0] heads 8 kv_heads 4 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x32xbf16>, tensor<?x?x32xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
      %wo = llm.param @o : tensor<64x64xbf16>
      %o = llm.linear %a, %wo : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
      %r1 = llm.add %x, %o : tensor<?x?x64xbf16>
      %wn2 = llm.param @mlp_norm : tensor<64xbf16>
      %n2 = llm.rms_norm %r1, %wn2 eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
      %wg = llm.param @gate : tensor<128x64xbf16>
      %g = llm.linear %n2, %wg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %wu = llm.param @up : tensor<128x64xbf16>
      %u = llm.linear %n2, %wu : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %s = llm.swiglu %g, %u : tensor<?x?x128xbf16>
      %wd = llm.param @down : tensor<64x128xbf16>
      %d = llm.linear %s, %wd : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
      %r2 = llm.add %r1, %d : tensor<?x?x64xbf16>
      llm.yield %r2 : tensor<?x?x64xbf16>
    }
    %last = llm.last_token %h0 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %wnf = llm.param @final_norm : tensor<64xbf16>
    %nf = llm.rms_norm %last, %wnf eps 1.000000e-05 : (tensor<?x1x64xbf16>, tensor<64xbf16>) -> tensor<?x1x64xbf16>
    %whead = llm.param @head : tensor<256x64xbf16>
    %logits = llm.lm_head %nf, %whead : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
    %next = llm.argmax %logits : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
    return %logits, %next : tensor<?x1x256xbf16>, tensor<?x1xi64>
  }
}
// -----

// A vocabulary tp does not divide (255 over tp2): embedding and lm_head stay
// replicated (no slice, no vocab_parallel, no all-reduce after the lookup, no
// all-gather after the head); the MLP is still split.
// CHECK-LABEL: module @odd_vocab attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
// CHECK:         llm.weight @embed : tensor<255x64xbf16>{{$}}
// CHECK-NEXT:    llm.weight @gate : tensor<64x64xbf16> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 64]>{{$}}
// CHECK-NEXT:    llm.weight @up : tensor<64x64xbf16> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64], full = [128, 64]>{{$}}
// CHECK-NEXT:    llm.weight @down : tensor<64x64xbf16> slice <dim = 1, size = 64, axis = "tp", offsets = [0, 64], full = [64, 128]>{{$}}
// CHECK-NEXT:    llm.weight @head : tensor<255x64xbf16>{{$}}
// CHECK:         %[[H:.+]] = llm.embedding %{{[^,]+}}, %{{[^ ]+}} : (tensor<?x?xi64>, tensor<255x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    llm.decoder_layer 0 (%[[H]])
// CHECK:         %[[SW:.+]] = llm.swiglu
// CHECK-NEXT:    %[[WD:.+]] = llm.param @down
// CHECK-NEXT:    %[[D:.+]] = llm.linear %[[SW]], %[[WD]] : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[DR:.+]] = shard.all_reduce %[[D]] on @grid grid_axes = [0]
// CHECK-NEXT:    llm.add %{{[^,]+}}, %[[DR]]
// CHECK:         %[[LOGITS:.+]] = llm.lm_head %{{[^,]+}}, %{{[^ ]+}} : (tensor<?x1x64xbf16>, tensor<255x64xbf16>) -> tensor<?x1x255xbf16>
// CHECK-NEXT:    return %[[LOGITS]] : tensor<?x1x255xbf16>

module @odd_vocab attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @embed : tensor<255x64xbf16>
  llm.weight @gate : tensor<128x64xbf16>
  llm.weight @up : tensor<128x64xbf16>
  llm.weight @down : tensor<64x128xbf16>
  llm.weight @head : tensor<255x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>) -> tensor<?x1x255xbf16> {
    %emb = llm.param @embed : tensor<255x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<255x64xbf16>) -> tensor<?x?x64xbf16>
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      %wg = llm.param @gate : tensor<128x64xbf16>
      %g = llm.linear %x, %wg : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %wu = llm.param @up : tensor<128x64xbf16>
      %u = llm.linear %x, %wu : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xbf16>
      %s = llm.swiglu %g, %u : tensor<?x?x128xbf16>
      %wd = llm.param @down : tensor<64x128xbf16>
      %d = llm.linear %s, %wd : (tensor<?x?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x?x64xbf16>
      %r = llm.add %x, %d : tensor<?x?x64xbf16>
      llm.yield %r : tensor<?x?x64xbf16>
    }
    %last = llm.last_token %h0 : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %whead = llm.param @head : tensor<255x64xbf16>
    %logits = llm.lm_head %last, %whead : (tensor<?x1x64xbf16>, tensor<255x64xbf16>) -> tensor<?x1x255xbf16>
    return %logits : tensor<?x1x255xbf16>
  }
}
// -----

// Tied embeddings: one weight read by two llm.param ops gets one slice, and
// both the embedding and the lm_head use it vocab-parallel (tp4).
// CHECK-LABEL: module @tied attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [4], microbatches = 1>} {
// CHECK-NEXT:    shard.grid @grid(shape = 4){{$}}
// CHECK-NEXT:    llm.weight @embed : tensor<64x64xbf16> slice <dim = 0, size = 64, axis = "tp", offsets = [0, 64, 128, 192], full = [256, 64]>{{$}}
// CHECK-NEXT:    func.func @forward(
// CHECK-NEXT:      %[[E1:.+]] = llm.param @embed : tensor<64x64xbf16>
// CHECK-NEXT:      %[[H:.+]] = llm.embedding %{{[^,]+}}, %[[E1]] vocab_parallel : (tensor<?x?xi64>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:      %[[HR:.+]] = shard.all_reduce %[[H]] on @grid grid_axes = [0]
// CHECK-NEXT:      %[[LAST:.+]] = llm.last_token %[[HR]]
// CHECK-NEXT:      %[[E2:.+]] = llm.param @embed : tensor<64x64xbf16>
// CHECK-NEXT:      %[[LOCAL:.+]] = llm.lm_head %[[LAST]], %[[E2]] tied vocab_parallel : (tensor<?x1x64xbf16>, tensor<64x64xbf16>) -> tensor<?x1x64xbf16>
// CHECK-NEXT:      %[[LOGITS:.+]] = shard.all_gather %[[LOCAL]] on @grid grid_axes = [0] gather_axis = 2 : tensor<?x1x64xbf16> -> tensor<?x1x256xbf16>
// CHECK-NEXT:      return %[[LOGITS]]

module @tied attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [4], microbatches = 1>} {
  shard.grid @grid(shape = 4)
  llm.weight @embed : tensor<256x64xbf16>
  func.func @forward(%ids: tensor<?x?xi64>) -> tensor<?x1x256xbf16> {
    %emb = llm.param @embed : tensor<256x64xbf16>
    %h = llm.embedding %ids, %emb : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
    %last = llm.last_token %h : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    %whead = llm.param @embed : tensor<256x64xbf16>
    %logits = llm.lm_head %last, %whead tied : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
    return %logits : tensor<?x1x256xbf16>
  }
}
// -----

// Qwen2-style q/k/v biases are sliced with their weights. tp4 > 2 kv heads:
// kv heads are replicated, rank c keeps kv head c / (4 / 2) (offsets
// [0, 0, 8, 8] for head_dim 8) and its 2 query heads 2c, 2c+1 all use that
// kv head (group size 8 / 2 = 4). tp is the grid's second axis here, so the
// collectives name grid axis 1.
// CHECK-LABEL: module @qkv_bias attributes {dist.plan = #dist.plan<axes = ["pp", "tp"], shape = [2, 4], microbatches = 1>} {
// CHECK-NEXT:    shard.grid @grid(shape = 2x4){{$}}
// CHECK-NEXT:    llm.weight @q : tensor<16x64xbf16> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16, 32, 48], full = [64, 64]>{{$}}
// CHECK-NEXT:    llm.weight @q_bias : tensor<16xbf16> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16, 32, 48], full = [64]>{{$}}
// CHECK-NEXT:    llm.weight @k : tensor<8x64xbf16> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 0, 8, 8], full = [16, 64]>{{$}}
// CHECK-NEXT:    llm.weight @k_bias : tensor<8xbf16> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 0, 8, 8], full = [16]>{{$}}
// CHECK-NEXT:    llm.weight @v : tensor<8x64xbf16> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 0, 8, 8], full = [16, 64]>{{$}}
// CHECK-NEXT:    llm.weight @v_bias : tensor<8xbf16> slice <dim = 0, size = 8, axis = "tp", offsets = [0, 0, 8, 8], full = [16]>{{$}}
// CHECK-NEXT:    llm.weight @o : tensor<64x16xbf16> slice <dim = 1, size = 16, axis = "tp", offsets = [0, 16, 32, 48], full = [64, 64]>{{$}}
// CHECK:         llm.linear %{{[^,]+}}, %{{[^ ]+}} bias %{{[^ ]+}} : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
// CHECK:         llm.linear %{{[^,]+}}, %{{[^ ]+}} bias %{{[^ ]+}} : (tensor<?x?x64xbf16>, tensor<8x64xbf16>, tensor<8xbf16>) -> tensor<?x?x8xbf16>
// CHECK:         llm.linear %{{[^,]+}}, %{{[^ ]+}} bias %{{[^ ]+}} : (tensor<?x?x64xbf16>, tensor<8x64xbf16>, tensor<8xbf16>) -> tensor<?x?x8xbf16>
// CHECK-NEXT:    %[[A:.+]] = llm.attention {{.*}} heads 2 kv_heads 1 head_dim 8 causal : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
// CHECK-NEXT:    %[[WO:.+]] = llm.param @o
// CHECK-NEXT:    %[[O:.+]] = llm.linear %[[A]], %[[WO]] : (tensor<?x?x16xbf16>, tensor<64x16xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    shard.all_reduce %[[O]] on @grid grid_axes = [1] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>

module @qkv_bias attributes {dist.plan = #dist.plan<axes = ["pp", "tp"], shape = [2, 4], microbatches = 1>} {
  shard.grid @grid(shape = 2x4)
  llm.weight @q : tensor<64x64xbf16>
  llm.weight @q_bias : tensor<64xbf16>
  llm.weight @k : tensor<16x64xbf16>
  llm.weight @k_bias : tensor<16xbf16>
  llm.weight @v : tensor<16x64xbf16>
  llm.weight @v_bias : tensor<16xbf16>
  llm.weight @o : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
    %wq = llm.param @q : tensor<64x64xbf16>
    %bq = llm.param @q_bias : tensor<64xbf16>
    %q = llm.linear %x, %wq bias %bq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
    %wk = llm.param @k : tensor<16x64xbf16>
    %bk = llm.param @k_bias : tensor<16xbf16>
    %k = llm.linear %x, %wk bias %bk : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
    %wv = llm.param @v : tensor<16x64xbf16>
    %bv = llm.param @v_bias : tensor<16xbf16>
    %v = llm.linear %x, %wv bias %bv : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
    %a = llm.attention %q, %k, %v, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    %wo = llm.param @o : tensor<64x64xbf16>
    %o = llm.linear %a, %wo : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %r = llm.add %x, %o : tensor<?x?x64xbf16>
    return %r : tensor<?x?x64xbf16>
  }
}
// -----

// Routed experts and the shared expert split their intermediate width (gate
// and up on dim 0, down on dim 1); the router stays replicated, and the two
// partial sums are added before ONE all-reduce.
// CHECK-LABEL: module @moe attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
// CHECK:         llm.weight @router : tensor<2x64xbf16>{{$}}
// CHECK-NEXT:    llm.weight @e0.gate : tensor<16x64xbf16> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>{{$}}
// CHECK-NEXT:    llm.weight @e0.up : tensor<16x64xbf16> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>{{$}}
// CHECK-NEXT:    llm.weight @e0.down : tensor<64x16xbf16> slice <dim = 1, size = 16, axis = "tp", offsets = [0, 16], full = [64, 32]>{{$}}
// CHECK-NEXT:    llm.weight @e1.gate : tensor<16x64xbf16> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>{{$}}
// CHECK-NEXT:    llm.weight @e1.up : tensor<16x64xbf16> slice <dim = 0, size = 16, axis = "tp", offsets = [0, 16], full = [32, 64]>{{$}}
// CHECK-NEXT:    llm.weight @e1.down : tensor<64x16xbf16> slice <dim = 1, size = 16, axis = "tp", offsets = [0, 16], full = [64, 32]>{{$}}
// CHECK-NEXT:    llm.weight @shared.gate : tensor<32x64xbf16> slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>{{$}}
// CHECK-NEXT:    llm.weight @shared.up : tensor<32x64xbf16> slice <dim = 0, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>{{$}}
// CHECK-NEXT:    llm.weight @shared.down : tensor<64x32xbf16> slice <dim = 1, size = 32, axis = "tp", offsets = [0, 32], full = [64, 64]>{{$}}
// CHECK-NEXT:    llm.weight @shared.expert_gate : tensor<1x64xbf16>{{$}}
// CHECK:         func.func @forward(%[[X:[^:]+]]: tensor<?x?x64xbf16>)
// CHECK-NOT:     shard.all_reduce
// CHECK:         %[[W:[^,]+]], %[[I:[^ ]+]] = llm.moe_router %[[X]], %{{[^ ]+}} experts 2 top_k 1 : (tensor<?x?x64xbf16>, tensor<2x64xbf16>)
// CHECK-NOT:     shard.all_reduce
// CHECK:         %[[E:.+]] = llm.experts %[[X]], %[[W]], %[[I]] experts 2 {{.*}} gate(tensor<16x64xbf16>, tensor<16x64xbf16>) up(tensor<16x64xbf16>, tensor<16x64xbf16>) down(tensor<64x16xbf16>, tensor<64x16xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NOT:     shard.all_reduce
// CHECK:         %[[S:.+]] = llm.shared_expert %[[X]], {{.*}} : (tensor<?x?x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<64x32xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[M:.+]] = llm.add %[[E]], %[[S]] : tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[MR:.+]] = shard.all_reduce %[[M]] on @grid grid_axes = [0] : tensor<?x?x64xbf16> -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[R:.+]] = llm.add %[[X]], %[[MR]] : tensor<?x?x64xbf16>
// CHECK-NEXT:    return %[[R]]

module @moe attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @router : tensor<2x64xbf16>
  llm.weight @e0.gate : tensor<32x64xbf16>
  llm.weight @e0.up : tensor<32x64xbf16>
  llm.weight @e0.down : tensor<64x32xbf16>
  llm.weight @e1.gate : tensor<32x64xbf16>
  llm.weight @e1.up : tensor<32x64xbf16>
  llm.weight @e1.down : tensor<64x32xbf16>
  llm.weight @shared.gate : tensor<64x64xbf16>
  llm.weight @shared.up : tensor<64x64xbf16>
  llm.weight @shared.down : tensor<64x64xbf16>
  llm.weight @shared.expert_gate : tensor<1x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %wr = llm.param @router : tensor<2x64xbf16>
    %w, %i = llm.moe_router %x, %wr experts 2 top_k 1 : (tensor<?x?x64xbf16>, tensor<2x64xbf16>) -> (tensor<?x?x1xf32>, tensor<?x?x1xi64>)
    %g0 = llm.param @e0.gate : tensor<32x64xbf16>
    %u0 = llm.param @e0.up : tensor<32x64xbf16>
    %d0 = llm.param @e0.down : tensor<64x32xbf16>
    %g1 = llm.param @e1.gate : tensor<32x64xbf16>
    %u1 = llm.param @e1.up : tensor<32x64xbf16>
    %d1 = llm.param @e1.down : tensor<64x32xbf16>
    %e = llm.experts %x, %w, %i experts 2 gate(%g0, %g1) up(%u0, %u1) down(%d0, %d1) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
    %sg = llm.param @shared.gate : tensor<64x64xbf16>
    %su = llm.param @shared.up : tensor<64x64xbf16>
    %sd = llm.param @shared.down : tensor<64x64xbf16>
    %seg = llm.param @shared.expert_gate : tensor<1x64xbf16>
    %s = llm.shared_expert %x, %sg, %su, %sd, %seg : (tensor<?x?x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
    %m = llm.add %e, %s : tensor<?x?x64xbf16>
    %r = llm.add %x, %m : tensor<?x?x64xbf16>
    return %r : tensor<?x?x64xbf16>
  }
}
// -----

// A grid without a tp axis: nothing to do.
// CHECK-LABEL: module @no_tp attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
// CHECK-NEXT:    shard.grid @grid(shape = 2){{$}}
// CHECK-NEXT:    llm.weight @q : tensor<64x64xbf16>{{$}}
// CHECK:         llm.linear %{{[^,]+}}, %{{[^ ]+}} : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NOT:     shard.

module @no_tp attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @q : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %wq = llm.param @q : tensor<64x64xbf16>
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    return %q : tensor<?x?x64xbf16>
  }
}
