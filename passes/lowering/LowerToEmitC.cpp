//===- LowerToEmitC.cpp - per-rank program to emitc calls of the runtime --===//
//
// Walks @forward of a sharded module and builds one emitc.func,
// `extern "C" void llmc_forward(Rank &, const Step &, float *, int64_t *)`,
// whose body calls the runtime interface of runtime/abi/Ops.h:
//
// * structure first (this file): dist.pipeline becomes a loop over
//   micro-batches (when there are several), dist.stage an `if` on the
//   rank's pipeline coordinate, dist.transfer a send/recv pair,
//   llm.decoder_layer is inlined (a comment marks it);
// * then op by op, in program order (LowerOps.cpp), each op becomes one
//   call whose activations come from a pool of arena buffers (Buffers.h)
//   and whose kernel shapes are template arguments.
//
// A hand-written walk rather than dialect-conversion patterns: the
// structure changes (a stage's results exist on some ranks only, a
// transfer splits across two stages' code) and buffer reuse needs the
// whole block's liveness, which patterns applied op by op do not see.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Lowering.h"
#include "passes/lowering/EmitCLowering.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#define DEBUG_TYPE "llm-lower-to-emitc"

namespace llmc {
#define GEN_PASS_DEF_LOWERTOEMITC
#include "passes/lowering/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::lowering;

SmallVector<llm::WeightOp> llmc::weightOrder(ModuleOp module) {
  llvm::StringSet<> used;
  module.walk([&](llm::ParamOp param) { used.insert(param.getName()); });
  SmallVector<llm::WeightOp> weights;
  for (llm::WeightOp w : module.getOps<llm::WeightOp>())
    if (used.contains(w.getSymName()))
      weights.push_back(w);
  return weights;
}

//===----------------------------------------------------------------------===//
// emitc building blocks
//===----------------------------------------------------------------------===//

Value Lowering::call(StringRef callee, Type result, ArrayRef<Arg> args,
                     ArrayRef<Attribute> templateArgs) {
  SmallVector<Value> operands;
  SmallVector<Attribute> order;
  for (const Arg &arg : args) {
    if (arg.value) {
      order.push_back(b.getIndexAttr(operands.size()));
      operands.push_back(arg.value);
    } else {
      order.push_back(arg.attr);
    }
  }
  TypeRange results = result ? TypeRange(result) : TypeRange();
  auto op = emitc::CallOpaqueOp::create(
      b, loc, results, callee, operands, b.getArrayAttr(order),
      templateArgs.empty() ? ArrayAttr() : b.getArrayAttr(templateArgs));
  return result ? op.getResult(0) : Value();
}

Value Lowering::coord(int64_t axis) {
  if (Value v = coords.lookup(axis))
    return v;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(prologueEnd);
  Value v = call("std::invoke", types.i32,
                 {opaque("&llmc::rt::Rank::coord"), rank, i32(axis)});
  prologueEnd = v.getDefiningOp();
  return coords[axis] = v;
}

emitc::IfOp Lowering::ifCoord(int64_t axis, int64_t value) {
  Value c = coord(axis);
  Value want = emitc::LiteralOp::create(b, loc, types.i32,
                                        std::to_string(value));
  return emitc::IfOp::create(b, loc, cmp(emitc::CmpPredicate::eq, c, want));
}


Value Lowering::table(StringRef name, ArrayRef<int64_t> values, bool asBool) {
  Type elem = asBool ? types.i1 : types.i32;
  auto type = emitc::ArrayType::get({static_cast<int64_t>(values.size())},
                                    elem);
  auto tensorType = RankedTensorType::get(type.getShape(), elem);
  Attribute init;
  if (asBool) {
    SmallVector<bool> bits(values.begin(), values.end());
    init = DenseElementsAttr::get(tensorType, ArrayRef<bool>(bits));
  } else {
    SmallVector<int32_t> ints(values.begin(), values.end());
    init = DenseElementsAttr::get(tensorType, ArrayRef<int32_t>(ints));
  }
  // Equal tables (owners, ownership rows) are shared by the layers.
  std::string &symbol = tableSymbols[{name.str() + (asBool ? "/b" : "/i"),
                                      std::vector<int64_t>(values.begin(),
                                                           values.end())}];
  if (!symbol.empty())
    return emitc::GetGlobalOp::create(b, loc, type, symbol);
  symbol = llvm::formatv("{0}_{1}", name, tables++).str();
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointAfter(globalsEnd);
    // Not const: `&table[i]` must convert to the `const T *` parameters,
    // and emitc spells element types without cv-qualifiers.
    globalsEnd = emitc::GlobalOp::create(
        b, loc, symbol, type, init, /*extern_specifier=*/false,
        /*static_specifier=*/true, /*const_specifier=*/false);
  }
  return emitc::GetGlobalOp::create(b, loc, type, symbol);
}

