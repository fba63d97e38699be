// Every refusal of llm-shard-create-grid, one expected-error each. --shard
// applies to a whole file, so the cases live in split-file parts, one RUN line
// per plan; parts refused by the same plan share a file and -split-input-file.
// Errors about the plan or the module are located at the `module` line,
// errors about the model at the op the rule is about.
//
// RUN: split-file %s %t
//
// Tensor parallelism the model cannot take, and modules that cannot be
// sharded at all (all refused by tp4).
// RUN: llm-opt %t/tp4.mlir --shard=tp4 -split-input-file -verify-diagnostics
//
// Pipeline deeper than the model, more GPUs than available.
// RUN: llm-opt %t/pp3.mlir --shard=pp3 -verify-diagnostics
// RUN: llm-opt %t/pp-no-layers.mlir --shard=pp2 -verify-diagnostics
// RUN: llm-opt %t/gpus.mlir --shard=tp2,pp2 --gpus=2 -verify-diagnostics
//
// Malformed specs, given to the pass (the tools refuse them before any pass
// runs, with the same message: test/tools/shard-spec.test).
// RUN: llm-opt %t/zero.mlir '--llm-shard-create-grid=spec=tp0' -verify-diagnostics
// RUN: llm-opt %t/repeated.mlir '--llm-shard-create-grid=spec=tp2,pp2,tp4' -verify-diagnostics
// RUN: llm-opt %t/unknown.mlir '--llm-shard-create-grid=spec=xp2' -verify-diagnostics
// RUN: llm-opt %t/case.mlir '--llm-shard-create-grid=spec=TP2' -verify-diagnostics
// RUN: llm-opt %t/empty-element.mlir '--llm-shard-create-grid=spec=tp2,,pp2' -verify-diagnostics
// RUN: llm-opt %t/missing-degree.mlir '--llm-shard-create-grid=spec=tp' -verify-diagnostics
// RUN: llm-opt %t/negative.mlir '--llm-shard-create-grid=spec=tp-2' -verify-diagnostics
// RUN: llm-opt %t/huge.mlir '--llm-shard-create-grid=spec=tp65537' -verify-diagnostics
// RUN: llm-opt %t/auto-mixed.mlir '--llm-shard-create-grid=spec=auto,tp2' -verify-diagnostics
// RUN: llm-opt %t/empty.mlir --llm-shard-create-grid -verify-diagnostics
//
// Axes the model cannot take, and spec=auto, which the tools resolve before
// the pass runs.
// RUN: llm-opt %t/ep-dense.mlir --shard=ep2 -verify-diagnostics
// RUN: llm-opt %t/ep-moe.mlir --shard=ep4 -verify-diagnostics
// RUN: llm-opt %t/auto.mlir --llm-shard-create-grid=spec=auto -verify-diagnostics
//
// Option values the driver would reject before the pass runs, given to the
// pass directly.
// RUN: llm-opt %t/microbatches.mlir '--llm-shard-create-grid=spec=pp2 microbatches=0' -verify-diagnostics
// RUN: llm-opt %t/gpus-negative.mlir '--llm-shard-create-grid=spec=tp2 gpus=-1' -verify-diagnostics
//
// The driver's own checks of --microbatches and --gpus (plain errors, no
// location).
// RUN: not llm-opt %t/auto.mlir --shard=pp2 --microbatches=0 2>&1 | FileCheck %s --check-prefix=DRIVER-MB
// RUN: not llm-opt %t/auto.mlir --shard=tp2 --gpus=-1 2>&1 | FileCheck %s --check-prefix=DRIVER-GPUS
// DRIVER-MB: error: --microbatches must be >= 1, got 0
// DRIVER-GPUS: error: --gpus must be >= 1, got -1

//--- tp4.mlir

