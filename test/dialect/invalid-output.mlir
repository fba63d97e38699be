// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Verifiers of llm.last_token, llm.lm_head, llm.argmax and llm.sample.

//===----------------------------------------------------------------------===//
// llm.last_token
//===----------------------------------------------------------------------===//

func.func @last_token_input_rank(%x: tensor<?x64xbf16>) -> tensor<?x1x64xbf16> {
  // expected-error@+1 {{'llm.last_token' op input must have rank 3, got 'tensor<?x64xbf16>'}}
  %0 = llm.last_token %x : (tensor<?x64xbf16>) -> tensor<?x1x64xbf16>
  return %0 : tensor<?x1x64xbf16>
}

// -----

func.func @last_token_result_rank(%x: tensor<?x?x64xbf16>) -> tensor<?x64xbf16> {
  // expected-error@+1 {{'llm.last_token' op result must have rank 3, got 'tensor<?x64xbf16>'}}
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}

// -----

// One position is kept, so the result's sequence dim is a static 1.
func.func @last_token_seq(%x: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.last_token' op result must be [batch, 1, 64] of 'bf16', got 'tensor<?x?x64xbf16>'}}
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @last_token_hidden(%x: tensor<?x?x64xbf16>) -> tensor<?x1x32xbf16> {
  // expected-error@+1 {{'llm.last_token' op result must be [batch, 1, 64] of 'bf16', got 'tensor<?x1x32xbf16>'}}
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x1x32xbf16>
  return %0 : tensor<?x1x32xbf16>
}

// -----

func.func @last_token_dtype(%x: tensor<?x?x64xbf16>) -> tensor<?x1x64xf32> {
  // expected-error@+1 {{'llm.last_token' op result must be [batch, 1, 64] of 'bf16', got 'tensor<?x1x64xf32>'}}
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x1x64xf32>
  return %0 : tensor<?x1x64xf32>
}

// -----

func.func @last_token_batch(%x: tensor<2x?x64xbf16>) -> tensor<4x1x64xbf16> {
  // expected-error@+1 {{'llm.last_token' op result must be [batch, 1, 64] of 'bf16', got 'tensor<4x1x64xbf16>'}}
  %0 = llm.last_token %x : (tensor<2x?x64xbf16>) -> tensor<4x1x64xbf16>
  return %0 : tensor<4x1x64xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// llm.lm_head
//===----------------------------------------------------------------------===//

func.func @lm_head_input_rank(%x: tensor<?x64xbf16>, %w: tensor<256x64xbf16>) -> tensor<?x256xbf16> {
  // expected-error@+1 {{'llm.lm_head' op input must have rank 3, got 'tensor<?x64xbf16>'}}
  %0 = llm.lm_head %x, %w : (tensor<?x64xbf16>, tensor<256x64xbf16>) -> tensor<?x256xbf16>
  return %0 : tensor<?x256xbf16>
}

// -----

func.func @lm_head_weight_rank(%x: tensor<?x1x64xbf16>, %w: tensor<16384xbf16>) -> tensor<?x1x256xbf16> {
  // expected-error@+1 {{'llm.lm_head' op weight must be [vocab, hidden], got 'tensor<16384xbf16>'}}
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<16384xbf16>) -> tensor<?x1x256xbf16>
  return %0 : tensor<?x1x256xbf16>
}

// -----

// A transposed [hidden, vocab] weight.
func.func @lm_head_hidden(%x: tensor<?x1x64xbf16>, %w: tensor<64x256xbf16>) -> tensor<?x1x64xbf16> {
  // expected-error@+1 {{'llm.lm_head' op weight hidden size 256 does not match input hidden size 64}}
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<64x256xbf16>) -> tensor<?x1x64xbf16>
  return %0 : tensor<?x1x64xbf16>
}

// -----

func.func @lm_head_result_rank(%x: tensor<?x1x64xbf16>, %w: tensor<256x64xbf16>) -> tensor<?x256xbf16> {
  // expected-error@+1 {{'llm.lm_head' op result rank 2 does not match input rank 3}}
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x256xbf16>
  return %0 : tensor<?x256xbf16>
}

// -----

func.func @lm_head_result_seq(%x: tensor<?x1x64xbf16>, %w: tensor<256x64xbf16>) -> tensor<?x2x256xbf16> {
  // expected-error@+1 {{'llm.lm_head' op result dim 1 (2) does not match input dim 1 (1)}}
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x2x256xbf16>
  return %0 : tensor<?x2x256xbf16>
}

// -----