Value Lowering::ropeParams(llm::RopeAttr rope) {
  if (Value v = ropes.lookup(rope))
    return v;
  StringRef kind = rope.getKind() == llm::RopeScalingKind::llama3
                       ? "Llama3"
                   : rope.getKind() == llm::RopeScalingKind::linear ? "Linear"
                                                                    : "None";
  std::string init = namedInit(
      "llmc::rt::RopeParams",
      {{"theta", floatLiteral(rope.getThetaValue())},
       {"kind", "llmc::rt::RopeKind::" + kind.str()},
       {"factor", floatLiteral(rope.getFactorValue())},
       {"lowFreqFactor", floatLiteral(rope.getLowFreqFactorValue())},
       {"highFreqFactor", floatLiteral(rope.getHighFreqFactorValue())},
       {"originalMaxPosition", std::to_string(rope.getOriginalMaxPosition())}});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(prologueEnd);
  Value v = emitc::ConstantOp::create(b, loc, types.rope, opaque(init));
  prologueEnd = v.getDefiningOp();
  return ropes[rope] = v;
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

LogicalResult Lowering::run() {
  auto forward = llm::lookupEntry(module);
  if (!forward)
    return module.emitError(
        "llm-lower-to-emitc: expected a func.func @forward to lower");
  for (auto [i, w] : llvm::enumerate(weightOrder(module)))
    weightIndices[w.getSymName()] = static_cast<int64_t>(i);
  for (Type type : forward.getArgumentTypes())
    if (auto cache = dyn_cast<llm::KVCacheType>(type))
      kvCacheFp8 = cache.isFp8();

  // Decoder layers are inlined: their block arguments are their operands,
  // their results what their body yields.
  forward.walk([&](llm::DecoderLayerOp layer) {
    Block &body = layer.getBody().front();
    for (auto [arg, operand] :
         llvm::zip(body.getArguments(), layer.getInputs()))
      aliases[arg] = operand;
    for (auto [res, yielded] :
         llvm::zip(layer.getResults(), body.getTerminator()->getOperands()))
      aliases[res] = yielded;
  });

  // Everything goes into a fresh block; the old body is erased at the end.
  Block *old = module.getBody();
  Block *fresh = new Block();
  module.getBodyRegion().push_back(fresh);
  b.setInsertionPointToStart(fresh);
  loc = module.getLoc();
  std::string spec = "(unsharded)";
  if (grid.plan)
    spec = grid.plan.getGrid().specText();
  findWideResidual(forward);
  comment(llvm::formatv("Generated by llm-compile (plan {0}{1}{2}{3}{4}{5}); do "
                        "not edit. One forward step of this rank's program, "
                        "calling the runtime of runtime/abi/Ops.h.",
                        spec, target.empty() ? "" : ", target ", target,
                        fp32Reduce ? "" : ", tp-reduce=bf16",
                        qkvViews ? "" : ", qkv-views=false",
                        wide.empty() ? "" : ", residual=fp32"));
  emitc::IncludeOp::create(b, loc, "functional", /*isStandard=*/true);
  emitc::IncludeOp::create(b, loc, "runtime/abi/Ops.h", false);
  globalsEnd = emitc::IncludeOp::create(b, loc, "runtime/abi/Rank.h", false);
  includesEnd = globalsEnd;

  if (failed(lowerForward(forward)))
    return failure();
  emitKernelInstances();

  // The per-rank program is gone; only the emitc module remains, so the
  // plan that named its grid's axes goes too.
  old->dropAllDefinedValueUses();
  old->erase();
  module->removeAttr(dist::DistDialect::kPlanAttrName);

  SmallVector<Attribute> stages;
  for (auto &[stage, use] : arena)
    stages.push_back(b.getDictionaryAttr({
        b.getNamedAttr("stage", b.getI64IntegerAttr(stage)),
        b.getNamedAttr("bytes_per_token",
                       b.getI64IntegerAttr(use.bytesPerToken)),
        b.getNamedAttr("bytes_per_sequence",
                       b.getI64IntegerAttr(use.bytesPerSequence)),
        b.getNamedAttr("buffers", b.getI64IntegerAttr(use.buffers)),
    }));
  module->setAttr(kArenaAttr, b.getArrayAttr(stages));
  return success();
}

void Lowering::emitKernelInstances() {
  if (attentionInstances.empty() && ropeAttentionInstances.empty() &&
      ropeInstances.empty())
    return;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(includesEnd);
  // The kernels are templates over head_dim (and the GQA group): their
  // definitions come with the headers, and the instances this model calls
  // are compiled here, so any supported shape links.
  bool attention =
      !attentionInstances.empty() || !ropeAttentionInstances.empty();
  if (attention)
    emitc::VerbatimOp::create(
        b, loc,
        b.getStringAttr(llvm::formatv("#define LLMC_KV_CACHE_FP8 {0}",
                                      kvCacheFp8 ? 1 : 0)
                            .str()));
  emitc::IncludeOp::create(b, loc,
                           attention ? "runtime/kernels/Attention.cuh"
                                     : "runtime/kernels/Rope.cuh",
                           false);
  comment("Kernel instances for this model's head_dim and GQA group.");
  auto line = [&](const std::string &text) {
    emitc::VerbatimOp::create(b, loc, b.getStringAttr(text));
  };
  const char *attentionArgs =
      "(llmc::rt::Rank &, llmc::rt::Act, llmc::rt::Act, llmc::rt::Act, "
      "llmc::rt::Act, const llmc::rt::Step &, ";
  for (int64_t hd : ropeInstances)
    line(llvm::formatv("template void llmc::rt::rope<{0}>(llmc::rt::Rank &, "
                       "llmc::rt::Act, const llmc::rt::Step &, const "
                       "llmc::rt::RopeParams &, int);",
                       hd)
             .str());
  for (auto [hd, group] : attentionInstances)
    line(llvm::formatv("template void llmc::rt::attention<{0}, {1}>{2}const "
                       "llmc::rt::AttentionParams &, bool);",
                       hd, group, attentionArgs)
             .str());
  for (auto [hd, group] : ropeAttentionInstances)
    line(llvm::formatv("template void llmc::rt::ropeAttention<{0}, {1}>{2}"
                       "const llmc::rt::RopeParams &, const "
                       "llmc::rt::AttentionParams &, bool);",
                       hd, group, attentionArgs)
             .str());
}

LogicalResult Lowering::lowerForward(func::FuncOp forward) {
  if (forward.getNumResults() != 2)
    return forward.emitError("llm-lower-to-emitc: @forward must return "
                             "(logits, next token), got ")
           << forward.getNumResults() << " results";
  if (StringAttr axis = grid.plan ? grid.plan.getSequenceAxis() : StringAttr())
    return forward.emitError("llm-lower-to-emitc: sequence parallelism (")
           << axis << " axis) is not lowered to CUDA yet; compile the plan "
           << "without sp";

  // Which values become the function's outputs: follow the returned values
  // through pipeline, stage and layer yields to the ops computing them.
  auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    Value traced = v;
    while (auto res = dyn_cast<OpResult>(traced)) {
      Operation *owner = res.getOwner();
      if (!isa<dist::PipelineOp, dist::StageOp>(owner))
        break;
      traced = owner->getRegion(0).front().getTerminator()->getOperand(
          res.getResultNumber());
    }
    outputs[canonical(traced)] = i == 0 ? Output::Logits : Output::Next;
  }

  auto fnType = FunctionType::get(
      ctx, {types.rank, types.stepRef, types.f32Ptr, types.i64Ptr}, {});
  function = emitc::FuncOp::create(b, loc, kEntryPoint, fnType);
  function.setSpecifiersAttr(b.getStrArrayAttr({"extern \"C\""}));
  Block *entry = function.addEntryBlock();
  b.setInsertionPointToStart(entry);
  rank = entry->getArgument(0);

  // The step as an lvalue, to read its fields (emitc reads members of
  // lvalues only).
  Value stepVar = variable(types.step);
  {
    auto copy = emitc::ExpressionOp::create(b, loc, types.step,
                                            entry->getArgument(1));
    Block *body =
        b.createBlock(&copy.getRegion(), {}, {types.stepRef}, {loc});
    Value c = call("llmc::rt::Step", types.step, {body->getArgument(0)});
    emitc::YieldOp::create(b, loc, c);
    b.setInsertionPointAfter(copy);
    assign(stepVar, copy);
  }
  StepValues whole;
  whole.step = entry->getArgument(1);
  whole.batch = load(member(stepVar, "batch", types.i64));
  whole.seq = load(member(stepVar, "seq", types.i64));
  // batch x seq, or a varlen step's token count (Ops.h stepTokens).
  whole.tokens = call("llmc::rt::stepTokens", types.i64, {whole.step});
  whole.logits = entry->getArgument(2);
  whole.next = entry->getArgument(3);
  prologueEnd = whole.tokens.getDefiningOp();
  stepLvalue = stepVar;

  Block &body = forward.getBody().front();
  auto pipelines = llvm::to_vector(body.getOps<dist::PipelineOp>());
  if (!pipelines.empty()) {
    if (pipelines.size() != 1 || &body.front() != pipelines.front())
      return forward.emitError("llm-lower-to-emitc: expected the pipeline "
                               "(dist.pipeline) to be @forward's only op");
    if (failed(lowerPipeline(pipelines.front(), whole)))
      return failure();
  } else {
    ComputeScope scope(whole, /*stage=*/0);
    if (failed(lowerCompute(body, scope)))
      return failure();
    addArena(0, scope.arena);
  }
  emitc::ReturnOp::create(b, loc, Value());
  // With micro-batches only the chunks' token counts are used.
  if (whole.tokens.use_empty())
    whole.tokens.getDefiningOp()->erase();
  return success();
}

