//===- DistOps.td - dist dialect: pipeline stages and transfers -*- tablegen -*-===//
//
// What the upstream `shard` dialect lacks for inference serving: pipeline
// stages that run on a subset of the grid, point-to-point transfers of
// activations between them, and micro-batching. Modelled after MPMD pipeline
// programs (Shardy's mpmd fragments and transfers): stages are regions
// isolated from above, so each rank's program is the stages of its own
// pipeline coordinate plus the transfers at their boundaries.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_DIST_OPS_TD
#define LLMC_DIALECT_DIST_OPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Dist_Dialect : Dialect {
  let name = "dist";
  let cppNamespace = "::llmc::dist";
  let summary = "Pipeline stages, transfers and micro-batches";
  let description = [{
    A sharded module carries its plan as one attribute on the module,
    `dist.plan = #dist.plan<...>`, next to the `shard.grid @grid` whose
    axes it names; the dialect verifies the pair.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the module attribute holding the plan.
    static constexpr ::llvm::StringLiteral kPlanAttrName = "dist.plan";
    /// Name of the `shard.grid` symbol the plan describes.
    static constexpr ::llvm::StringLiteral kGridName = "grid";
  }];
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Dist_PlanAttr : AttrDef<Dist_Dialect, "Plan"> {
  let mnemonic = "plan";
  let summary = "how a sharded module is laid out on its device grid";
  let description = [{
    The axes of the module's `shard.grid @grid` by name (outermost first, in
    the order dp, pp, ep, sp, tp; axes of degree 1 are left out) and their
    degrees, the pipeline micro-batch count, the axes whose ranks split the
    batch rows (dp, then ep), and the axis that splits the sequence (sp).
    `llm-shard-create-grid` writes it; the data- and sequence-parallel
    passes fill in `batch_axes` and `sequence_axis`. `getGrid()` is the one
    conversion to the runtime's grid type (`runtime/plan/Grid.h`), whose
    rules the verifier applies.

    ```mlir
    module attributes {dist.plan = #dist.plan<axes = ["dp", "pp", "tp"],
        shape = [2, 2, 4], microbatches = 4, batch_axes = ["dp"]>} {
      shard.grid @grid(shape = 2x2x4)
      ...
    }
    ```
  }];
  let parameters = (ins ArrayRefParameter<"::mlir::StringAttr">:$axes,
                        ArrayRefParameter<"int64_t">:$shape,
                        "int64_t":$microbatches,
                        ArrayRefParameter<"::mlir::StringAttr">:$batchAxes,
                        "::mlir::StringAttr":$sequenceAxis);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "const ::llmc::rt::Grid &":$grid)>
  ];
  let extraClassDeclaration = [{
    /// The plan as the runtime's grid type: the one conversion from the IR.
    ::llmc::rt::Grid getGrid() const;
    /// Index of the named axis, or nullopt when the grid lacks it.
    std::optional<int64_t> axisIndex(::llvm::StringRef name) const;
    /// Degree of the named axis (1 when the grid lacks it).
    int64_t degree(::llvm::StringRef name) const;
    /// This plan with `batch_axes` replaced.
    PlanAttr withBatchAxes(::llvm::ArrayRef<::llvm::StringRef> axes) const;
    /// This plan with `sequence_axis` set to `axis`.
    PlanAttr withSequenceAxis(::llvm::StringRef axis) const;
  }];
}

class Dist_Op<string mnemonic, list<Trait> traits = []>
    : Op<Dist_Dialect, mnemonic, traits>;

def Dist_PipelineOp : Dist_Op<"pipeline", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "runs its body once per micro-batch";
  let description = [{
    The batch dim (dim 0) of every tensor operand is split into
    `microbatches` equal chunks; the body runs once per chunk, with the
    chunk's rows of the KV cache, and the chunks of each result are
    concatenated along dim 0. Stages inside run concurrently on different
    ranks, so with m micro-batches and p stages the pipeline bubble is
    (p - 1) / (m + p - 1).

    ```mlir
    %logits, %next = dist.pipeline microbatches 4 (%ids, %pos, %cache) : (...) -> (...) {
    ^bb0(%i: tensor<?x?xi64>, %p: tensor<?x?xi64>, %c: !llm.kv_cache<...>):
      ...
      dist.yield %l, %n : ...
    }
    ```
  }];
  let arguments = (ins I64Attr:$microbatches, Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `microbatches` $microbatches ` ` `(` $inputs `)` attr-dict `:`
    functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "int64_t":$microbatches, "::mlir::TypeRange":$resultTypes,
                   "::mlir::ValueRange":$inputs)>
  ];
}

def Dist_StageOp : Dist_Op<"stage", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "the part of the model one pipeline stage computes";
  let description = [{
    Runs only on the ranks whose coordinate along the grid's pipeline axis
    equals `stage`; its results exist only there and reach other stages
    through `dist.transfer`. `layers` = [first, end) are the decoder layers
    it holds: those ranks allocate the KV cache slots of these layers only
    and load only the weights the body uses.

    ```mlir
    %h = dist.stage 0 layers [0, 16) (%ids, %pos, %cache) : (...) -> tensor<?x?x4096xbf16> {
      ...
    }
    ```
  }];
  let arguments = (ins I64Attr:$stage, I64Attr:$first_layer,
                       I64Attr:$end_layer, Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $stage `layers` ` ` `[` $first_layer `,` $end_layer `)` ` ` `(` $inputs `)`
    attr-dict `:`
    functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "int64_t":$stage, "int64_t":$firstLayer,
                   "int64_t":$endLayer, "::mlir::TypeRange":$resultTypes,
                   "::mlir::ValueRange":$inputs)>
  ];
}

