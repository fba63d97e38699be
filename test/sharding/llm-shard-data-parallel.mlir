// RUN: llm-opt %s -split-input-file --llm-shard-data-parallel | FileCheck %s

// Data parallelism changes no op: replicas run the same program on other
// batch rows. The pass records the axes that split the batch in the plan,
// outermost first: dp, and ep (expert-parallel ranks route their own rows).

// CHECK-LABEL: module @dp attributes {dist.plan = #dist.plan<axes = ["dp", "tp"], shape = [2, 2], microbatches = 1, batch_axes = ["dp"]>} {
// CHECK:         func.func @forward(%{{[^:]+}}: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
// CHECK-NEXT:      return
// CHECK:         func.func @helper() {
module @dp attributes {dist.plan = #dist.plan<axes = ["dp", "tp"], shape = [2, 2], microbatches = 1>} {
  shard.grid @grid(shape = 2x2)
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    return %h : tensor<?x?x64xbf16>
  }
  func.func @helper() {
    return
  }
}

// -----

// CHECK-LABEL: module @dp_ep attributes {dist.plan = #dist.plan<axes = ["dp", "ep"], shape = [2, 2], microbatches = 1, batch_axes = ["dp", "ep"]>} {
// CHECK:         func.func @forward() {
module @dp_ep attributes {dist.plan = #dist.plan<axes = ["dp", "ep"], shape = [2, 2], microbatches = 1>} {
  shard.grid @grid(shape = 2x2)
  func.func @forward() {
    return
  }
}

// -----

// No dp or ep axis (or no grid): nothing to record.
// CHECK-LABEL: module @tp_pp attributes {dist.plan = #dist.plan<axes = ["pp", "tp"], shape = [2, 2], microbatches = 1>} {
// CHECK-NOT:     batch_axes
module @tp_pp attributes {dist.plan = #dist.plan<axes = ["pp", "tp"], shape = [2, 2], microbatches = 1>} {
  shard.grid @grid(shape = 2x2)
  func.func @forward() {
    return
  }
}

// -----

// CHECK-LABEL: module @unsharded {
// CHECK-NOT:     batch_axes
module @unsharded {
  func.func @forward() {
    return
  }
}
