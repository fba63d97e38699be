// RUN: llm-opt %s | llm-opt | FileCheck %s
// RUN: llm-opt %s --mlir-print-op-generic | llm-opt | FileCheck %s

// last_token, lm_head, argmax and sample print in a form that parses back to
// the same IR.

llm.weight @lm_head.weight : tensor<256x64xbf16>
llm.weight @model.embed_tokens.weight : tensor<256x64xbf16>

// CHECK-LABEL: func.func @last_token(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x?x64xbf16>, %[[Y:[^:]+]]: tensor<2x7x8xf32>)
// CHECK:         %[[L0:.+]] = llm.last_token %[[X]] : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
// CHECK-NEXT:    %[[L1:.+]] = llm.last_token %[[Y]] : (tensor<2x7x8xf32>) -> tensor<2x1x8xf32>
// CHECK-NEXT:    return %[[L0]], %[[L1]]
func.func @last_token(%x: tensor<?x?x64xbf16>, %y: tensor<2x7x8xf32>) -> (tensor<?x1x64xbf16>, tensor<2x1x8xf32>) {
  %0 = llm.last_token %x : (tensor<?x?x64xbf16>) -> tensor<?x1x64xbf16>
  %1 = llm.last_token %y : (tensor<2x7x8xf32>) -> tensor<2x1x8xf32>
  return %0, %1 : tensor<?x1x64xbf16>, tensor<2x1x8xf32>
}

// CHECK-LABEL: func.func @lm_head(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x1x64xbf16>)
// CHECK:         %[[W:.+]] = llm.param @lm_head.weight : tensor<256x64xbf16>
// CHECK-NEXT:    %[[E:.+]] = llm.param @model.embed_tokens.weight : tensor<256x64xbf16>
// CHECK-NEXT:    %[[H0:.+]] = llm.lm_head %[[X]], %[[W]] : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
// CHECK-NEXT:    %[[H1:.+]] = llm.lm_head %[[X]], %[[E]] tied : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
// CHECK-NEXT:    %[[H2:.+]] = llm.lm_head %[[X]], %[[W]] vocab_parallel : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
// CHECK-NEXT:    %[[H3:.+]] = llm.lm_head %[[X]], %[[E]] tied vocab_parallel : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
// CHECK-NEXT:    return %[[H0]], %[[H1]], %[[H2]], %[[H3]]
func.func @lm_head(%x: tensor<?x1x64xbf16>) -> (tensor<?x1x256xbf16>, tensor<?x1x256xbf16>, tensor<?x1x256xbf16>, tensor<?x1x256xbf16>) {
  %w = llm.param @lm_head.weight : tensor<256x64xbf16>
  %e = llm.param @model.embed_tokens.weight : tensor<256x64xbf16>
  %0 = llm.lm_head %x, %w : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
  %1 = llm.lm_head %x, %e tied : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
  %2 = llm.lm_head %x, %w vocab_parallel : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
  %3 = llm.lm_head %x, %e tied vocab_parallel : (tensor<?x1x64xbf16>, tensor<256x64xbf16>) -> tensor<?x1x256xbf16>
  return %0, %1, %2, %3 : tensor<?x1x256xbf16>, tensor<?x1x256xbf16>, tensor<?x1x256xbf16>, tensor<?x1x256xbf16>
}

// Logits over the whole prompt ([B, S, V]) are accepted too.
// CHECK-LABEL: func.func @lm_head_full_sequence(
// CHECK:         llm.lm_head %{{.+}}, %{{.+}} : (tensor<?x?x64xbf16>, tensor<256x64xbf16>) -> tensor<?x?x256xbf16>
func.func @lm_head_full_sequence(%x: tensor<?x?x64xbf16>, %w: tensor<256x64xbf16>) -> tensor<?x?x256xbf16> {
  %0 = llm.lm_head %x, %w : (tensor<?x?x64xbf16>, tensor<256x64xbf16>) -> tensor<?x?x256xbf16>
  return %0 : tensor<?x?x256xbf16>
}

// CHECK-LABEL: func.func @argmax(
// CHECK-SAME:      %[[L:[^:]+]]: tensor<?x1x256xbf16>, %[[L2:[^:]+]]: tensor<4x256xf32>)
// CHECK:         %[[A0:.+]] = llm.argmax %[[L]] : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
// CHECK-NEXT:    %[[A1:.+]] = llm.argmax %[[L2]] : (tensor<4x256xf32>) -> tensor<4xi32>
// CHECK-NEXT:    return %[[A0]], %[[A1]]
func.func @argmax(%l: tensor<?x1x256xbf16>, %l2: tensor<4x256xf32>) -> (tensor<?x1xi64>, tensor<4xi32>) {
  %0 = llm.argmax %l : (tensor<?x1x256xbf16>) -> tensor<?x1xi64>
  %1 = llm.argmax %l2 : (tensor<4x256xf32>) -> tensor<4xi32>
  return %0, %1 : tensor<?x1xi64>, tensor<4xi32>
}

// top_k prints only when it is not its default 0 (no limit).
// CHECK-LABEL: func.func @sample(
// CHECK-SAME:      %[[L:[^:]+]]: tensor<?x1x256xbf16>, %[[SEED:[^:]+]]: i64)
// CHECK:         %[[S0:.+]] = llm.sample %[[L]], %[[SEED]] temperature 5.000000e-01 top_p 8.750000e-01 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
// CHECK-NEXT:    %[[S1:.+]] = llm.sample %[[L]], %[[SEED]] temperature 1.000000e+00 top_p 1.000000e+00 top_k 40 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
// CHECK-NEXT:    %[[S2:.+]] = llm.sample %[[L]], %[[SEED]] temperature 2.000000e+00 top_p 2.500000e-01 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
// CHECK-NEXT:    return %[[S0]], %[[S1]], %[[S2]]
func.func @sample(%l: tensor<?x1x256xbf16>, %seed: i64) -> (tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>) {
  %0 = llm.sample %l, %seed temperature 0.5 top_p 0.875 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  %1 = llm.sample %l, %seed temperature 1.0 top_p 1.0 top_k 40 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  %2 = llm.sample %l, %seed temperature 2.0 top_p 0.25 top_k 0 : (tensor<?x1x256xbf16>, i64) -> tensor<?x1xi64>
  return %0, %1, %2 : tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>
}