LogicalResult Lowering::lowerPipeline(dist::PipelineOp pipeline,
                                      StepValues &whole) {
  loc = pipeline.getLoc();
  int64_t m = static_cast<int64_t>(pipeline.getMicrobatches());
  Block &body = pipeline.getBody().front();
  if (m <= 1)
    return lowerPipelineBody(body, whole);

  // Micro-batches: chunks of ceil(batch / m) sequences, the last one
  // shorter (empty chunks are skipped, the same way on every rank). Each
  // chunk has its own ids, positions, KV-cache rows and output rows.
  auto logitsType = cast<RankedTensorType>(pipeline.getResult(0).getType());
  int64_t vocab = logitsType.getShape().back();
  comment(llvm::formatv("{0} micro-batches of ceil(batch / {0}) sequences",
                        m));
  Value chunk = emitc::DivOp::create(
      b, loc, types.i64, add(whole.batch, literal(m - 1)), literal(m));
  auto loop = emitc::ForOp::create(b, loc, literal(0), literal(m), literal(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  Value first = mul(loop.getInductionVar(), chunk);
  Value left = emitc::SubOp::create(b, loc, types.i64, whole.batch, first);
  Value n = emitc::ConditionalOp::create(
      b, loc, types.i64, cmp(emitc::CmpPredicate::lt, left, chunk), left,
      chunk);
  auto nonEmpty = emitc::IfOp::create(
      b, loc, cmp(emitc::CmpPredicate::gt, n, literal(0)));
  b.setInsertionPoint(nonEmpty.getThenRegion().front().getTerminator());

  Value mbVar = variable(types.step);
  assign(mbVar, load(stepLvalue));
  assign(member(mbVar, "batch", types.i64), n);
  Value offset = mul(first, whole.seq);
  for (StringRef field : {"ids", "positions"})
    assign(member(mbVar, field, types.idsPtr),
           add(load(member(stepLvalue, field, types.idsPtr)), offset));
  assign(member(mbVar, "cacheRow", types.i64),
         add(load(member(stepLvalue, "cacheRow", types.i64)), first));

  StepValues chunkStep;
  chunkStep.step = load(mbVar);
  chunkStep.batch = n;
  chunkStep.seq = whole.seq;
  chunkStep.tokens = mul(n, whole.seq);
  chunkStep.logits = add(whole.logits, mul(first, literal(vocab)));
  chunkStep.next = add(whole.next, first);
  return lowerPipelineBody(body, chunkStep);
}

LogicalResult Lowering::lowerPipelineBody(Block &body, StepValues &step) {
  // Stage and transfer results live in variables declared outside the
  // stages' `if`s: each exists on some ranks only.
  DenseMap<Value, Value> crossing;
  for (Operation &op : body) {
    loc = op.getLoc();
    LogicalResult ok =
        TypeSwitch<Operation *, LogicalResult>(&op)
            .Case([&](dist::StageOp stage) {
              return lowerStage(stage, step, crossing);
            })
            .Case([&](dist::TransferOp transfer) {
              return lowerTransfer(transfer, step, crossing);
            })
            .Case([&](dist::YieldOp) { return success(); })
            .Default([&](Operation *other) {
              return other->emitError("llm-lower-to-emitc: '")
                     << other->getName()
                     << "' outside a pipeline stage is not supported; "
                        "llm-pipeline-split puts every op in a dist.stage";
            });
    if (failed(ok))
      return failure();
  }
  return success();
}

LogicalResult Lowering::lowerStage(dist::StageOp stage, StepValues &step,
                                   DenseMap<Value, Value> &crossing) {
  std::optional<int64_t> ppAxis = grid.axisIndex("pp");
  if (!ppAxis)
    return stage.emitError("llm-lower-to-emitc: dist.stage in a grid "
                           "without a pp axis");
  for (OpResult res : stage->getResults())
    if (llvm::any_of(res.getUsers(),
                     [](Operation *user) { return !isa<dist::YieldOp>(user); }))
      crossing[res] = variable(types.act);

  comment(llvm::formatv("pipeline stage {0}: decoder layers [{1}, {2})",
                        stage.getStage(), stage.getFirstLayer(),
                        stage.getEndLayer()));
  auto ifOp = ifCoord(*ppAxis, stage.getStage());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.getThenRegion().front().getTerminator());

  ComputeScope scope(step, stage.getStage());
  Block &body = stage.getBody().front();
  for (auto [arg, operand] : llvm::zip(body.getArguments(), stage.getInputs())) {
    Value var = crossing.lookup(operand);
    if (!var)
      continue; // ids, positions, cache: the step carries them
    FailureOr<BufferKey> key = keyFor(arg, scope, stage.getOperation());
    if (failed(key))
      return failure();
    scope.pool.assign(arg, load(var), *key);
  }
  if (failed(lowerCompute(body, scope)))
    return failure();

  loc = stage.getLoc();
  Operation *yield = body.getTerminator();
  for (auto [res, value] : llvm::zip(stage->getResults(), yield->getOperands())) {
    Value var = crossing.lookup(res);
    if (!var)
      continue;
    FailureOr<Value> a = act(value, scope, yield);
    if (failed(a))
      return failure();
    assign(var, *a);
  }
  addArena(stage.getStage(), scope.arena);
  return success();
}

LogicalResult Lowering::lowerTransfer(dist::TransferOp transfer,
                                      StepValues &step,
                                      DenseMap<Value, Value> &crossing) {
  Value source = crossing.lookup(transfer.getInput());
  if (!source)
    return transfer.emitError("llm-lower-to-emitc: dist.transfer of a value "
                              "that no pipeline stage produces");
  int64_t axis = transfer.getAxis();
  int64_t from = transfer.getFrom(), to = transfer.getTo();
  Value dest = variable(types.act);
  crossing[transfer.getResult()] = dest;

  comment(llvm::formatv("transfer from stage {0} to stage {1}", from, to));
  {
    auto ifOp = ifCoord(axis, from);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.getThenRegion().front().getTerminator());
    callVoid("llmc::rt::send", {rank, load(source), i32(axis), i32(to)});
  }
  auto ifOp = ifCoord(axis, to);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.getThenRegion().front().getTerminator());
  ComputeScope receiver(step, to);
  FailureOr<BufferKey> key = keyFor(transfer.getResult(), receiver, transfer);
  if (failed(key))
    return failure();
  Value buffer = allocate(*key, receiver);
  assign(dest, buffer);
  callVoid("llmc::rt::recv", {rank, buffer, i32(axis), i32(from)});
  addArena(to, receiver.arena);
  return success();
}

