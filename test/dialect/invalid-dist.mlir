// RUN: llm-opt %s -split-input-file -verify-diagnostics

// One case per verifier rule of the dist dialect and of the expert-parallel
// attributes of llm.experts.

func.func @microbatches(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  // expected-error@+1 {{microbatches must be >= 1, got 0}}
  %r = dist.pipeline microbatches 0 (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x8xbf16>):
    dist.yield %y : tensor<?x8xbf16>
  }
  return %r : tensor<?x8xbf16>
}

// -----

func.func @pipeline_yield(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  // expected-error@+1 {{pipeline yields 0 values whose types do not match its 1 results}}
  %r = dist.pipeline microbatches 1 (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x8xbf16>):
    dist.yield
  }
  return %r : tensor<?x8xbf16>
}

// -----

func.func @stage_args(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  // expected-error@+1 {{stage body argument 0 has type 'tensor<?x4xbf16>' but input has type 'tensor<?x8xbf16>'}}
  %r = dist.stage 0 layers [0, 1) (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x4xbf16>):
    dist.yield %x : tensor<?x8xbf16>
  }
  return %r : tensor<?x8xbf16>
}

// -----

func.func @stage_range(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  // expected-error@+1 {{layers [4, 2) must be a range with 0 <= first <= end}}
  %r = dist.stage 0 layers [4, 2) (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x8xbf16>):
    dist.yield %y : tensor<?x8xbf16>
  }
  return %r : tensor<?x8xbf16>
}

// -----

func.func @stage_index(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  // expected-error@+1 {{stage index must be >= 0, got -1}}
  %r = dist.stage -1 layers [0, 1) (%x) : (tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  ^bb0(%y: tensor<?x8xbf16>):
    dist.yield %y : tensor<?x8xbf16>
  }
  return %r : tensor<?x8xbf16>
}

// -----

module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @self_transfer(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
    // expected-error@+1 {{transfers from stage 1 to itself}}
    %t = dist.transfer %x on @grid axis 0 from 1 to 1 : tensor<?x8xbf16>
    return %t : tensor<?x8xbf16>
  }
}

// -----

module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @transfer_range(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
    // expected-error@+1 {{stages 0 -> 2 exceed the 2 coordinates of axis 0}}
    %t = dist.transfer %x on @grid axis 0 from 0 to 2 : tensor<?x8xbf16>
    return %t : tensor<?x8xbf16>
  }
}

// -----

module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @transfer_axis(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
    // expected-error@+1 {{axis 1 is outside grid 'grid' of rank 1}}
    %t = dist.transfer %x on @grid axis 1 from 0 to 1 : tensor<?x8xbf16>
    return %t : tensor<?x8xbf16>
  }
}

// -----

func.func @transfer_grid(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  // expected-error@+1 {{'nogrid' does not name a shard.grid}}
  %t = dist.transfer %x on @nogrid axis 0 from 0 to 1 : tensor<?x8xbf16>
  return %t : tensor<?x8xbf16>
}

// -----

module attributes {dist.plan = #dist.plan<axes = ["ep"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @dispatch_owner(%x: tensor<?x?x8xbf16>, %w: tensor<?x?x1xf32>, %i: tensor<?x?x1xi64>) {
    // expected-error@+1 {{owner 2 of expert 1 is outside the 2 coordinates of axis 0}}
    %t, %tw, %ti, %r = dist.expert_dispatch %x, %w, %i on @grid axis 0 owners [0, 2] : (tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>) -> (tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
    return
  }
}

// -----

