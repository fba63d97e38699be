//===- Passes.td - pipeline-parallel passes ----------------*- tablegen -*-===//

#ifndef LLMC_PASSES_PIPELINE_PASSES_TD
#define LLMC_PASSES_PIPELINE_PASSES_TD

include "mlir/Pass/PassBase.td"

def PipelineSplit : Pass<"llm-pipeline-split", "::mlir::ModuleOp"> {
  let summary = "Splits @forward into contiguous, cost-balanced pipeline stages";
  let description = [{
    Partitions the decoder layers over the grid's pp axis into contiguous
    stages that minimise the largest stage's parameter bytes (the embedding
    counts with the first stage, the final norm and lm_head with the last),
    wraps each in a `dist.stage`, sends activations between stages with
    `dist.transfer` and runs the stages per micro-batch in a
    `dist.pipeline` (micro-batch count from the module's plan,
    `#dist.plan<..., microbatches = N>`).

    Before (pp2):
    ```mlir
    func.func @forward(%ids, %pos, %cache) {
      %h = llm.embedding ...
      %h0 = llm.decoder_layer 0 (...)
      %h1 = llm.decoder_layer 1 (...)
      ...
      return %logits, %next
    }
    ```
    After:
    ```mlir
    func.func @forward(%ids, %pos, %cache) {
      %r:2 = dist.pipeline microbatches 1 (%ids, %pos, %cache) {
      ^bb0(%i, %p, %c):
        %a = dist.stage 0 layers [0, 1) (%i, %p, %c) { ... dist.yield %h0 }
        %t = dist.transfer %a on @grid axis 0 from 0 to 1 : tensor<?x?x4096xbf16>
        %b:2 = dist.stage 1 layers [1, 2) (%t, %p, %c) { ... dist.yield %logits, %next }
        dist.yield %b#0, %b#1
      }
      return %r#0, %r#1
    }
    ```
  }];
  let dependentDialects = ["::llmc::dist::DistDialect"];
}

#endif // LLMC_PASSES_PIPELINE_PASSES_TD