def Dist_TransferOp : Dist_Op<"transfer", [AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "point-to-point copy of a value from one stage to another";
  let description = [{
    Each rank of stage `from` sends `input` to the rank of stage `to` with
    the same coordinates on every other grid axis (send/recv, not a
    collective). The result exists on the `to` ranks only.

    ```mlir
    %h1 = dist.transfer %h0 on @grid axis 1 from 0 to 1 : tensor<?x?x4096xbf16>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$grid,
                       I64Attr:$axis, I64Attr:$from, I64Attr:$to);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `on` $grid `axis` $axis `from` $from `to` $to attr-dict `:`
    type($input)
  }];
  let hasVerifier = 1;
}

def Dist_ExpertDispatchOp : Dist_Op<"expert_dispatch", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "all-to-all that sends each routed token to its expert's rank";
  let description = [{
    For every token of `input` [B, S, H] and each of its top-k choices
    (`weights`, `indices` [B, S, k]), sends the token's row to the rank whose
    coordinate along grid axis `axis` is `owners[expert]`, with the same
    coordinates on every other axis. A rank receives N rows, one per
    (token, choice) routed to its experts, in (source rank, token, choice)
    order: `tokens` [1, N, H], their routing weight and expert id as
    [1, N, 1], and `route` [N, 3] = (source coordinate, flat token index,
    choice) so `dist.expert_combine` can send results back. N varies per
    rank and step, which a fixed-split `shard.all_to_all` cannot express.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weights,
                       AnyRankedTensor:$indices, FlatSymbolRefAttr:$grid,
                       I64Attr:$axis, DenseI64ArrayAttr:$owners);
  let results = (outs AnyRankedTensor:$tokens, AnyRankedTensor:$token_weights,
                      AnyRankedTensor:$token_indices, AnyRankedTensor:$route);
  let assemblyFormat = [{
    $input `,` $weights `,` $indices `on` $grid `axis` $axis `owners` $owners
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Dist_ExpertCombineOp : Dist_Op<"expert_combine", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "all-to-all that returns expert outputs and sums them per token";
  let description = [{
    Sends each row of `expert_output` [1, N, H] back to the rank and token
    named by the matching row of `route` (from the paired
    `dist.expert_dispatch`); each token's result is the sum of what its k
    choices returned, in choice order. `like` is the dispatched input, whose
    [B, S, H] shape the result takes.
  }];
  let arguments = (ins AnyRankedTensor:$expert_output, AnyRankedTensor:$route,
                       AnyRankedTensor:$like, FlatSymbolRefAttr:$grid,
                       I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $expert_output `,` $route `,` $like `on` $grid `axis` $axis attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Dist_RingAttentionOp : Dist_Op<"ring_attention", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "attention over a sequence split across the ranks of one axis";
  let description = [{
    `llm.attention` (same operands and attributes) for a sequence split into
    contiguous blocks over grid axis `axis` (context parallelism). Prefill
    (each rank holds its block of queries, keys and values, positions
    global): the rank attends to its own block, then `steps` times passes
    the key/value block (with its positions) to the next coordinate of the
    ring and receives the previous one's, merging the partial results with
    online softmax (running max and sum); causal masking compares global
    positions, so blocks wholly in a query's future contribute nothing.
    Each rank writes only its own block into `cache` (the KV cache is
    sharded by sequence). Decode (every rank holds the new tokens): the
    rank at coordinate `position % size` stores each new key/value; every
    rank attends over the positions it holds and the partial results are
    merged across the axis (log-sum-exp combine), so each rank ends with the
    full attention output. `steps` is the axis size minus one.
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$k,
                       AnyRankedTensor:$v, AnyRankedTensor:$positions,
                       Optional<AnyType>:$cache,
                       OptionalAttr<I64Attr>:$cache_slot,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim, UnitAttr:$causal,
                       OptionalAttr<I64Attr>:$sliding_window,
                       OptionalAttr<F64Attr>:$scale,
                       FlatSymbolRefAttr:$grid, I64Attr:$axis, I64Attr:$steps);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $positions
    (`cache` `(` $cache^ `:` type($cache) `)` `[` $cache_slot `]`)?
    `heads` $num_heads `kv_heads` $num_kv_heads `head_dim` $head_dim
    (`causal` $causal^)? (`window` $sliding_window^)? (`scale` $scale^)?
    `on` $grid `axis` $axis `steps` $steps
    attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($positions)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Dist_YieldOp : Dist_Op<"yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["PipelineOp", "StageOp"]>]> {
  let summary = "returns values from a stage or a pipeline body";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* empty */ }]>];
}

#endif // LLMC_DIALECT_DIST_OPS_TD
