// RUN: llm-opt %s | llm-opt | FileCheck %s
// RUN: llm-opt %s --mlir-print-op-generic | llm-opt | FileCheck %s

// Embedding, RMSNorm, linear, bias_add, RoPE, attention, SwiGLU and add print
// in a form that parses back to the same IR.

llm.weight @embed : tensor<256x64xbf16>

// CHECK-LABEL: func.func @embedding(
// CHECK-SAME:      %[[IDS:[^:]+]]: tensor<?x?xi64>)
// CHECK:         %[[T:.+]] = llm.param @embed : tensor<256x64xbf16>
// CHECK-NEXT:    %[[E0:.+]] = llm.embedding %[[IDS]], %[[T]] : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[E1:.+]] = llm.embedding %[[IDS]], %[[T]] vocab_parallel : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    return %[[E0]], %[[E1]]
func.func @embedding(%ids: tensor<?x?xi64>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %t = llm.param @embed : tensor<256x64xbf16>
  %0 = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
  %1 = llm.embedding %ids, %t vocab_parallel : (tensor<?x?xi64>, tensor<256x64xbf16>) -> tensor<?x?x64xbf16>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}

// Static batch/sequence sizes and i32 ids are accepted too.
// CHECK-LABEL: func.func @embedding_static(
// CHECK:         llm.embedding %{{.+}}, %{{.+}} : (tensor<2x5xi32>, tensor<16x8xf32>) -> tensor<2x5x8xf32>
func.func @embedding_static(%ids: tensor<2x5xi32>, %t: tensor<16x8xf32>) -> tensor<2x5x8xf32> {
  %0 = llm.embedding %ids, %t : (tensor<2x5xi32>, tensor<16x8xf32>) -> tensor<2x5x8xf32>
  return %0 : tensor<2x5x8xf32>
}

// CHECK-LABEL: func.func @rms_norm(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[W:[^:]+]]: tensor<64xbf16>)
// CHECK:         %[[N0:.+]] = llm.rms_norm %[[X]], %[[W]] eps 1.000000e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[N1:.+]] = llm.rms_norm %[[X]], %[[W]] eps 9.9999999999999995E-7 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    return %[[N0]], %[[N1]]
func.func @rms_norm(%x: tensor<?x?x64xbf16>, %w: tensor<64xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %0 = llm.rms_norm %x, %w eps 1.0e-05 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
  %1 = llm.rms_norm %x, %w eps 1.0e-06 : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xbf16>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}

