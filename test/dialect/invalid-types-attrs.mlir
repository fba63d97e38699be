// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Verifiers of !llm.kv_cache, #llm.rope and #llm.slice, and the #llm.rope
// parser's own error.

//===----------------------------------------------------------------------===//
// !llm.kv_cache
//===----------------------------------------------------------------------===//

// expected-error@+1 {{kv_cache layers must be >= 1, got 0}}
func.func @cache_layers(%c: !llm.kv_cache<layers = 0, kv_heads = 8, head_dim = 128, bf16>)

// -----

// expected-error@+1 {{kv_cache layers must be >= 1, got -3}}
func.func @cache_layers_negative(%c: !llm.kv_cache<layers = -3, kv_heads = 8, head_dim = 128, bf16>)

// -----

// expected-error@+1 {{kv_cache kv_heads must be >= 1, got 0}}
func.func @cache_kv_heads(%c: !llm.kv_cache<layers = 32, kv_heads = 0, head_dim = 128, bf16>)

// -----

// expected-error@+1 {{kv_cache head_dim must be >= 1, got -128}}
func.func @cache_head_dim(%c: !llm.kv_cache<layers = 32, kv_heads = 8, head_dim = -128, bf16>)

// -----

// expected-error@+1 {{kv_cache element type must be f16, bf16, f32, f64 or f8E4M3FN, got 'i8'}}
func.func @cache_element_type(%c: !llm.kv_cache<layers = 32, kv_heads = 8, head_dim = 128, i8>)

// -----

// expected-error@+1 {{kv_cache element type must be f16, bf16, f32, f64 or f8E4M3FN, got 'index'}}
func.func @cache_element_type_index(%c: !llm.kv_cache<layers = 32, kv_heads = 8, head_dim = 128, index>)

// -----

//===----------------------------------------------------------------------===//
// #llm.rope
//===----------------------------------------------------------------------===//

// expected-error@+1 {{rope theta must be > 0, got 0.000000e+00}}
module attributes {test.rope = #llm.rope<theta = 0.0>} {}

// -----

// expected-error@+1 {{rope theta must be > 0, got -1.000000e+04}}
module attributes {test.rope = #llm.rope<theta = -10000.0>} {}

// -----

// expected-error@+1 {{rope scaling factor must be > 0, got 0.000000e+00}}
module attributes {test.rope = #llm.rope<theta = 10000.0, linear, factor = 0.0>} {}

// -----

// expected-error@+1 {{rope scaling factor must be > 0, got -8.000000e+00}}
module attributes {test.rope = #llm.rope<theta = 500000.0, llama3, factor = -8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position = 8192>} {}

// -----

// expected-error@+1 {{llama3 rope low_freq_factor must be > 0, got 0.000000e+00}}
module attributes {test.rope = #llm.rope<theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 0.0, high_freq_factor = 4.0, original_max_position = 8192>} {}

// -----

// expected-error@+1 {{llama3 rope high_freq_factor (1.000000e+00) must exceed low_freq_factor (4.000000e+00)}}
module attributes {test.rope = #llm.rope<theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 4.0, high_freq_factor = 1.0, original_max_position = 8192>} {}

// -----

// Equal factors would divide by zero when interpolating.
// expected-error@+1 {{llama3 rope high_freq_factor (2.000000e+00) must exceed low_freq_factor (2.000000e+00)}}
module attributes {test.rope = #llm.rope<theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 2.0, high_freq_factor = 2.0, original_max_position = 8192>} {}

// -----

// expected-error@+1 {{llama3 rope original_max_position must be >= 1, got 0}}
module attributes {test.rope = #llm.rope<theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position = 0>} {}

// -----

// The same rules hold for the attribute written inside llm.rope.
func.func @rope_op_attr(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{rope scaling factor must be > 0, got -2.000000e+00}}
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0, linear, factor = -2.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// expected-error@+1 {{unknown rope scaling 'dynamic'; expected 'linear' or 'llama3'}}
module attributes {test.rope = #llm.rope<theta = 10000.0, dynamic, factor = 2.0>} {}

// -----

// 'none' is the absence of scaling, not a kind to write.
// expected-error@+1 {{unknown rope scaling 'none'; expected 'linear' or 'llama3'}}
module attributes {test.rope = #llm.rope<theta = 10000.0, none, factor = 1.0>} {}

// -----

// expected-error@+1 {{unknown rope scaling 'yarn'; expected 'linear' or 'llama3'}}
module attributes {test.rope = #llm.rope<theta = 10000.0, yarn>} {}

// -----

//===----------------------------------------------------------------------===//
// #llm.slice
//===----------------------------------------------------------------------===//

// expected-error@+1 {{slice dim 2 is out of range for a rank-2 tensor}}
module attributes {test.slice = #llm.slice<dim = 2, size = 1, axis = "tp", offsets = [0], full = [4, 4]>} {}

// -----

// expected-error@+1 {{slice dim -1 is out of range for a rank-2 tensor}}
module attributes {test.slice = #llm.slice<dim = -1, size = 1, axis = "tp", offsets = [0], full = [4, 4]>} {}

// -----

// An empty full shape does not parse (the list needs at least one integer),
// so a rank-0 tensor cannot be sliced.
// expected-error@+2 {{expected integer value}}
// expected-error@+1 {{failed to parse Llm_WeightSliceAttr parameter 'fullShape'}}
module attributes {test.slice = #llm.slice<dim = 0, size = 1, axis = "tp", offsets = [0], full = []>} {}

// -----

// expected-error@+1 {{slice size 0 must be in [1, 4096] (full dim 0)}}
module attributes {test.slice = #llm.slice<dim = 0, size = 0, axis = "tp", offsets = [0], full = [4096, 64]>} {}

// -----

// expected-error@+1 {{slice size 128 must be in [1, 64] (full dim 1)}}
module attributes {test.slice = #llm.slice<dim = 1, size = 128, axis = "tp", offsets = [0], full = [4096, 64]>} {}

// -----

// expected-error@+1 {{slice axis name must not be empty}}
module attributes {test.slice = #llm.slice<dim = 0, size = 2, axis = "", offsets = [0, 2], full = [4]>} {}

// -----

// The verifier's "slice needs one offset per coordinate" rule is reachable
// only from C++: an empty offset list is already a parse error.
// expected-error@+2 {{expected integer value}}
// expected-error@+1 {{failed to parse Llm_WeightSliceAttr parameter 'offsets'}}
module attributes {test.slice = #llm.slice<dim = 0, size = 2, axis = "tp", offsets = [], full = [4]>} {}

// -----

// expected-error@+1 {{slice offset 3 (coordinate 1) + size 2 exceeds full dim 0 of 4}}
module attributes {test.slice = #llm.slice<dim = 0, size = 2, axis = "tp", offsets = [0, 3], full = [4]>} {}

// -----

// expected-error@+1 {{slice offset -2 (coordinate 0) + size 2 exceeds full dim 1 of 8}}
module attributes {test.slice = #llm.slice<dim = 1, size = 2, axis = "ep", offsets = [-2, 2], full = [3, 8]>} {}

// -----

// The same rules hold for the slice of a weight.
// expected-error@+1 {{slice offset 4096 (coordinate 4) + size 1024 exceeds full dim 0 of 4096}}
llm.weight @q : tensor<1024x4096xbf16> slice <dim = 0, size = 1024, axis = "tp", offsets = [0, 1024, 2048, 3072, 4096], full = [4096, 4096]>
