// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Verifiers of llm.attention: head counts, q/k/v/positions/result shapes, the
// kv cache operand and slot, the sliding window and the scale.

func.func @heads_zero(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op num_heads must be >= 1, got 0}}
  %0 = llm.attention %q, %k, %v, %p heads 0 kv_heads 2 head_dim 8 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @kv_heads_zero(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op num_kv_heads must be >= 1, got 0}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 0 head_dim 8 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @head_dim_negative(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op head_dim must be >= 1, got -8}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim -8 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @group(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x24xbf16>, %v: tensor<?x?x24xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op num_heads 8 is not a multiple of num_kv_heads 3; each kv head must serve a whole group of query heads}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 3 head_dim 8 : tensor<?x?x64xbf16>, tensor<?x?x24xbf16>, tensor<?x?x24xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @q_rank(%q: tensor<?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op q must have rank 3, got 'tensor<?x64xbf16>'}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @k_rank(%q: tensor<?x?x64xbf16>, %k: tensor<?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op k must have rank 3, got 'tensor<?x16xbf16>'}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @v_rank(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x2x8xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op v must have rank 3, got 'tensor<?x?x2x8xbf16>'}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x2x8xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @result_rank(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x8x8xbf16> {
  // expected-error@+1 {{'llm.attention' op result must have rank 3, got 'tensor<?x?x8x8xbf16>'}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x8x8xbf16>
  return %0 : tensor<?x?x8x8xbf16>
}

// -----

func.func @positions_rank(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op positions must have rank 2, got 'tensor<?xi64>'}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @q_features(%q: tensor<?x?x32xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op q features 32 must equal num_heads (8) x head_dim (8) = 64}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x32xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// Keys are sized by the kv heads, not the query heads.
func.func @k_features(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x64xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op k features 64 must equal num_kv_heads (2) x head_dim (8) = 16}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @v_features(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x8xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op v features 8 must equal num_kv_heads (2) x head_dim (8) = 16}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @result_features(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{'llm.attention' op result features 16 must equal num_heads (8) x head_dim (8) = 64}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
  return %0 : tensor<?x?x16xbf16>
}

// -----

func.func @k_batch(%q: tensor<2x?x64xbf16>, %k: tensor<3x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<2x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op k dim 0 (3) does not match q dim 0 (2)}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<2x?x64xbf16>, tensor<3x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<2x?x64xbf16>
  return %0 : tensor<2x?x64xbf16>
}

// -----

func.func @v_seq(%q: tensor<?x4x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x5x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x4x64xbf16> {
  // expected-error@+1 {{'llm.attention' op v dim 1 (5) does not match q dim 1 (4)}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x4x64xbf16>, tensor<?x?x16xbf16>, tensor<?x5x16xbf16>, tensor<?x?xi64> -> tensor<?x4x64xbf16>
  return %0 : tensor<?x4x64xbf16>
}

// -----

func.func @result_seq(%q: tensor<?x4x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x1x64xbf16> {
  // expected-error@+1 {{'llm.attention' op result dim 1 (1) does not match q dim 1 (4)}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x4x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x1x64xbf16>
  return %0 : tensor<?x1x64xbf16>
}

// -----

func.func @positions_seq(%q: tensor<?x4x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x3xi64>) -> tensor<?x4x64xbf16> {
  // expected-error@+1 {{'llm.attention' op positions dim 1 (3) does not match q dim 1 (4)}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x4x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x3xi64> -> tensor<?x4x64xbf16>
  return %0 : tensor<?x4x64xbf16>
}

// -----

func.func @cache_kv_heads(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 4, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op kv cache holds 4 kv heads but the attention has num_kv_heads 2}}
  %0 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 4, head_dim = 8, bf16>) [0] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @cache_head_dim(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, bf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op kv cache head_dim 16 does not match head_dim 8}}
  %0 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 16, bf16>) [0] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// The slot is the layer's index in the cache: [0, layers).
func.func @cache_slot_high(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op cache slot 4 is outside the 4 layers of the cache}}
  %0 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) [4] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @cache_slot_negative(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op cache slot -1 is outside the 4 layers of the cache}}
  %0 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) [-1] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// A negative window is a known bug (accepted today): see
// invalid-known-bugs-unsigned.mlir.
func.func @window_zero(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op sliding window must be >= 1, got 0}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal window 0 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @scale_zero(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op scale must be > 0, got 0.000000e+00}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal scale 0.0 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @scale_negative(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op scale must be > 0, got -1.250000e-01}}
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal scale -0.125 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// The custom syntax writes cache and slot together; the generic form can give
// one without the other.
func.func @slot_without_cache(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op a kv cache operand and a cache slot must be given together}}
  %0 = "llm.attention"(%q, %k, %k, %p) <{cache_slot = 0 : i64, head_dim = 8 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64}> : (tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @cache_without_slot(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op a kv cache operand and a cache slot must be given together}}
  %0 = "llm.attention"(%q, %k, %k, %p, %c) <{head_dim = 8 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64}> : (tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64>, !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
