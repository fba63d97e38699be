// RUN: llm-opt %s --llm-shard-data-parallel -verify-diagnostics

// A dp grid but no @forward to record the batch split on.
// expected-error@+1 {{expected a func.func @forward to split}}
module attributes {dist.plan = #dist.plan<axes = ["dp"], shape = [2], microbatches = 1>} {
  shard.grid @grid(shape = 2)
  func.func @main() {
    return
  }
}
