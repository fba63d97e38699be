// RUN: llm-opt %s -split-input-file --llm-shard-data-parallel | FileCheck %s

// Data parallelism changes no op: replicas run the same program on other
// batch rows. The pass records the axes that split the batch on @forward,
// outermost first: dp, and ep (expert-parallel ranks route their own rows).

// CHECK-LABEL: module @dp {
// CHECK:         func.func @forward(%{{[^:]+}}: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> attributes {dist.batch_axes = ["dp"]} {
// CHECK-NEXT:      return
// CHECK:         func.func @helper() {
module @dp {
  shard.grid @grid(shape = 2x2) {dist.axes = ["dp", "tp"]}
  func.func @forward(%h: tensor<?x?x64xbf16>) -> tensor<?x?x64xbf16> {
    return %h : tensor<?x?x64xbf16>
  }
  func.func @helper() {
    return
  }
}

// -----

// CHECK-LABEL: module @dp_ep {
// CHECK:         func.func @forward() attributes {dist.batch_axes = ["dp", "ep"]} {
module @dp_ep {
  shard.grid @grid(shape = 2x2) {dist.axes = ["dp", "ep"]}
  func.func @forward() {
    return
  }
}

// -----

// No dp or ep axis (or no grid): nothing to record.
// CHECK-LABEL: module @tp_pp {
// CHECK-NOT:     dist.batch_axes
module @tp_pp {
  shard.grid @grid(shape = 2x2) {dist.axes = ["pp", "tp"]}
  func.func @forward() {
    return
  }
}

// -----

// CHECK-LABEL: module @unsharded {
// CHECK-NOT:     dist.batch_axes
module @unsharded {
  func.func @forward() {
    return
  }
}