// 4 does not divide 6 heads. The valid degrees also honour the kv rule:
// 3 divides the heads but neither divides 2 kv heads nor is a multiple of 2,
// while 6 is a multiple of 2 (kv heads replicated).
module {
  func.func @forward(%q: tensor<?x?x48xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x48xbf16> {
    // expected-error@+1 {{tp = 4 does not divide num_heads = 6; valid tp degrees for this model: 1, 2, 6}}
    %a = llm.attention %q, %k, %v, %pos heads 6 kv_heads 2 head_dim 8 causal : tensor<?x?x48xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x48xbf16>
    return %a : tensor<?x?x48xbf16>
  }
}

// -----

// 4 divides 12 heads, but neither divides 6 kv heads nor is a multiple of
// them: a rank's 3 query heads would straddle two kv heads.
module {
  func.func @forward(%q: tensor<?x?x96xbf16>, %k: tensor<?x?x48xbf16>, %v: tensor<?x?x48xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x96xbf16> {
    // expected-error@+1 {{tp = 4 neither divides num_kv_heads = 6 nor is a multiple of it (kv heads are split when tp divides 6 and replicated when tp is a multiple of 6); valid tp degrees for this model: 1, 2, 3, 6, 12}}
    %a = llm.attention %q, %k, %v, %pos heads 12 kv_heads 6 head_dim 8 causal : tensor<?x?x96xbf16>, tensor<?x?x48xbf16>, tensor<?x?x48xbf16>, tensor<?x?xi64> -> tensor<?x?x96xbf16>
    return %a : tensor<?x?x96xbf16>
  }
}

// -----

// Heads are fine (8 heads, 2 kv heads replicated); the dense MLP width 18
// is not a multiple of 4.
module {
  func.func @forward(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>, %gate: tensor<?x?x18xbf16>, %up: tensor<?x?x18xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x18xbf16>) {
    %a = llm.attention %q, %k, %v, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    // expected-error@+1 {{tp = 4 does not divide the MLP width 18 of 'llm.swiglu'; valid tp degrees for this model: 1, 2}}
    %s = llm.swiglu %gate, %up : tensor<?x?x18xbf16>
    return %a, %s : tensor<?x?x64xbf16>, tensor<?x?x18xbf16>
  }
}

// -----

// Routed experts of width 18.
module {
  func.func @forward(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>, %x: tensor<?x?x64xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>, %g: tensor<18x64xbf16>, %u: tensor<18x64xbf16>, %d: tensor<64x18xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
    %a = llm.attention %q, %k, %v, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    // expected-error@+1 {{tp = 4 does not divide the MLP width 18 of 'llm.experts'; valid tp degrees for this model: 1, 2}}
    %e = llm.experts %x, %rw, %ri experts 2 gate(%g, %g) up(%u, %u) down(%d, %d) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<18x64xbf16>, tensor<18x64xbf16>) up(tensor<18x64xbf16>, tensor<18x64xbf16>) down(tensor<64x18xbf16>, tensor<64x18xbf16>) -> tensor<?x?x64xbf16>
    return %a, %e : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
  }
}

// -----

// A Qwen2-MoE shared expert of width 18.
module {
  func.func @forward(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %pos: tensor<?x?xi64>, %x: tensor<?x?x64xbf16>, %g: tensor<18x64xbf16>, %u: tensor<18x64xbf16>, %d: tensor<64x18xbf16>, %eg: tensor<1x64xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
    %a = llm.attention %q, %k, %v, %pos heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
    // expected-error@+1 {{tp = 4 does not divide the MLP width 18 of 'llm.shared_expert'; valid tp degrees for this model: 1, 2}}
    %s = llm.shared_expert %x, %g, %u, %d, %eg : (tensor<?x?x64xbf16>, tensor<18x64xbf16>, tensor<18x64xbf16>, tensor<64x18xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
    return %a, %s : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
  }
}

// -----

// Nothing to shard.
// expected-error@+1 {{expected a func.func @forward (from llm-import) to shard}}
module {
  func.func @main() {
    return
  }
}

// -----

// The output of a previous --shard.
// expected-error@+1 {{module is already sharded (it has a shard.grid); shard the unsharded graph from llm-import instead}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [4], microbatches = 1>} {
  shard.grid @grid(shape = 4)
  func.func @forward() {
    return
  }
}

//--- pp3.mlir

// Two decoder layers cannot make three stages.
module {
  // expected-error@+1 {{pp = 3 exceeds the 2 decoder layers; each pipeline stage needs at least one layer (valid pp degrees: 1 to 2)}}
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    %h0 = llm.decoder_layer 0 (%h) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      llm.yield %x : tensor<?x?x64xbf16>
    }
    %h1 = llm.decoder_layer 1 (%h0) : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x: tensor<?x?x64xbf16>):
      llm.yield %x : tensor<?x?x64xbf16>
    }
    return %h1 : tensor<?x?x64xbf16>
  }
}

//--- pp-no-layers.mlir

// No decoder layers at all (tp and dp alone are fine: create-grid-no-layers
// .mlir). Only the start of the message is checked: its "valid pp degrees:
// 1 to 0" tail is odd for a layerless graph.
module {
  // expected-error@+1 {{pp = 2 needs decoder layers to split into stages, but @forward has no llm.decoder_layer}}
  func.func @forward(%gate: tensor<?x?x128xbf16>, %up: tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
    %s = llm.swiglu %gate, %up : tensor<?x?x128xbf16>
    return %s : tensor<?x?x128xbf16>
  }
}

//--- gpus.mlir

// expected-error@+1 {{plan 'tp2,pp2' needs 4 GPUs but --gpus=2 provides only 2; reduce a degree so their product is at most 2}}
module {
}

