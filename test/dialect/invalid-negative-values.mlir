// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Regression: ODS accessors of I64Attr return uint64_t; the verifiers must
// read them as int64_t so negative values are refused.

func.func @negative_layer_index(%h: tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  // expected-error@+1 {{'llm.decoder_layer' op layer index must be >= 0, got -1}}
  %0 = llm.decoder_layer -1 (%h) : (tensor<?x?x8xbf16>) -> tensor<?x?x8xbf16> {
  ^bb0(%x: tensor<?x?x8xbf16>):
    llm.yield %x : tensor<?x?x8xbf16>
  }
  return %0 : tensor<?x?x8xbf16>
}

// -----

func.func @negative_window(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> tensor<?x?x64xbf16> {
  // expected-error@+1 {{'llm.attention' op sliding window must be >= 1, got -16}}
  %0 = llm.attention %q, %k, %k, %p heads 8 kv_heads 2 head_dim 8 causal window -16 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

func.func @negative_top_k(%l: tensor<?x1x256xbf16>, %seed: i64) -> tensor<?x1xi64> {
  // expected-error@+1 {{'llm.sample' op top_k must be >= 0 (0: no limit), got -1}}
  %0 = llm.sample %l, %seed temperature 1.0 top_p 1.0 top_k -1 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