func.func @lm_head_vocab(%x: tensor<?x1x64xbf16>, %w: tensor<256x64xbf16>) -> tensor<?x1x128xbf16> {
  // expected-error@+1 {{'llm.lm_head' op result last dim (128) must equal weight vocab size (256)}}
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x128xbf16>
  return %0 : tensor<?x1x128xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// llm.argmax
//===----------------------------------------------------------------------===//

func.func @argmax_rank(%l: tensor<?x1x256xbf16>) -> tensor<?x1x1xi64> {
  // expected-error@+1 {{'llm.argmax' op result must drop the vocab dim of 'tensor<?x1x256xbf16>', got 'tensor<?x1x1xi64>'}}
  %0 = llm.argmax %l : (tensor<?x1x256xbf16>) -> tensor<?x1x1xi64>
  return %0 : tensor<?x1x1xi64>
}

// -----

func.func @argmax_scalar(%l: tensor<bf16>) -> tensor<i64> {
  // expected-error@+1 {{'llm.argmax' op result must drop the vocab dim of 'tensor<bf16>', got 'tensor<i64>'}}
  %0 = llm.argmax %l : (tensor<bf16>) -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

func.func @argmax_batch(%l: tensor<3x1x256xbf16>) -> tensor<2x1xi64> {
  // expected-error@+1 {{'llm.argmax' op result dim 0 (2) does not match logits dim 0 (3)}}
  %0 = llm.argmax %l : (tensor<3x1x256xbf16>) -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

// Token ids are integers (ODS type constraint).
func.func @argmax_float(%l: tensor<?x1x256xbf16>) -> tensor<?x1xf32> {
  // expected-error@+1 {{'llm.argmax' op result #0 must be ranked tensor of signless integer values}}
  %0 = llm.argmax %l : (tensor<?x1x256xbf16>) -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}

// -----

//===----------------------------------------------------------------------===//
// llm.sample
//===----------------------------------------------------------------------===//

func.func @sample_rank(%l: tensor<?x1x256xbf16>, %seed: i64) -> tensor<?xi64> {
  // expected-error@+1 {{'llm.sample' op result must drop the vocab dim of 'tensor<?x1x256xbf16>', got 'tensor<?xi64>'}}
  %0 = llm.sample %l, %seed temperature 1.0 top_p 1.0 : (tensor<?x1x256xbf16>, i64) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

func.func @sample_temperature_zero(%l: tensor<?x1x256xbf16>, %seed: i64) -> tensor<?x1xi64> {
  // expected-error@+1 {{'llm.sample' op temperature must be > 0, got 0.000000e+00; use llm.argmax for greedy decoding}}
  %0 = llm.sample %l, %seed temperature 0.0 top_p 1.0 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}

// -----

func.func @sample_temperature_negative(%l: tensor<?x1x256xbf16>, %seed: i64) -> tensor<?x1xi64> {
  // expected-error@+1 {{'llm.sample' op temperature must be > 0, got -5.000000e-01; use llm.argmax for greedy decoding}}
  %0 = llm.sample %l, %seed temperature -0.5 top_p 1.0 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}

// -----

func.func @sample_top_p_zero(%l: tensor<?x1x256xbf16>, %seed: i64) -> tensor<?x1xi64> {
  // expected-error@+1 {{'llm.sample' op top_p must be in (0, 1], got 0.000000e+00}}
  %0 = llm.sample %l, %seed temperature 1.0 top_p 0.0 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}

// -----

func.func @sample_top_p_above_one(%l: tensor<?x1x256xbf16>, %seed: i64) -> tensor<?x1xi64> {
  // expected-error@+1 {{'llm.sample' op top_p must be in (0, 1], got 1.500000e+00}}
  %0 = llm.sample %l, %seed temperature 1.0 top_p 1.5 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}

// -----

// A negative top_k is a known bug (accepted today): see
// invalid-known-bugs-unsigned.mlir.
func.func @sample_batch(%l: tensor<4x1x256xbf16>, %seed: i64) -> tensor<4x2xi64> {
  // expected-error@+1 {{'llm.sample' op result dim 1 (2) does not match logits dim 1 (1)}}
  %0 = llm.sample %l, %seed temperature 1.0 top_p 1.0 : (tensor<4x1x256xbf16>, i64) -> tensor<4x2xi64>
  return %0 : tensor<4x2xi64>
}

// -----

// The seed is an i64 (ODS type constraint).
func.func @sample_seed_type(%l: tensor<?x1x256xbf16>, %seed: i32) -> tensor<?x1xi64> {
  // expected-error@+1 {{'llm.sample' op operand #1 must be 64-bit signless integer}}
  %0 = llm.sample %l, %seed temperature 1.0 top_p 1.0 : (tensor<?x1x256xbf16>, i32) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