LogicalResult Lowering::lowerCompute(Block &block, ComputeScope &scope) {
  analyse(block, scope);
  return emitBlock(block, scope);
}

void Lowering::analyse(Block &block, ComputeScope &scope) {
  for (Operation &op : block) {
    if (auto layer = dyn_cast<llm::DecoderLayerOp>(op)) {
      scope.pool.visit(&op, {});
      analyse(layer.getBody().front(), scope);
      continue;
    }
    if (isa<llm::YieldOp>(op))
      continue; // an alias, not a use
    if (isa<dist::YieldOp, func::ReturnOp>(op)) {
      // Results of the block: live to its end.
      for (Value v : op.getOperands())
        scope.pool.escape(canonical(v));
      scope.pool.visit(&op, {});
      continue;
    }
    scope.pool.visit(&op, canonicalOperands(&op));
    if (auto norm = dyn_cast<llm::RMSNormOp>(op))
      scope.norms[canonical(norm.getInput())].push_back(norm);
  }
}

LogicalResult Lowering::emitBlock(Block &block, ComputeScope &scope) {
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      continue;
    loc = op.getLoc();
    if (auto layer = dyn_cast<llm::DecoderLayerOp>(op)) {
      comment(llvm::formatv("decoder layer {0}", layer.getIndex()));
      if (failed(emitBlock(layer.getBody().front(), scope)))
        return failure();
      continue;
    }
    if (failed(emitOp(&op, scope)))
      return failure();
    SmallVector<Value> values = canonicalOperands(&op);
    for (Value res : op.getResults())
      values.push_back(canonical(res));
    scope.pool.release(&op, values);
  }
  return success();
}

namespace {

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct LowerToEmitCPass
    : public llmc::impl::LowerToEmitCBase<LowerToEmitCPass> {
  using LowerToEmitCBase::LowerToEmitCBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // An unsharded module is the one-rank plan: a grid without axes.
    GridInfo grid = findGrid(module).value_or(GridInfo{});
    if (tpReduce != "fp32" && tpReduce != "bf16") {
      module.emitError("llm-lower-to-emitc: tp-reduce must be fp32 or bf16, "
                       "not '")
          << tpReduce << "'";
      return signalPassFailure();
    }
    if (residual != "fp32" && residual != "bf16") {
      module.emitError("llm-lower-to-emitc: residual must be fp32 or bf16, "
                       "not '")
          << residual << "'";
      return signalPassFailure();
    }
    Lowering lowering(module, grid, target, tpReduce == "fp32", qkvViews,
                      residual == "fp32");
    if (failed(lowering.run()))
      signalPassFailure();
  }
};

} // namespace