// CHECK-LABEL: func.func @linear(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[W:[^:]+]]: tensor<16x64xbf16>, %[[B:[^:]+]]: tensor<16xbf16>)
// CHECK:         %[[L0:.+]] = llm.linear %[[X]], %[[W]] : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
// CHECK-NEXT:    %[[L1:.+]] = llm.linear %[[X]], %[[W]] bias %[[B]] : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
// CHECK-NEXT:    return %[[L0]], %[[L1]]
func.func @linear(%x: tensor<?x?x64xbf16>, %w: tensor<16x64xbf16>, %b: tensor<16xbf16>) -> (tensor<?x?x16xbf16>, tensor<?x?x16xbf16>) {
  %0 = llm.linear %x, %w : (tensor<?x?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x?x16xbf16>
  %1 = llm.linear %x, %w bias %b : (tensor<?x?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x?x16xbf16>
  return %0, %1 : tensor<?x?x16xbf16>, tensor<?x?x16xbf16>
}

// The bias of a row-parallel linear is added after the all-reduce.
// CHECK-LABEL: func.func @bias_add(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[B:[^:]+]]: tensor<64xbf16>, %[[Y:[^:]+]]: tensor<3x5xf32>, %[[C:[^:]+]]: tensor<?xf32>)
// CHECK:         %[[R0:.+]] = llm.bias_add %[[X]], %[[B]] : tensor<?x?x64xbf16>, tensor<64xbf16>
// CHECK-NEXT:    %[[R1:.+]] = llm.bias_add %[[Y]], %[[C]] : tensor<3x5xf32>, tensor<?xf32>
// CHECK-NEXT:    return %[[R0]], %[[R1]]
func.func @bias_add(%x: tensor<?x?x64xbf16>, %b: tensor<64xbf16>, %y: tensor<3x5xf32>, %c: tensor<?xf32>) -> (tensor<?x?x64xbf16>, tensor<3x5xf32>) {
  %0 = llm.bias_add %x, %b : tensor<?x?x64xbf16>, tensor<64xbf16>
  %1 = llm.bias_add %y, %c : tensor<3x5xf32>, tensor<?xf32>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<3x5xf32>
}

// The rope attribute is written without its #llm.rope prefix inside the op.
// CHECK-LABEL: func.func @rope(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[P:[^:]+]]: tensor<?x?xi64>)
// CHECK:         %[[R0:.+]] = llm.rope %[[X]], %[[P]] head_dim 8 <theta = 1.000000e+04> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[R1:.+]] = llm.rope %[[X]], %[[P]] head_dim 8 <theta = 1.000000e+04, linear, factor = 4.000000e+00> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[R2:.+]] = llm.rope %[[X]], %[[P]] head_dim 16 <theta = 5.000000e+05, llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 8192> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:    return %[[R0]], %[[R1]], %[[R2]]
func.func @rope(%x: tensor<?x?x64xbf16>, %p: tensor<?x?xi64>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %0 = llm.rope %x, %p head_dim 8 <theta = 10000.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  %1 = llm.rope %x, %p head_dim 8 <theta = 10000.0, linear, factor = 4.0> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  %2 = llm.rope %x, %p head_dim 16 <theta = 500000.0, llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position = 8192> : (tensor<?x?x64xbf16>, tensor<?x?xi64>) -> tensor<?x?x64xbf16>
  return %0, %1, %2 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}

// Attention without a cache and with only the required attributes.
// CHECK-LABEL: func.func @attention_no_cache(
// CHECK-SAME:      %[[Q:[^:]+]]: tensor<?x?x64xbf16>, %[[K:[^:]+]]: tensor<?x?x16xbf16>, %[[V:[^:]+]]: tensor<?x?x16xbf16>, %[[P:[^:]+]]: tensor<?x?xi64>)
// CHECK:         %[[A0:.+]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[P]] heads 8 kv_heads 2 head_dim 8 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
// CHECK-NEXT:    %[[A1:.+]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[P]] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
// CHECK-NEXT:    return %[[A0]], %[[A1]]
func.func @attention_no_cache(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>) {
  %0 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  %1 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return %0, %1 : tensor<?x?x64xbf16>, tensor<?x?x64xbf16>
}

// Attention with a cache slot, a sliding window and an explicit scale, each
// alone and all together.
// CHECK-LABEL: func.func @attention_cache(
// CHECK-SAME:      %[[Q:[^:]+]]: tensor<?x?x64xbf16>, %[[K:[^:]+]]: tensor<?x?x16xbf16>, %[[V:[^:]+]]: tensor<?x?x16xbf16>, %[[P:[^:]+]]: tensor<?x?xi64>, %[[C:[^:]+]]: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>)
// CHECK:         llm.attention %[[Q]], %[[K]], %[[V]], %[[P]] cache(%[[C]] : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) [3] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]], %[[P]] heads 8 kv_heads 2 head_dim 8 causal window 4096 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]], %[[P]] heads 8 kv_heads 2 head_dim 8 scale 1.250000e-01 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
// CHECK-NEXT:    llm.attention %[[Q]], %[[K]], %[[V]], %[[P]] cache(%[[C]] : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) [0] heads 8 kv_heads 2 head_dim 8 causal window 16 scale 2.500000e-01 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
// CHECK-NEXT:    return
func.func @attention_cache(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x16xbf16>, %v: tensor<?x?x16xbf16>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) {
  %0 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) [3] heads 8 kv_heads 2 head_dim 8 causal : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  %1 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 causal window 4096 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  %2 = llm.attention %q, %k, %v, %p heads 8 kv_heads 2 head_dim 8 scale 0.125 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  %3 = llm.attention %q, %k, %v, %p cache(%c : !llm.kv_cache<layers = 4, kv_heads = 2, head_dim = 8, bf16>) [0] heads 8 kv_heads 2 head_dim 8 causal window 16 scale 0.25 : tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi64> -> tensor<?x?x64xbf16>
  return
}

// Multi-head attention (kv_heads = heads) with f32 activations.
// CHECK-LABEL: func.func @attention_mha(
// CHECK:         llm.attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} heads 4 kv_heads 4 head_dim 2 causal : tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3xi64> -> tensor<1x3x8xf32>
func.func @attention_mha(%q: tensor<1x3x8xf32>, %p: tensor<1x3xi64>) -> tensor<1x3x8xf32> {
  %0 = llm.attention %q, %q, %q, %p heads 4 kv_heads 4 head_dim 2 causal : tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3xi64> -> tensor<1x3x8xf32>
  return %0 : tensor<1x3x8xf32>
}

// CHECK-LABEL: func.func @swiglu_add(
// CHECK-SAME:      %[[G:[^:]+]]: tensor<?x?x96xbf16>, %[[U:[^:]+]]: tensor<?x?x96xbf16>)
// CHECK:         %[[S:.+]] = llm.swiglu %[[G]], %[[U]] : tensor<?x?x96xbf16>
// CHECK-NEXT:    %[[A:.+]] = llm.add %[[S]], %[[U]] : tensor<?x?x96xbf16>
// CHECK-NEXT:    return %[[A]]
func.func @swiglu_add(%g: tensor<?x?x96xbf16>, %u: tensor<?x?x96xbf16>) -> tensor<?x?x96xbf16> {
  %0 = llm.swiglu %g, %u : tensor<?x?x96xbf16>
  %1 = llm.add %0, %u : tensor<?x?x96xbf16>
  return %1 : tensor<?x?x96xbf16>
}