func.func @dispatch_negative_owner(%x: tensor<?x?x8xbf16>, %w: tensor<?x?x1xf32>, %i: tensor<?x?x1xi64>) {
  // expected-error@+1 {{owner of expert 0 must be >= 0, got -1}}
  %t, %tw, %ti, %r = dist.expert_dispatch %x, %w, %i on @grid axis 0 owners [-1, 0] : (tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>) -> (tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
  return
}

// -----

func.func @dispatch_rank(%x: tensor<?x8xbf16>, %w: tensor<?x?x1xf32>, %i: tensor<?x?x1xi64>) {
  // expected-error@+1 {{input must have rank 3, got 'tensor<?x8xbf16>'}}
  %t, %tw, %ti, %r = dist.expert_dispatch %x, %w, %i on @grid axis 0 owners [0, 0] : (tensor<?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>) -> (tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64>, tensor<?x3xi64>)
  return
}

// -----

func.func @combine_type(%e: tensor<1x?x8xbf16>, %r: tensor<?x3xi64>, %x: tensor<?x?x8xbf16>) {
  // expected-error@+1 {{result type 'tensor<?x?x4xbf16>' must equal the dispatched input's type 'tensor<?x?x8xbf16>'}}
  %y = dist.expert_combine %e, %r, %x on @grid axis 0 : (tensor<1x?x8xbf16>, tensor<?x3xi64>, tensor<?x?x8xbf16>) -> tensor<?x?x4xbf16>
  return
}

// -----

module attributes {dist.plan = #dist.plan<axes = ["sp"], shape = [4], microbatches = 1>} {
  shard.grid @grid(shape = 4)
  func.func @ring_steps(%q: tensor<?x?x16xbf16>, %k: tensor<?x?x8xbf16>, %pos: tensor<?x?xi64>) {
    // expected-error@+1 {{a ring over 4 ranks takes 3 steps, not 2}}
    %a = dist.ring_attention %q, %k, %k, %pos heads 4 kv_heads 2 head_dim 4 causal on @grid axis 0 steps 2 : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
    return
  }
}

// -----

func.func @ring_heads(%q: tensor<?x?x16xbf16>, %k: tensor<?x?x8xbf16>, %pos: tensor<?x?xi64>) {
  // expected-error@+1 {{num_heads 4 must be a positive multiple of num_kv_heads 3}}
  %a = dist.ring_attention %q, %k, %k, %pos heads 4 kv_heads 3 head_dim 4 on @grid axis 0 steps 1 : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
  return
}

// -----

func.func @ring_zero_steps(%q: tensor<?x?x16xbf16>, %k: tensor<?x?x8xbf16>, %pos: tensor<?x?xi64>) {
  // expected-error@+1 {{steps must be >= 1, got 0}}
  %a = dist.ring_attention %q, %k, %k, %pos heads 4 kv_heads 2 head_dim 4 on @grid axis 0 steps 0 : tensor<?x?x16xbf16>, tensor<?x?x8xbf16>, tensor<?x?x8xbf16>, tensor<?x?xi64> -> tensor<?x?x16xbf16>
  return
}

// -----

module {
  llm.weight @g : tensor<4x8xbf16>
  llm.weight @d : tensor<8x4xbf16>
  func.func @owners_size(%x: tensor<1x?x8xbf16>, %w: tensor<1x?x1xf32>, %i: tensor<1x?x1xi64>) {
    %g = llm.param @g : tensor<4x8xbf16>
    %d = llm.param @d : tensor<8x4xbf16>
    // expected-error@+1 {{lists 3 owners for 2 experts}}
    %e = llm.experts %x, %w, %i experts 2 owners("ep") [0, 1, 1] gate(%g, %g) up(%g, %g) down(%d, %d) : tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64> gate(tensor<4x8xbf16>, tensor<4x8xbf16>) up(tensor<4x8xbf16>, tensor<4x8xbf16>) down(tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<1x?x8xbf16>
    return
  }
}

// -----

module {
  llm.weight @g : tensor<4x8xbf16>
  llm.weight @d : tensor<8x4xbf16>
  func.func @owner_negative(%x: tensor<1x?x8xbf16>, %w: tensor<1x?x1xf32>, %i: tensor<1x?x1xi64>) {
    %g = llm.param @g : tensor<4x8xbf16>
    %d = llm.param @d : tensor<8x4xbf16>
    // expected-error@+1 {{owner of expert 1 must be >= 0, got -3}}
    %e = llm.experts %x, %w, %i experts 2 owners("ep") [0, -3] gate(%g, %g) up(%g, %g) down(%d, %d) : tensor<1x?x8xbf16>, tensor<1x?x1xf32>, tensor<1x?x1xi64> gate(tensor<4x8xbf16>, tensor<4x8xbf16>) up(tensor<4x8xbf16>, tensor<4x8xbf16>) down(tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<1x?x8xbf16>
    return
  }
}
