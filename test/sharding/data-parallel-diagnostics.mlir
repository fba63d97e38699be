// RUN: llm-opt %s --llm-shard-data-parallel -verify-diagnostics

// A dp grid but no @forward to record the batch split on.
// expected-error@+1 {{expected a func.func @forward to split}}
module {
  shard.grid @grid(shape = 2) {dist.axes = ["dp"]}
  func.func @main() {
    return
  }
}
