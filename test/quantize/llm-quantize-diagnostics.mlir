// RUN: llm-opt %s -split-input-file -verify-diagnostics --llm-quantize="weights=fp8-e4m3 lm-head=true"

// llm-quantize's refusals name the op and the rule.

// Quantization runs before sharding.
// expected-error@below {{llm-quantize runs on the unsharded graph, but this module is sharded (it has a shard.grid); quantize first, then shard (llm-opt --quantize=... --shard=...)}}
module attributes {dist.plan = #dist.plan<axes = ["tp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @forward() {
    return
  }
}

// -----

// A tied lm_head reads the embedding table, which stays bf16.
module {
  llm.weight @embed : tensor<16x8xbf16>
  func.func @forward(%ids: tensor<?x?xi64>, %x: tensor<?x1x8xbf16>) -> tensor<?x1x16xbf16> {
    %t = llm.param @embed : tensor<16x8xbf16>
    %e = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xbf16>) -> tensor<?x?x8xbf16>
    // expected-error@+1 {{lm-head quantization needs an untied lm_head; this one reads the embedding table, which stays in the model's float type (drop 'lm-head' from --quantize)}}
    %l = llm.lm_head %x, %t tied : (tensor<?x1x8xbf16>, tensor<16x8xbf16>) -> tensor<?x1x16xbf16>
    return %l : tensor<?x1x16xbf16>
  }
}

// -----

// A weight that another op reads in its float type cannot become FP8.
module {
  llm.weight @w : tensor<16x8xbf16>
  func.func @forward(%ids: tensor<?x?xi64>, %x: tensor<?x?x8xbf16>) -> (tensor<?x?x8xbf16>, tensor<?x?x16xbf16>) {
    %w = llm.param @w : tensor<16x8xbf16>
    %e = llm.embedding %ids, %w : (tensor<?x?xi64>, tensor<16x8xbf16>) -> tensor<?x?x8xbf16>
    // expected-error@+1 {{weight w is also read by 'llm.embedding' (operand 1), which keeps the model's float type; it cannot become FP8}}
    %y = llm.linear %x, %w : (tensor<?x?x8xbf16>, tensor<16x8xbf16>) -> tensor<?x?x16xbf16>
    return %e, %y : tensor<?x?x8xbf16>, tensor<?x?x16xbf16>
  }
}

// -----

// A scale symbol name that is taken already.
module {
  llm.weight @w : tensor<16x8xbf16>
  llm.weight @w_scale : tensor<16xbf16>
  func.func @forward(%x: tensor<?x?x8xbf16>) -> tensor<?x?x16xbf16> {
    %w = llm.param @w : tensor<16x8xbf16>
    // expected-error@+1 {{cannot quantize weight w: its scale symbol @"w_scale" already names another weight}}
    %y = llm.linear %x, %w : (tensor<?x?x8xbf16>, tensor<16x8xbf16>) -> tensor<?x?x16xbf16>
    return %y : tensor<?x?x16xbf16>
  }
}
