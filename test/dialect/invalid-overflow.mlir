// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Regression: range checks must not overflow int64 for absurd values.

// expected-error@+1 {{slice offset 9223372036854775807 (coordinate 0) + size 1 exceeds full dim 0 of 4}}
module attributes {test.slice = #llm.slice<dim = 0, size = 1, axis = "tp", offsets = [9223372036854775807], full = [4]>} {}

// -----

func.func @heads_overflow(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x4xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op q features 64 must equal num_heads (4611686018427387920) x head_dim (4), which overflows int64}}
  %0 = llm.attention %q, %k, %k, %p heads 4611686018427387920 kv_heads 1 head_dim 4 : tensor<?x?x64xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
