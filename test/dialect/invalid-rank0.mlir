// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Regression: rank-0 inputs are refused by the verifiers, not crashed on.

func.func @rms_norm_scalar(%x: tensor<bf16>, %w: tensor<1xbf16>) -> tensor<bf16> {
  // expected-error@+1 {{'llm.rms_norm' op input must have rank >= 1}}
  %0 = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<bf16>, tensor<1xbf16>) -> tensor<bf16>
  return %0 : tensor<bf16>
}

// -----

func.func @bias_add_scalar(%x: tensor<bf16>, %b: tensor<1xbf16>) -> tensor<bf16> {
  // expected-error@+1 {{'llm.bias_add' op input must have rank >= 1}}
  %0 = llm.bias_add %x, %b : tensor<bf16>, tensor<1xbf16>
  return %0 : tensor<bf16>
}
