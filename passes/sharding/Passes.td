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
    The plan is concrete: `--shard=auto` is resolved by the tools (llm-opt,
    llm-run, llm-compile) with the planner before any pass runs, so this
    pass refuses `auto`.
    On success it creates the device grid, outermost axis first.

    Before:
    ```mlir
    module { llm.weight ... func.func @forward(...) }
    ```
    After `--llm-shard-create-grid=spec=tp4,pp2`:
    ```mlir
    module attributes {dist.plan = #dist.plan<axes = ["pp", "tp"],
                                              shape = [2, 4], microbatches = 1>} {
      shard.grid @grid(shape = 2x4)
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
  let dependentDialects = ["::llmc::dist::DistDialect",
                           "::mlir::shard::ShardDialect"];
}

def ExpertParallel : Pass<"llm-shard-expert-parallel", "::mlir::ModuleOp"> {
  let summary = "Spreads routed experts over the grid's ep axis";
  let description = [{
    Each MoE layer's experts are assigned contiguously to the ep
    coordinates (the first num_experts % ep coordinates take one more when
    ep does not divide the expert count); each expert weight records its
    `#llm.owner`, so a rank loads only its experts. The dense part of the
    model is data-parallel over ep (each ep rank routes its own batch rows,
    as in DeepSpeed-MoE and vLLM's expert parallelism), so every MoE layer
    gets exactly two all-to-alls: `dist.expert_dispatch` before the experts
    and `dist.expert_combine` after them. Shared experts stay dense.

    Before:
    ```mlir
    %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 renormalize : ...
    %y = llm.experts %x, %w, %i experts 8 gate(...) up(...) down(...) : ...
    ```
    After (ep4):
    ```mlir
    %w, %i = llm.moe_router %x, %gate experts 8 top_k 2 renormalize : ...
    %t, %tw, %ti, %r = dist.expert_dispatch %x, %w, %i on @grid axis 0 owners [0, 0, 1, 1, 2, 2, 3, 3] : ...
    %e = llm.experts %t, %tw, %ti experts 8 owners("ep") [0, 0, 1, 1, 2, 2, 3, 3] gate(...) ... : ...
    %y = dist.expert_combine %e, %r, %x on @grid axis 0 : ...
    ```
  }];
  let dependentDialects = ["::llmc::dist::DistDialect"];
}

def SequenceParallel : Pass<"llm-shard-sequence-parallel", "::mlir::ModuleOp"> {
  let summary = "Splits the sequence over the grid's sp axis (ring attention)";
  let description = [{
    Context parallelism for long prompts: token ids and positions are split
    into contiguous sequence blocks over sp (positions stay global, so RoPE
    is unchanged), every per-token op runs on its block, and each attention
    becomes a `dist.ring_attention` that passes key/value blocks around the
    ring sp - 1 times with online-softmax merging; the KV cache is sharded by
    sequence. Only the last token's hidden state is needed at the end: each
    rank's last token is all-gathered (sp rows, not the sequence) and the
    global last one kept.

    Before:
    ```mlir
    %a = llm.attention %q, %k, %v, %pos cache(%c : ...) [0] heads 32 kv_heads 8 head_dim 128 causal : ...
    ...
    %l = llm.last_token %h : (tensor<?x?x4096xbf16>) -> tensor<?x1x4096xbf16>
    ```
    After (sp4):
    ```mlir
    %a = dist.ring_attention %q, %k, %v, %pos cache(%c : ...) [0] heads 32 kv_heads 8 head_dim 128 causal on @grid axis 0 steps 3 : ...
    ...
    %l0 = llm.last_token %h : (tensor<?x?x4096xbf16>) -> tensor<?x1x4096xbf16>
    %g = shard.all_gather %l0 on @grid grid_axes = [0] gather_axis = 1 : tensor<?x1x4096xbf16> -> tensor<?x4x4096xbf16>
    %l = llm.last_token %g : (tensor<?x4x4096xbf16>) -> tensor<?x1x4096xbf16>
    ```
    The module's plan gets `sequence_axis = "sp"`: executors split prompts of
    at least sp tokens into blocks and give shorter inputs (decode steps) to
    every rank.
  }];
  let dependentDialects = ["::llmc::dist::DistDialect",
                           "::mlir::shard::ShardDialect"];
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
  let summary = "Splits the batch over the grid's dp (and ep) axes";
  let description = [{
    Data-parallel replicas hold the whole (tp/pp-sharded) model and process
    disjoint rows of the batch, with no communication in the forward pass.
    Expert parallelism also splits the batch over its axis for everything
    but the experts. The pass records the axes that split the batch, outer
    first, in the module's plan:

    ```mlir
    module attributes {dist.plan = #dist.plan<axes = ["dp", "ep"],
        shape = [2, 2], microbatches = 1, batch_axes = ["dp", "ep"]>}
    ```
  }];
  let dependentDialects = ["::llmc::dist::DistDialect"];
}

#endif // LLMC_PASSES_SHARDING_PASSES_TD
