//===- Passes.td - lowering passes: per-rank program to C++ -*- tablegen -*-===//
//
// The last phase of llm-compile: the sharded per-rank program (llm ops,
// shard collectives, dist pipeline and expert ops) becomes upstream emitc,
// which mlir::emitc::translateToCpp prints as the model's CUDA C++ host
// code calling the runtime (runtime/abi/Ops.h).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_LOWERING_PASSES_TD
#define LLMC_PASSES_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToEmitC : Pass<"llm-lower-to-emitc", "::mlir::ModuleOp"> {
  let summary = "Lowers the per-rank program to emitc calls of the runtime";
  let description = [{
    Replaces the module's contents by one `emitc.func @llmc_forward`
    (`extern "C" void llmc_forward(llmc::rt::Rank &, const llmc::rt::Step &,
    float *logits, int64_t *next)`, declared in runtime/abi/Ops.h) and the
    constant tables it uses. Every op becomes an `emitc.call_opaque` of its
    runtime function:

    * activations are `llmc::rt::Act` values from `llmc::rt::alloc(r, rows,
      cols)`, rows being the step's tokens (`batch * seq`, computed once),
      its batch (after `llm.last_token`) or, for expert-parallel dispatch,
      an upper bound on the routed rows. Buffers are reused once their
      value is dead (liveness over the flattened program), and ops the
      runtime runs in place (rope, bias_add, all_reduce) reuse their input;
    * weights are `llmc::rt::weight(r, i)`, i being the weight's position
      in the module (and in manifest.json's "weights" list);
    * shapes the kernels are specialised for are template arguments:
      `llmc::rt::attention<head_dim, heads / kv_heads>`,
      `llmc::rt::rope<head_dim>`;
    * an `llm.add` whose result feeds a later `llm.rms_norm` and whose
      residual operand dies there becomes one `llmc::rt::addRmsNorm`;
      with `residual=fp32` the residual stream (the adds chained from the
      embedding) lives in fp32 buffers: `addRmsNormF32` / `addF32` /
      `rmsNormF32` / `lastTokenF32`, the first add reading the bf16
      embedding;
    * `dist.stage s` becomes `if (coord(pp) == s) { ... }` (`emitc.if`),
      `dist.transfer` a `send` / `recv` pair, `dist.pipeline` with M > 1
      micro-batches an `emitc.for` over chunks of the batch with their own
      `Step` (ids, positions and KV-cache rows offset);
    * `shard.all_reduce` / `shard.all_gather` and `dist.expert_dispatch` /
      `dist.expert_combine` become the runtime's collectives on the grid
      axis of the same index;
    * a row-parallel `llm.linear` whose only use is a sum `shard.all_reduce`
      over one grid axis (and the `llm.bias_add` of the sum, where the
      tensor-parallel pass moved the bias) becomes one
      `llmc::rt::linearAllReduce`: fp32 GEMM output, fp32 reduction, one
      rounding to bf16, as the unsharded linear rounds. `tp-reduce=bf16`
      keeps `linear` + `allReduce` on bf16 partials (half the bytes on the
      wire, two more roundings).
    * q, k and v projected from one input, bf16 without bias and read only
      by attention (through its ropes), are column views
      (`llmc::rt::columns`) of one `[tokens, q|k|v]` buffer: beyond the
      decode kernels' rows one GEMM writes them in place, no split.
      `qkv-views=false` gives each its own buffer.

    Ops it cannot lower (`llm.sample`, `dist.ring_attention`: sequence
    parallelism) are errors naming the op.

    Before (tp2, one layer shown):
    ```mlir
    %q = llm.linear %x, %wq : (tensor<?x?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x?x32xbf16>
    %qr = llm.rope %q, %pos head_dim 8 <theta = 5.0e+05> : ...
    %a = llm.attention %qr, %kr, %v, %pos cache(%c : ...) [0] heads 4 kv_heads 2 head_dim 8 causal : ...
    %o = llm.linear %a, %wo : ...
    %s = shard.all_reduce %o on @grid grid_axes = [0] : ...
    %h = llm.add %x, %s : tensor<?x?x64xbf16>
    %n = llm.rms_norm %h, %w eps 1.0e-05 : ...
    ```
    After (as C++):
    ```c++
    llmc::rt::Weight v20 = llmc::rt::weight(v1, 2);
    llmc::rt::linear(v1, v21, v19, v20, nullptr);
    llmc::rt::rope<8>(v1, v21, v2, v7, 4);
    llmc::rt::AttentionParams v25 = {/*heads=*/4, /*kvHeads=*/2, ...};
    llmc::rt::attention<8, 2>(v1, v26, v21, v23, v24, v2, v25, true);
    llmc::rt::Act v28 = llmc::rt::allocF32(v1, v8, 64);
    llmc::rt::linearAllReduce(v1, v19, v26, v27, nullptr, 0, v28);
    llmc::rt::addRmsNorm(v1, v30, v16, v19, v29, 9.999999740e-06f);
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"\"",
           "GPU architecture the code is built for (e.g. sm_90a); recorded "
           "in the generated file's header">,
    Option<"tpReduce", "tp-reduce", "std::string", /*default=*/"\"fp32\"",
           "Precision of the all-reduce after a row-parallel linear: fp32 "
           "(linearAllReduce: fp32 partials, one rounding to bf16, as the "
           "unsharded linear) or bf16 (linear + allReduce of bf16 "
           "partials: half the bytes on the wire)">,
    Option<"residual", "residual", "std::string", /*default=*/"\"bf16\"",
           "Precision of the residual stream: bf16 (rounded at every add, "
           "as transformers in bf16) or fp32 (the stream's adds write fp32 "
           "buffers: addRmsNormF32, addF32, rmsNormF32, lastTokenF32; plans "
           "with pipeline stages, or a stream value read by other ops, keep "
           "bf16)">,
    Option<"qkvViews", "qkv-views", "bool", /*default=*/"true",
           "Sibling projections read only by attention (q, k, v: bf16, no "
           "bias) are column views of one buffer one GEMM writes "
           "(llmc::rt::columns); false: separate buffers, the GEMM into "
           "scratch and a split kernel (for comparison)">,
  ];
  let dependentDialects = ["::mlir::emitc::EmitCDialect"];
}

#endif // LLMC_PASSES_LOWERING_PASSES_TD
