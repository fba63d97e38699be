// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Verifiers of llm.embedding, llm.rms_norm, llm.linear, llm.bias_add,
// llm.rope, llm.swiglu and llm.add.

//===----------------------------------------------------------------------===//
// llm.embedding
//===----------------------------------------------------------------------===//

func.func @embedding_ids_rank(%ids: tensor<?xi64>, %t: tensor<256x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.embedding' op ids must have rank 2, got 'tensor<?xi64>'}}
  %0 = llm.embedding %ids, %t : (tensor<?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @embedding_table_rank(%ids: tensor<?x?xi64>, %t: tensor<256x64x1xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.embedding' op table must have rank 2, got 'tensor<256x64x1xbf16>'}}
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64x1xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @embedding_result_rank(%ids: tensor<?x?xi64>, %t: tensor<256x64xbf16>) -> tensor<?x64xbf16> {
  // expected-error@+1 {{'llm.embedding' op result must have rank 3, got 'tensor<?x64xbf16>'}}
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}

// -----

func.func @embedding_batch(%ids: tensor<2x5xi64>, %t: tensor<256x64xbf16>) -> tensor<3x5x64xbf16> {
  // expected-error@+1 {{'llm.embedding' op result dim 0 (3) does not match ids dim 0 (2)}}
  %0 = llm.embedding %ids, %t : (tensor<2x5xi64>, tensor<256x64xbf16>) -> tensor<3x5x64xbf16>
  return %0 : tensor<3x5x64xbf16>
}

// -----

func.func @embedding_seq(%ids: tensor<?x5xi64>, %t: tensor<256x64xbf16>) -> tensor<?x6x64xbf16> {
  // expected-error@+1 {{'llm.embedding' op result dim 1 (6) does not match ids dim 1 (5)}}
  %0 = llm.embedding %ids, %t : (tensor<?x5xi64>, tensor<256x64xbf16>) -> tensor<?x6x64xbf16>
  return %0 : tensor<?x6x64xbf16>
}

// -----

func.func @embedding_hidden(%ids: tensor<?x?xi64>, %t: tensor<256x64xbf16>) -> tensor<?x?x32xbf16> {
  // expected-error@+1 {{'llm.embedding' op result hidden size 32 does not match table hidden size 64}}
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x32xbf16>
  return %0 : tensor<?x?x32xbf16>
}

// -----

func.func @embedding_dtype(%ids: tensor<?x?xi64>, %t: tensor<256x64xbf16>) -> tensor<?x?x64xf32> {
  // expected-error@+1 {{'llm.embedding' op result element type 'f32' differs from table's 'bf16'}}
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// Token ids are integers (ODS type constraint).
func.func @embedding_float_ids(%ids: tensor<?x?xf32>, %t: tensor<256x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.embedding' op operand #0 must be ranked tensor of signless integer values}}
  %0 = llm.embedding %ids, %t : (tensor<?x?xf32>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// llm.rms_norm
//===----------------------------------------------------------------------===//

func.func @rms_norm_weight_rank(%x: tensor<?x?x64xbf16>, %w: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.rms_norm' op weight must have rank 1, got 'tensor<1x64xbf16>'}}
  %0 = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<?x?x64xbf16>, tensor<1x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// A rank-0 input crashes the verifier today: see
// invalid-known-bugs-crash.mlir.
func.func @rms_norm_weight_size(%x: tensor<?x?x64xbf16>, %w: tensor<128xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.rms_norm' op weight size 128 does not match input last dim 64}}
  %0 = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<?x?x64xbf16>, tensor<128xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @rms_norm_result(%x: tensor<?x?x64xbf16>, %w: tensor<64xbf16>) -> tensor<?x?x64xf32> {
  // expected-error@+1 {{'llm.rms_norm' op result type 'tensor<?x?x64xf32>' must equal input type 'tensor<?x?x64xbf16>'}}
  %0 = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

func.func @rms_norm_eps_zero(%x: tensor<?x?x64xbf16>, %w: tensor<64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.rms_norm' op eps must be > 0, got 0.000000e+00}}
  %0 = llm.rms_norm %x, %w eps 0.0 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @rms_norm_eps_negative(%x: tensor<?x?x64xbf16>, %w: tensor<64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.rms_norm' op eps must be > 0, got -1.000000e-05}}
  %0 = llm.rms_norm %x, %w eps -1.0e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// llm.linear
//===----------------------------------------------------------------------===//

func.func @linear_input_rank(%x: tensor<bf16>, %w: tensor<16x64xbf16>) -> tensor<16xbf16> {
  // expected-error@+1 {{'llm.linear' op input must have rank >= 1, got 'tensor<bf16>'}}
  %0 = llm.linear %x, %w : (tensor<bf16>, tensor<16x64xbf16>) -> tensor<16xbf16>
  return %0 : tensor<16xbf16>
}

// -----

func.func @linear_weight_rank(%x: tensor<?x?x64xbf16>, %w: tensor<64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.linear' op weight must have rank 2, got 'tensor<64xbf16>'}}
  %0 = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// A weight in [in, out] layout instead of Hugging Face's [out, in].
func.func @linear_in_features(%x: tensor<?x?x64xbf16>, %w: tensor<64x16xbf16>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{'llm.linear' op input features 64 do not match weight in-features 16 (weight 'tensor<64x16xbf16>')}}
  %0 = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<64x16xbf16>) -> tensor<?x?x16xbf16>
  return %0 : tensor<?x?x16xbf16>
}

// -----

func.func @linear_bias_size(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>, %b: tensor<64xbf16>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{'llm.linear' op bias must be a vector of 16 elements (weight out-features), got 'tensor<64xbf16>'}}
  %0 = llm.linear %x, %w bias %b : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<64xbf16>) -> tensor<?x?x16xbf16>
  return %0 : tensor<?x?x16xbf16>
}

// -----

func.func @linear_bias_rank(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>, %b: tensor<1x16xbf16>) -> tensor<?x?x16xbf16> {
  // expected-error@+1 {{'llm.linear' op bias must be a vector of 16 elements (weight out-features), got 'tensor<1x16xbf16>'}}
  %0 = llm.linear %x, %w bias %b : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<1x16xbf16>) -> tensor<?x?x16xbf16>
  return %0 : tensor<?x?x16xbf16>
}

// -----

func.func @linear_result_rank(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>) -> tensor<?x16xbf16> {
  // expected-error@+1 {{'llm.linear' op result rank 2 does not match input rank 3}}
  %0 = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x16xbf16>
  return %0 : tensor<?x16xbf16>
}

// -----

func.func @linear_result_leading(%x: tensor<2x7x64xbf16>, %w: tensor<16x64xbf16>) -> tensor<2x8x16xbf16> {
  // expected-error@+1 {{'llm.linear' op result dim 1 (8) does not match input dim 1 (7)}}
  %0 = llm.linear %x, %w : (tensor<2x7x64xbf16>, tensor<16x64xbf16>) -> tensor<2x8x16xbf16>
  return %0 : tensor<2x8x16xbf16>
}

// -----

func.func @linear_result_features(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.linear' op result last dim (64) must equal weight out-features (16)}}
  %0 = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// llm.bias_add
//===----------------------------------------------------------------------===//

func.func @bias_add_size(%x: tensor<?x?x64xbf16>, %b: tensor<16xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.bias_add' op bias must be a vector of the input's last dim (64), got 'tensor<16xbf16>'}}
  %0 = llm.bias_add %x, %b : tensor<?x?x64xbf16>, tensor<16xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @bias_add_rank(%x: tensor<?x?x64xbf16>, %b: tensor<1x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.bias_add' op bias must be a vector of the input's last dim (64), got 'tensor<1x64xbf16>'}}
  %0 = llm.bias_add %x, %b : tensor<?x?x64xbf16>, tensor<1x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// A rank-0 input crashes the verifier today: see
// invalid-known-bugs-crash.mlir.

// The result has the input's type (ODS AllTypesMatch).
func.func @bias_add_result(%x: tensor<?x?x64xbf16>, %b: tensor<64xbf16>) -> tensor<?x?x64xf32> {
  // expected-error@+1 {{'llm.bias_add' op failed to verify that all of {input, result} have same type}}
  %0 = "llm.bias_add"(%x, %b) : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// llm.rope
//===----------------------------------------------------------------------===//

func.func @rope_head_dim_odd(%x: tensor<?x?x63xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x63xbf16> {
  // expected-error@+1 {{'llm.rope' op head_dim must be even and >= 2, got 7}}
  %0 = llm.rope %x, %p head_dim 7 <theta = 10000.0> : (tensor<?x?x63xbf16>, tensor<?x?xi64>) -> tensor<?x?x63xbf16>
  return %0 : tensor<?x?x63xbf16>
}

// -----

func.func @rope_head_dim_zero(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.rope' op head_dim must be even and >= 2, got 0}}
  %0 = llm.rope %x, %p head_dim 0 <theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @rope_head_dim_negative(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.rope' op head_dim must be even and >= 2, got -8}}
  %0 = llm.rope %x, %p head_dim -8 <theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @rope_input_rank(%x: tensor<?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x64xbf16> {
  // expected-error@+1 {{'llm.rope' op input must have rank 3, got 'tensor<?x64xbf16>'}}
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x64xbf16>, tensor<?x?xi64>) -> tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}

// -----

func.func @rope_positions_rank(%x: tensor<?x?x64xbf16>, %p: tensor<?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.rope' op positions must have rank 2, got 'tensor<?xi64>'}}
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @rope_features(%x: tensor<?x?x60xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x60xbf16> {
  // expected-error@+1 {{'llm.rope' op input features 60 are not a multiple of head_dim 8}}
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x?x60xbf16>, tensor<?x?xi64>) -> tensor<?x?x60xbf16>
  return %0 : tensor<?x?x60xbf16>
}

// -----

func.func @rope_positions_shape(%x: tensor<1x4x64xbf16>, %p: tensor<1x5xi64>) -> tensor<1x4x64xbf16> {
  // expected-error@+1 {{'llm.rope' op input dim 1 (4) does not match positions dim 1 (5)}}
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<1x4x64xbf16>, tensor<1x5xi64>) -> tensor<1x4x64xbf16>
  return %0 : tensor<1x4x64xbf16>
}

// -----

func.func @rope_result(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  // expected-error@+1 {{'llm.rope' op result type 'tensor<?x?x64xf32>' must equal input type 'tensor<?x?x64xbf16>'}}
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// Inside an op the rope attribute is written without its prefix: the full
// form would take the following `: (...) -> ...` as the attribute's type.
func.func @rope_full_form(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{expected ':'}}
  %0 = llm.rope %x, %p head_dim 8 #llm.rope<theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// llm.swiglu / llm.add (ODS SameOperandsAndResultType)
//===----------------------------------------------------------------------===//

func.func @swiglu_types(%g: tensor<?x?x96xbf16>, %u: tensor<?x?x96xf32>) -> tensor<?x?x96xbf16> {
  // expected-error@+1 {{'llm.swiglu' op requires the same type for all operands and results}}
  %0 = "llm.swiglu"(%g, %u) : (tensor<?x?x96xbf16>, tensor<?x?x96xf32>) -> tensor<?x?x96xbf16>
  return %0 : tensor<?x?x96xbf16>
}

// -----

func.func @add_types(%a: tensor<?x?x64xbf16>, %b: tensor<?x?x32xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.add' op requires the same type for all operands and results}}
  %0 = "llm.add"(%a, %b) : (tensor<?x?x64xbf16>, tensor<?x?x32xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
