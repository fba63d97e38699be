// RUN: llm-opt %s -split-input-file --llm-shard-tensor-parallel -verify-diagnostics

// Graphs llm-shard-tensor-parallel cannot split Megatron-style. llm-import
// never produces them; each diagnostic names the op that breaks the rule.

// A column-parallel projection whose weight is not an llm.param: there is no
// llm.weight to record the slice on. Reported at the weight value (here a
// function argument).
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  // expected-error@+1 {{tensor parallelism expects weights to come from llm.param}}
  func.func @forward(%x: tensor<?x?x64xbf16>, %wq: tensor<64x64xbf16>, %k: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %a = llm.attention %q, %k, %k, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    return %a : tensor<?x?x64xbf16>
  }
}

// -----

// k and v are not projections, so the rank cannot hold only its kv heads.
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @q : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
    %wq = llm.param @q : tensor<64x64xbf16>
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    // expected-error@+1 {{tensor parallelism expects q, k and v of attention to come from column-parallel projections}}
    %a = llm.attention %q, %k, %k, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    return %a : tensor<?x?x64xbf16>
  }
}

// -----

// The attention output (split by heads) goes straight to an op that needs
// the whole hidden state, with no row-parallel projection in between.
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @q : tensor<64x64xbf16>
  llm.weight @kv : tensor<16x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x1x64xbf16> {
    %wq = llm.param @q : tensor<64x64xbf16>
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %wkv = llm.param @kv : tensor<16x64xbf16>
    %kv = llm.linear %x, %wkv : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
    %a = llm.attention %q, %kv, %kv, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    // expected-error@+1 {{'llm.last_token' cannot take a tensor-parallel split operand}}
    %l = llm.last_token %a : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
    return %l : tensor<?x1x64xbf16>
  }
}

// -----

// Adding the head-split attention output to the whole hidden state.
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @q : tensor<64x64xbf16>
  llm.weight @kv : tensor<16x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
    %wq = llm.param @q : tensor<64x64xbf16>
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %wkv = llm.param @kv : tensor<16x64xbf16>
    %kv = llm.linear %x, %wkv : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
    %a = llm.attention %q, %kv, %kv, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    // expected-error@+1 {{'llm.add' cannot take a tensor-parallel split operand with an unsplit one}}
    %r = llm.add %a, %x : tensor<?x?x64xbf16>
    return %r : tensor<?x?x64xbf16>
  }
}

// -----

// swiglu's gate is a column-parallel projection, its up is not.
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @gate : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>, %up: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %w = llm.param @gate : tensor<64x64xbf16>
    %g = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    // expected-error@+1 {{gate and up projections must be split the same way}}
    %s = llm.swiglu %g, %up : tensor<?x?x64xbf16>
    return %s : tensor<?x?x64xbf16>
  }
}

// -----

// One weight used column-parallel (rows) and then row-parallel (columns).
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  llm.weight @w : tensor<64x64xbf16>
  func.func @forward(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    // expected-error@+1 {{weight w would need two different tensor-parallel slices}}
    %w = llm.param @w : tensor<64x64xbf16>
    %g = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    %s = llm.swiglu %g, %g : tensor<?x?x64xbf16>
    %o = llm.linear %s, %w : (tensor<?x?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x?x64xbf16>
    return %o : tensor<?x?x64xbf16>
  }
}

// -----

// A grid but no @forward.
// expected-error@+1 {{expected a func.func @forward to shard}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @main() {
    return
  }
}
