// An op the executor does not know is refused by name, with its location;
// a plain (not vocab-parallel) embedding refuses ids beyond its table.
// REQUIRES: llm-run
// RUN: not llm-run %s --weights=random --prompt=1,2 2>&1 | FileCheck %s
// CHECK: llm-run: error: op 'arith.addf' is not supported by the reference executor (at {{.*}}unsupported.mlir:[[# @LINE + 8]]:10)

module {
  llm.weight @embed : tensor<16x8xf32>
  llm.weight @head : tensor<16x8xf32>
  func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> (tensor<?x1x16xf32>, tensor<?x1xi64>) {
    %t = llm.param @embed : tensor<16x8xf32>
    %x = llm.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
    %y = arith.addf %x, %x : tensor<?x?x8xf32>
    %l = llm.last_token %y : (tensor<?x?x8xf32>) -> tensor<?x1x8xf32>
    %w = llm.param @head : tensor<16x8xf32>
    %logits = llm.lm_head %l, %w : (tensor<?x1x8xf32>, tensor<16x8xf32>) -> tensor<?x1x16xf32>
    %next = llm.argmax %logits : (tensor<?x1x16xf32>) -> tensor<?x1xi64>
    return %logits, %next : tensor<?x1x16xf32>, tensor<?x1xi64>
  }
}
