//===- LlmOps.td - input of back-edges.test (planted includes) ----------===//
include "mlir/IR/OpBase.td"
include "passes/sharding/Passes.td"