//--- zero.mlir

// expected-error@+1 {{invalid --shard spec 'tp0': degree of axis 'tp' must be >= 1, got 0}}
module {
}

//--- repeated.mlir

// expected-error@+1 {{invalid --shard spec 'tp2,pp2,tp4': axis 'tp' appears more than once; give each axis once}}
module {
}

//--- unknown.mlir

// expected-error@+1 {{invalid --shard spec 'xp2': unknown axis 'xp' in 'xp2'; valid axes are tp, pp, ep, sp, dp}}
module {
}

//--- case.mlir

// Axis names are lower case; the error suggests the right spelling.
// expected-error@+1 {{invalid --shard spec 'TP2': unknown axis 'TP' in 'TP2'; valid axes are tp, pp, ep, sp, dp; did you mean 'tp'?}}
module {
}

//--- empty-element.mlir

// expected-error@+1 {{invalid --shard spec 'tp2,,pp2': empty element; write axes as tpN,ppN without extra commas}}
module {
}

//--- missing-degree.mlir

// expected-error@+1 {{invalid --shard spec 'tp': axis 'tp' needs a degree, e.g. tp2}}
module {
}

//--- negative.mlir

// expected-error@+1 {{invalid --shard spec 'tp-2': degree '-2' of axis 'tp' is not a positive integer}}
module {
}

//--- huge.mlir

// expected-error@+1 {{invalid --shard spec 'tp65537': degree 65537 of axis 'tp' exceeds the supported maximum 65536}}
module {
}

//--- auto-mixed.mlir

// expected-error@+1 {{invalid --shard spec 'auto,tp2': 'auto' cannot be combined with explicit axes}}
module {
}

//--- empty.mlir

// An empty spec, from --shard= or from the pass without its spec option.
// expected-error@+1 {{invalid --shard spec '': expected 'auto' or a comma list of tpN, ppN, epN, spN, dpN (e.g. tp4,pp2)}}
module {
}

//--- ep-dense.mlir

module {
  // expected-error@+1 {{ep = 2 needs a mixture-of-experts model, but this model has no experts; use tp, pp or dp instead}}
  func.func @forward(%gate: tensor<?x?x128xbf16>, %up: tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
    %h = llm.decoder_layer 0 (%gate, %up) : (tensor<?x?x128xbf16>, tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
    ^bb0(%g: tensor<?x?x128xbf16>, %u: tensor<?x?x128xbf16>):
      %s = llm.swiglu %g, %u : tensor<?x?x128xbf16>
      llm.yield %s : tensor<?x?x128xbf16>
    }
    return %h : tensor<?x?x128xbf16>
  }
}

//--- ep-moe.mlir

// Expert parallelism needs at least one expert per ep rank: 4 ranks, 2
// experts. Reported at the experts op.
module {
  func.func @forward(%x: tensor<?x?x64xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>, %g: tensor<32x64xbf16>, %u: tensor<32x64xbf16>, %d: tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
    %h = llm.decoder_layer 0 (%x, %rw, %ri, %g, %u, %d) : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16> {
    ^bb0(%x0: tensor<?x?x64xbf16>, %rw0: tensor<?x?x1xf32>, %ri0: tensor<?x?x1xi64>, %g0: tensor<32x64xbf16>, %u0: tensor<32x64xbf16>, %d0: tensor<64x32xbf16>):
      // expected-error@+1 {{ep = 4 exceeds the 2 experts of this layer; every ep rank must own at least one expert (valid ep degrees: 1 to 2)}}
      %e = llm.experts %x0, %rw0, %ri0 experts 2 gate(%g0, %g0) up(%u0, %u0) down(%d0, %d0) : tensor<?x?x64xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64> gate(tensor<32x64xbf16>, tensor<32x64xbf16>) up(tensor<32x64xbf16>, tensor<32x64xbf16>) down(tensor<64x32xbf16>, tensor<64x32xbf16>) -> tensor<?x?x64xbf16>
      llm.yield %e : tensor<?x?x64xbf16>
    }
    return %h : tensor<?x?x64xbf16>
  }
}

//--- auto.mlir

// expected-error@+1 {{spec 'auto' is resolved by the tools before the pipeline runs (llm-opt, llm-run or llm-compile --shard=auto --gpus=N --hardware=NAME); this pass takes a concrete plan such as tp4,pp2}}
module {
  func.func @forward() {
    return
  }
}

//--- microbatches.mlir

// expected-error@+1 {{--microbatches must be >= 1, got 0}}
module {
  func.func @forward() {
    return
  }
}

//--- gpus-negative.mlir

// expected-error@+1 {{--gpus must be >= 1 (0 in the pass option: the plan's product), got -1}}
module {
  func.func @forward() {
    return
  }
}
