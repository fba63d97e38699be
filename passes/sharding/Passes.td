//===- Passes.td - sharding passes -------------------------*- tablegen -*-===//
//
// Turn the whole-model graph into the per-rank SPMD program: validate the
// plan and create the grid, split tensors Megatron-style, split the batch.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_SHARDING_PASSES_TD
#define LLMC_PASSES_SHARDING_PASSES_TD

include "mlir/Pass/PassBase.td"

def CreateGrid : Pass<"llm-shard-create-grid", "::mlir::ModuleOp"> {
  let summary = "Checks a sharding plan against the model and creates its grid";
  let description = [{
    Parses `spec` (tpN, ppN, epN, spN, dpN), checks that the model can take
    it — heads, kv heads and MLP widths divisible by tp (kv heads may instead
    be replicated when tp is a multiple of them), pp at most the number of
    decoder layers, the product at most `gpus` — and emits one diagnostic
    per violated rule at the op it concerns, listing the valid degrees.
    On success it creates the device grid, outermost axis first.

    Before:
    ```mlir
    module { llm.weight ... func.func @forward(...) }
    ```
    After `--llm-shard-create-grid=spec=tp4,pp2`:
    ```mlir
    module attributes {dist.spec = "tp4,pp2", dist.microbatches = 1 : i64} {
      shard.grid @grid(shape = 2x4) {dist.axes = ["pp", "tp"]}
      ...
    }
    ```
  }];
  let options = [
    Option<"spec", "spec", "std::string", /*default=*/"\"\"",
           "Sharding plan, e.g. tp4,pp2">,
    Option<"gpus", "gpus", "int64_t", /*default=*/"0",
           "GPUs available (0: the product of the degrees)">,
    Option<"microbatches", "microbatches", "int64_t", /*default=*/"1",
           "Pipeline micro-batches per batch">,
  ];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

def TensorParallel : Pass<"llm-shard-tensor-parallel", "::mlir::ModuleOp"> {
  let summary = "Megatron tensor parallelism over the grid's tp axis";
  let description = [{
    Column-parallel q/k/v and gate/up projections (each rank keeps its heads
    or its slice of the MLP width), row-parallel o_proj and down_proj
    followed by one `shard.all_reduce` each — two per layer —, vocab-parallel
    embedding (masked lookup + all-reduce) and lm_head (local logits +
    `shard.all_gather`), replicated norms. Query heads are split; kv heads
    are split when tp <= num_kv_heads and otherwise replicated so each rank
    keeps the kv head its query heads use. Routed and shared experts split
    their intermediate width and share one all-reduce. Every sliced weight
    records its `#llm.slice` and gets its local type.

    Before:
    ```mlir
    %q = llm.linear %x, %wq : (tensor<?x?x4096xbf16>, tensor<4096x4096xbf16>) -> tensor<?x?x4096xbf16>
    ...
    %o = llm.linear %a, %wo : (tensor<?x?x4096xbf16>, tensor<4096x4096xbf16>) -> tensor<?x?x4096xbf16>
    ```
    After (tp4):
    ```mlir
    %q = llm.linear %x, %wq : (tensor<?x?x4096xbf16>, tensor<1024x4096xbf16>) -> tensor<?x?x1024xbf16>
    ...
    %p = llm.linear %a, %wo : (tensor<?x?x1024xbf16>, tensor<4096x1024xbf16>) -> tensor<?x?x4096xbf16>
    %o = shard.all_reduce %p on @grid grid_axes = [0] : tensor<?x?x4096xbf16> -> tensor<?x?x4096xbf16>
    ```
  }];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

def DataParallel : Pass<"llm-shard-data-parallel", "::mlir::ModuleOp"> {
  let summary = "Splits the batch over the grid's dp axis";
  let description = [{
    Data-parallel replicas hold the whole (tp/pp-sharded) model and process
    disjoint rows of the batch, with no communication in the forward pass.
    The pass records the split on `@forward`:

    ```mlir
    func.func @forward(...) attributes {dist.data_parallel_axis = "dp"}
    ```
  }];
}

#endif // LLMC_PASSES_SHARDING_PASSES_TD
