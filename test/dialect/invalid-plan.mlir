// RUN: llm-opt %s -split-input-file -verify-diagnostics

// One case per rule of the #dist.plan attribute (the rules of rt::Grid,
// runtime/plan/Grid.h) and of its place on the module beside shard.grid.

// expected-error@+1 {{invalid #dist.plan: axes[0]: 'xp' is not a grid axis (one of dp, pp, ep, sp, tp)}}
module attributes {dist.plan = #dist.plan<axes = ["xp"], shape = [2], microbatches = 1>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: shape: has 2 degrees but axes names 1 axes}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2, 2], microbatches = 1>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: axes[1]: axis 'tp' is named twice}}
module attributes {dist.plan = #dist.plan<axes = ["tp", "tp"], shape = [2, 2], microbatches = 1>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: axes[1]: 'pp' comes after 'tp'; axes go outermost first: dp, pp, ep, sp, tp}}
module attributes {dist.plan = #dist.plan<axes = ["tp", "pp"], shape = [2, 2], microbatches = 1>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: shape[0]: degree 0 of axis 'tp' must be in [1, 1048576]}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [0], microbatches = 1>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: shape: the grid has more than 1048576 ranks}}
module attributes {dist.plan = #dist.plan<axes = ["dp", "tp"], shape = [2048, 1024], microbatches = 1>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: microbatches: must be >= 1, got 0}}
module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 0>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: batch_axes[0]: 'dp' is not an axis of the grid}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1, batch_axes = ["dp"]>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: batch_axes[1]: axis 'dp' is listed twice}}
module attributes {dist.plan = #dist.plan<axes = ["dp"], shape = [2], microbatches = 1, batch_axes = ["dp", "dp"]>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: batch_axes[0]: the pipeline axis 'pp' cannot split the batch}}
module attributes {dist.plan = #dist.plan<axes = ["pp"], shape = [2], microbatches = 1, batch_axes = ["pp"]>} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: sequence_axis: 'sp' is not an axis of the grid}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1, sequence_axis = "sp">} {
}

// -----

// expected-error@+1 {{invalid #dist.plan: sequence_axis: 'dp' also splits the batch}}
module attributes {dist.plan = #dist.plan<axes = ["dp"], shape = [2], microbatches = 1, batch_axes = ["dp"], sequence_axis = "dp">} {
}

// -----

// expected-error@+1 {{unexpected #dist.plan field 'spec'; after microbatches come, each at most once and in this order, batch_axes and sequence_axis}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1, spec = "tp2">} {
}

// -----

// expected-error@+1 {{'dist.plan' has shape [2, 4] but shard.grid @grid has shape [2, 2]; the plan names one axis per grid dimension}}
module attributes {dist.plan = #dist.plan<axes = ["pp", "tp"], shape = [2, 4], microbatches = 1>} {
  shard.grid @grid(shape = 2x2)
}

// -----

// expected-error@+1 {{'dist.plan' names the axes of the module's shard.grid @grid, but the module has none}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
}

// -----

module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  // expected-error@+1 {{'dist.plan' belongs on the module, not on 'func.func'}}
  func.func @forward() attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
    return
  }
}

// -----

// expected-error@+1 {{'dist.plan' must be a #dist.plan attribute, got "tp2"}}
module attributes {dist.plan = "tp2"} {
  shard.grid @grid(shape = 2)
}

// -----

// The loose attributes of older modules are refused, not silently ignored.
module {
  // expected-error@+1 {{'dist.axes' is not an attribute of the dist dialect; a sharded module states its plan in one 'dist.plan = #dist.plan<...>' module attribute}}
  shard.grid @grid(shape = 2) {dist.axes = ["tp"]}
}
