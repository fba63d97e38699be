// RUN: llm-opt %s -split-input-file -verify-diagnostics

// The llm dialect accepts exactly the legal FP8 combinations
// (docs/quantization.md): FP8 weights with fp32 scales per output channel
// or per tensor, FP8 linear inputs with their per-token or per-tensor
// scale, FP8 KV caches with per-token-head scales, and nothing else FP8.

//===----------------------------------------------------------------------===//
// llm.linear
//===----------------------------------------------------------------------===//

func.func @fp8_weight_without_scale(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{FP8 weight 'tensor<16x64xf8E4M3FN>' needs its fp32 scale ([rows, 1] per output channel or [1] per tensor)}}
  %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @scale_on_bf16_weight(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>, %s: tensor<16x1xf32>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{weight 'tensor<16x64xbf16>' has an FP8 scale but is not FP8 (f8E4M3FN)}}
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16x1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @scale_shape(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<64x1xf32>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{scale of FP8 weight 'tensor<16x64xf8E4M3FN>' must be [16, 1] (per output channel) or [1] (per tensor), got 'tensor<64x1xf32>'}}
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<64x1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @scale_bf16(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xbf16>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{operand #2 must be ranked tensor of 32-bit float values, but got 'tensor<16x1xbf16>'}}
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<16x1xbf16>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @fp8_input_without_scale(%x: tensor<?x?x64xf8E4M3FN>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xf32>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{FP8 input 'tensor<?x?x64xf8E4M3FN>' needs its input_scale (from the llm.quantize that made it)}}
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @input_scale_on_bf16_input(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xf32>, %is: tensor<1xf32>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{input 'tensor<?x?x64xbf16>' is not FP8 but has an input_scale}}
  %y = llm.linear %x, %w scale %s input_scale %is : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>, tensor<1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @fp8_input_bf16_weight(%x: tensor<?x?x64xf8E4M3FN>, %w: tensor<16x64xbf16>, %is: tensor<1xf32>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{FP8 input 'tensor<?x?x64xf8E4M3FN>' needs an FP8 weight, got 'tensor<16x64xbf16>'}}
  %y = llm.linear %x, %w input_scale %is : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xbf16>, tensor<1xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @input_scale_shape(%x: tensor<?x?x64xf8E4M3FN>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xf32>, %is: tensor<?x?x2xf32>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{input_scale 'tensor<?x?x2xf32>' must hold one scale per token (the shape of 'tensor<?x?x64xf8E4M3FN>' with a last dim of 1) or one per tensor ([1])}}
  %y = llm.linear %x, %w scale %s input_scale %is : (tensor<?x?x64xf8E4M3FN>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>, tensor<?x?x2xf32>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @fp8_result(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E4M3FN>, %s: tensor<16x1xf32>) -> tensor<?x?x16xf8E4M3FN> {
  // expected-error@+1 {{result #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<?x?x16xf8E4M3FN>'}}
  %y = llm.linear %x, %w scale %s : (tensor<?x?x64xbf16>, tensor<16x64xf8E4M3FN>, tensor<16x1xf32>) -> tensor<?x?x16xf8E4M3FN>
  return %y : tensor<?x?x16xf8E4M3FN>
}

// -----

func.func @e5m2_weight(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xf8E5M2>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{operand #1 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or f8E4M3FN type values, but got 'tensor<16x64xf8E5M2>'}}
  %y = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xf8E5M2>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

//===----------------------------------------------------------------------===//
// llm.token_scale, llm.quantize
//===----------------------------------------------------------------------===//

// -----

func.func @token_scale_shape(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xf32> {
  // expected-error@+1 {{result 'tensor<?x?x64xf32>' must hold one scale per token (the shape of 'tensor<?x?x64xbf16>' with a last dim of 1) or one per tensor ([1])}}
  %s = llm.token_scale %x : (tensor<?x?x64xbf16>) -> tensor<?x?x64xf32>
  return %s : tensor<?x?x64xf32>
}

// -----

func.func @token_scale_of_fp8(%x: tensor<?x?x64xf8E4M3FN>) -> tensor<?x?x1xf32> {
  // expected-error@+1 {{operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<?x?x64xf8E4M3FN>'}}
  %s = llm.token_scale %x : (tensor<?x?x64xf8E4M3FN>) -> tensor<?x?x1xf32>
  return %s : tensor<?x?x1xf32>
}

// -----

func.func @quantize_shape(%x: tensor<?x?x64xbf16>, %s: tensor<?x?x1xf32>) -> tensor<?x?x32xf8E4M3FN> {
  // expected-error@+1 {{result 'tensor<?x?x32xf8E4M3FN>' must have the shape of the input 'tensor<?x?x64xbf16>'}}
  %q = llm.quantize %x, %s : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x32xf8E4M3FN>
  return %q : tensor<?x?x32xf8E4M3FN>
}

// -----

func.func @quantize_to_bf16(%x: tensor<?x?x64xbf16>, %s: tensor<?x?x1xf32>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{result #0 must be ranked tensor of f8E4M3FN type values, but got 'tensor<?x?x64xbf16>'}}
  %q = llm.quantize %x, %s : (tensor<?x?x64xbf16>, tensor<?x?x1xf32>) -> tensor<?x?x64xbf16>
  return %q : tensor<?x?x64xbf16>
}

// -----

func.func @quantize_scale_shape(%x: tensor<?x?x64xbf16>, %s: tensor<64xf32>) -> tensor<?x?x64xf8E4M3FN> {
  // expected-error@+1 {{scale 'tensor<64xf32>' must hold one scale per token (the shape of 'tensor<?x?x64xbf16>' with a last dim of 1) or one per tensor ([1])}}
  %q = llm.quantize %x, %s : (tensor<?x?x64xbf16>, tensor<64xf32>) -> tensor<?x?x64xf8E4M3FN>
  return %q : tensor<?x?x64xf8E4M3FN>
}

//===----------------------------------------------------------------------===//
// Ops that stay in the model's float type
//===----------------------------------------------------------------------===//

// -----

func.func @fp8_embedding(%ids: tensor<?x?xi64>, %t: tensor<256x64xf8E4M3FN>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{operand #1 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<256x64xf8E4M3FN>'}}
  %e = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xf8E4M3FN>) -> tensor<?x?x64xbf16>
  return %e : tensor<?x?x64xbf16>
}

// -----

func.func @fp8_norm(%x: tensor<?x?x64xbf16>, %w: tensor<64xf8E4M3FN>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{operand #1 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<64xf8E4M3FN>'}}
  %y = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<?x?x64xbf16>, tensor<64xf8E4M3FN>) -> tensor<?x?x64xbf16>
  return %y : tensor<?x?x64xbf16>
}

// -----

func.func @fp8_router(%x: tensor<?x?x8xbf16>, %g: tensor<4x8xf8E4M3FN>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>) {
  // expected-error@+1 {{operand #1 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<4x8xf8E4M3FN>'}}
  %w, %i = llm.moe_router %x, %g experts 4 top_k 2 : (tensor<?x?x8xbf16>, tensor<4x8xf8E4M3FN>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return %w, %i : tensor<?x?x2xf32>, tensor<?x?x2xi64>
}

// -----

func.func @tied_fp8_head(%x: tensor<?x1x8xbf16>, %h: tensor<32x8xf8E4M3FN>, %s: tensor<32x1xf32>) -> tensor<?x1x32xbf16> {
  // expected-error@+1 {{a tied lm_head reads the embedding table, which stays in the model's float type; it cannot be FP8 'tensor<32x8xf8E4M3FN>'}}
  %z = llm.lm_head %x, %h scale %s tied : (tensor<?x1x8xbf16>, tensor<32x8xf8E4M3FN>, tensor<32x1xf32>) -> tensor<?x1x32xbf16>
  return %z : tensor<?x1x32xbf16>
}

// -----

func.func @experts_scale_count(%x: tensor<?x?x8xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>,
                               %g: tensor<4x8xf8E4M3FN>, %u: tensor<4x8xf8E4M3FN>, %d: tensor<8x4xf8E4M3FN>,
                               %gs: tensor<4x1xf32>, %ds: tensor<8x1xf32>) -> tensor<?x?x8xbf16> {
  // expected-error@+1 {{lists 1 gate, 1 up and 1 down scales for 2 experts; FP8 experts need one scale per weight}}
  %y = llm.experts %x, %rw, %ri experts 2 gate(%g, %g) up(%u, %u) down(%d, %d)
       scales(gate(%gs) up(%gs) down(%ds))
       : tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>
         gate(tensor<4x8xf8E4M3FN>, tensor<4x8xf8E4M3FN>) up(tensor<4x8xf8E4M3FN>, tensor<4x8xf8E4M3FN>)
         down(tensor<8x4xf8E4M3FN>, tensor<8x4xf8E4M3FN>)
         scales(gate(tensor<4x1xf32>) up(tensor<4x1xf32>) down(tensor<8x1xf32>))
         -> tensor<?x?x8xbf16>
  return %y : tensor<?x?x8xbf16>
}

// -----

func.func @experts_without_scales(%x: tensor<?x?x8xbf16>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>,
                                  %g: tensor<4x8xf8E4M3FN>, %u: tensor<4x8xbf16>, %d: tensor<8x4xbf16>) -> tensor<?x?x8xbf16> {
  // expected-error@+1 {{FP8 gate weight of expert 0 'tensor<4x8xf8E4M3FN>' needs its fp32 scale}}
  %y = llm.experts %x, %rw, %ri experts 1 gate(%g) up(%u) down(%d)
       : tensor<?x?x8xbf16>, tensor<?x?x1xf32>, tensor<?x?x1xi64>
         gate(tensor<4x8xf8E4M3FN>) up(tensor<4x8xbf16>) down(tensor<8x4xbf16>) -> tensor<?x?x8xbf16>
  return %y : tensor<?x?x8xbf16>
}

//===----------------------------------------------------------------------===//
// llm.weight: an FP8 weight names its scale symbol
//===----------------------------------------------------------------------===//

// -----

// expected-error@+1 {{FP8 weight @w needs `scale @<symbol>` naming its fp32 scale}}
llm.weight @w : tensor<16x64xf8E4M3FN>

// -----

// expected-error@+1 {{weight @w 'tensor<16x64xbf16>' names scale @s but is not FP8 (f8E4M3FN)}}
llm.weight @w : tensor<16x64xbf16> scale @s
llm.weight @s : tensor<16x1xf32>

// -----

// expected-error@+1 {{scale @missing of FP8 weight @w does not name an llm.weight}}
llm.weight @w : tensor<16x64xf8E4M3FN> scale @missing

// -----

// expected-error@+1 {{scale @s of FP8 weight @w must be fp32, got 'tensor<16x1xbf16>'}}
llm.weight @w : tensor<16x64xf8E4M3FN> scale @s
llm.weight @s : tensor<16x1xbf16>

// -----

// expected-error@+1 {{scale @s of FP8 weight @w must be [16, 1] (per output channel) or [1] (per tensor), got 'tensor<16xf32>'}}
llm.weight @w : tensor<16x64xf8E4M3FN> scale @s
llm.weight @s : tensor<16xf32>

// -----

// expected-error@+1 {{FP8 weight @w must be a matrix [out, in], got 'tensor<64xf8E4M3FN>'}}
llm.weight @w : tensor<64xf8E4M3FN> scale @s
llm.weight @s : tensor<1xf32>

// -----

// expected-error@+1 {{weight @w has element type 'f8E5M2'; the only FP8 format is f8E4M3FN (OCP E4M3)}}
llm.weight @w : tensor<16x64xf8E5M2>

// -----

// A column-parallel FP8 weight's per-channel scale is split like its rows.
// expected-error@+1 {{per-channel scale @s must be sliced like the rows of FP8 weight @w (#llm.slice<dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 64]>)}}
llm.weight @w : tensor<8x64xf8E4M3FN> scale @s slice #llm.slice<dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 64]>
llm.weight @s : tensor<16x1xf32>

// -----

// A row-parallel FP8 weight keeps whole output rows: its scale is replicated.
// expected-error@+1 {{scale @s is sliced but FP8 weight @w's rows are not split; it must be replicated}}
llm.weight @w : tensor<16x32xf8E4M3FN> scale @s slice #llm.slice<dim = 1, size = 32, axis = "tp", offsets = [0, 32], full = [16, 64]>
llm.weight @s : tensor<8x1xf32> slice #llm.slice<dim = 0, size = 8, axis = "tp", offsets = [0, 8], full = [16, 1]>

// -----

// expected-error@+1 {{scale @s of FP8 weight @w must have the weight's owner}}
llm.weight @w : tensor<16x64xf8E4M3FN> scale @s owner #llm.owner<axis = "ep", coord = 1>
llm.weight @s : tensor<16x1xf32>

//===----------------------------------------------------------------------===//
// !llm.kv_cache
//===----------------------------------------------------------------------===//

// -----

// expected-error@+1 {{an FP8 kv_cache (f8E4M3FN) must say how its entries are scaled: add `scales = per_token_head`}}
func.func @fp8_cache_without_scales(%c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, f8E4M3FN>)

// -----

// expected-error@+1 {{kv_cache scales = per_token_head needs FP8 entries (f8E4M3FN), got 'bf16'}}
func.func @bf16_cache_with_scales(%c: !llm.kv_cache<layers = 2, kv_heads = 2, head_dim = 16, bf16, scales = per_token_head>)
