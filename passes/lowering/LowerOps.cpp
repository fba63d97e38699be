//===- LowerOps.cpp - llm-lower-to-emitc: values, buffers and ops ---------===//
//
// One lowering per op of the per-rank program: its operands' Acts (or
// weights), a result buffer from the scope's pool, one call of the
// runtime. The structure around them (stages, transfers, micro-batches) is
// in LowerToEmitC.cpp.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/ColumnViews.h"
#include "llmc/Passes/Lowering.h"
#include "passes/lowering/EmitCLowering.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace llmc;
using namespace llmc::lowering;

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

Value Lowering::canonical(Value v) const {
  while (Value next = aliases.lookup(v))
    v = next;
  return v;
}

SmallVector<Value> Lowering::canonicalOperands(Operation *op) const {
  SmallVector<Value> values;
  for (Value v : op->getOperands())
    values.push_back(canonical(v));
  return values;
}

llm::QuantizeOp lowering::fusedQuantize(llm::TokenScaleOp t) {
  // The quantize of t's own input with t's scales (not a max-all-reduced
  // copy of them), after which alone the scales are read.
  llm::QuantizeOp fused;
  for (Operation *user : t.getResult().getUsers()) {
    auto q = dyn_cast<llm::QuantizeOp>(user);
    if (q && q.getScale() == t.getResult() && q.getInput() == t.getInput() &&
        q->getBlock() == t->getBlock() && !fused)
      fused = q;
  }
  if (!fused)
    return {};
  for (Operation *user : t.getResult().getUsers())
    if (user != fused.getOperation() &&
        (user->getBlock() != t->getBlock() || user->isBeforeInBlock(fused)))
      return {};
  return fused;
}

std::pair<llm::TokenScaleOp, llm::QuantizeOp>
lowering::quantizedOnly(Value h) {
  llm::TokenScaleOp ts;
  for (Operation *user : h.getUsers())
    if (auto t = dyn_cast<llm::TokenScaleOp>(user))
      ts = t;
  llm::QuantizeOp q = ts ? fusedQuantize(ts) : llm::QuantizeOp();
  if (!q || q.getInput() != h || ts->getBlock() != h.getParentBlock())
    return {};
  for (Operation *user : h.getUsers())
    if (user != ts.getOperation() && user != q.getOperation())
      return {};
  return {ts, q};
}

FailureOr<Value> Lowering::act(Value v, ComputeScope &scope, Operation *user) {
  // An FP8 activation: its codes' buffer with the per-row scales attached.
  if (Value scaled = scope.fp8Inputs.lookup(canonical(v)))
    return scaled;
  if (Value buffer = scope.pool.bufferOf(canonical(v)))
    return buffer;
  return user->emitError("llm-lower-to-emitc: an operand of '")
         << user->getName()
         << "' has no activation buffer in this pipeline stage; values may "
            "cross stages only through dist.transfer";
}

FailureOr<int64_t> Lowering::weightIndex(Value v, Operation *user) {
  auto param = canonical(v).getDefiningOp<llm::ParamOp>();
  if (!param)
    return user->emitError("llm-lower-to-emitc: '")
           << user->getName()
           << "' expects a weight (llm.param) operand; computed weights are "
              "not supported";
  auto it = weightIndices.find(param.getName());
  if (it == weightIndices.end())
    return param.emitError("llm-lower-to-emitc: no llm.weight @")
           << param.getName();
  return it->second;
}

FailureOr<Value> Lowering::weight(Value v, Operation *user) {
  FailureOr<int64_t> index = weightIndex(v, user);
  if (failed(index))
    return failure();
  return call("llmc::rt::weight", types.weight, {rank, i32(*index)});
}

FailureOr<BufferKey> Lowering::keyFor(Value v, ComputeScope &scope,
                                      Operation *user) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() < 2)
    return user->emitError("llm-lower-to-emitc: cannot place result of '")
           << user->getName() << "' of type " << v.getType()
           << " in an activation buffer";
  BufferKey key;
  key.cols = type.getShape().back();
  if (ShapedType::isDynamic(key.cols))
    return user->emitError("llm-lower-to-emitc: the last dim of '")
           << user->getName() << "' must be static";
  Type elem = type.getElementType();
  key.elem = elem.isBF16()                  ? Elem::BF16
             : elem.isF32()                 ? Elem::F32
             : isa<IntegerType>(elem)      ? Elem::I32
             : isa<Float8E4M3FNType>(elem) ? Elem::F8
                                            : Elem::BF16;
  if (!elem.isBF16() && !elem.isF32() && !isa<IntegerType>(elem) &&
      !isa<Float8E4M3FNType>(elem))
    return user->emitError("llm-lower-to-emitc: element type ")
           << elem << " of '" << user->getName()
           << "' is not supported by the runtime (bf16, f32, f8E4M3FN, "
              "integer ids)";
  if (isWide(v))
    key.elem = Elem::F32; // the fp32 residual stream
  ArrayRef<int64_t> shape = type.getShape();
  if (type.getRank() == 3 && shape[0] == 1 && ShapedType::isDynamic(shape[1])) {
    key.rows = Rows::Routed;
    key.factor = scope.routedFactor;
  } else if (type.getRank() == 3 && shape[1] == 1) {
    key.rows = Rows::Batch;
  } else {
    key.rows = Rows::Tokens;
  }
  return key;
}

Value Lowering::rows(const BufferKey &key, ComputeScope &scope) {
  switch (key.rows) {
  case Rows::Tokens:
    return scope.step.tokens;
  case Rows::Batch:
    return scope.step.batch;
  case Rows::Routed:
    if (Value v = scope.routedRows.lookup(key.factor))
      return v;
    return scope.routedRows[key.factor] =
               mul(scope.step.tokens, literal(key.factor));
  }
  llvm_unreachable("rows kind");
}

Value Lowering::allocate(const BufferKey &key, ComputeScope &scope) {
  scope.arena.add(key);
  Value n = rows(key, scope);
  if (key.elem == Elem::BF16)
    return call("llmc::rt::alloc", types.act, {rank, n, i64(key.cols)});
  if (key.elem == Elem::F8)
    return call("llmc::rt::allocFp8", types.act, {rank, n, i64(key.cols)});
  return call("llmc::rt::allocF32", types.act, {rank, n, i64(key.cols)});
}

FailureOr<Value> Lowering::result(Value v, ComputeScope &scope, Operation *op,
                                  std::optional<BufferKey> key) {
  if (!key) {
    FailureOr<BufferKey> k = keyFor(v, scope, op);
    if (failed(k))
      return failure();
    key = *k;
  }
  Value buffer = scope.pool.take(*key);
  if (!buffer)
    buffer = allocate(*key, scope);
  scope.pool.assign(canonical(v), buffer, *key);
  return buffer;
}

Value Lowering::logitsAct(ComputeScope &scope, int64_t vocab) {
  if (scope.logitsAct)
    return scope.logitsAct;
  Value var = variable(types.act);
  assign(member(var, "data", types.voidPtr),
         emitc::CastOp::create(b, loc, types.voidPtr, scope.step.logits));
  assign(member(var, "rows", types.i64), scope.step.batch);
  assign(member(var, "cols", types.i64), literal(vocab));
  return scope.logitsAct = load(var);
}

LogicalResult Lowering::inPlace(Value from, Value to, ComputeScope &scope,
                                Operation *op) {
  Value c = canonical(from);
  if (!scope.pool.diesAt(c, op))
    return op->emitError("llm-lower-to-emitc: '")
           << op->getName()
           << "' runs in place on its input, which is used again later; "
              "the runtime has no copy to keep it";
  scope.pool.transfer(c, canonical(to));
  return success();
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult Lowering::emitOp(Operation *op, ComputeScope &scope) {
  Value step = scope.step.step;
  // Most ops: operands' Acts (or weights), a result buffer, one call.
  auto acts = [&](ValueRange values) -> FailureOr<SmallVector<Value>> {
    SmallVector<Value> out;
    for (Value v : values) {
      FailureOr<Value> a = act(v, scope, op);
      if (failed(a))
        return failure();
      out.push_back(*a);
    }
    return out;
  };

  return TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](llm::ParamOp) {
        // Materialised where used: an absent expert's weight must not be
        // looked up on ranks that do not hold it.
        return success();
      })
      .Case([&](llm::EmbeddingOp e) -> LogicalResult {
        FailureOr<Value> table = weight(e.getTable(), op);
        FailureOr<Value> out = result(e.getResult(), scope, op);
        if (failed(table) || failed(out))
          return failure();
        callVoid("llmc::rt::embedding",
                 {rank, *out, step, *table, boolean(e.getVocabParallel())});
        return success();
      })
      .Case([&](llm::RMSNormOp n) -> LogicalResult {
        if (scope.fused.contains(op))
          return success();
        FailureOr<Value> in = act(n.getInput(), scope, op);
        FailureOr<Value> w = weight(n.getWeight(), op);
        if (failed(in) || failed(w))
          return failure();
        // W8A8: the norm's only readers quantize it; one call writes the
        // codes.
        if (!isWide(n.getInput()))
          if (auto [ts, q] = quantizedOnly(n.getResult()); q)
            return quantizedNorm(n, ts, q, {rank, *in, *w}, scope);
        FailureOr<Value> out = result(n.getResult(), scope, op);
        if (failed(out))
          return failure();
        callVoid(isWide(n.getInput()) ? "llmc::rt::rmsNormF32"
                                      : "llmc::rt::rmsNorm",
                 {rank, *out, *in, *w,
                  b.getF32FloatAttr(n.getEpsAttr().getValueAsDouble())});
        return success();
      })
      .Case([&](llm::LinearOp l) -> LogicalResult {
        if (scope.folded.contains(op)) // lowered with a sibling
          return success();
        if (shard::AllReduceOp reduce = reductionOf(l))
          return lowerLinearAllReduce(l, reduce, scope);
        FailureOr<bool> siblings = lowerLinearSiblings(l, scope);
        if (failed(siblings))
          return failure();
        if (*siblings)
          return success();
        FailureOr<Value> in = act(l.getInput(), scope, op);
        FailureOr<Value> w = weight(l.getWeight(), op);
        FailureOr<Arg> bias = biasArg(l.getBias(), op);
        if (failed(in) || failed(w) || failed(bias))
          return failure();
        FailureOr<Value> out = result(l.getResult(), scope, op);
        if (failed(out))
          return failure();
        callVoid("llmc::rt::linear", {rank, *out, *in, *w, *bias});
        return success();
      })
      .Case([&](llm::BiasAddOp a) -> LogicalResult {
        if (scope.folded.contains(op)) // added by linearAllReduce
          return inPlace(a.getInput(), a.getResult(), scope, op);
        FailureOr<Value> x = act(a.getInput(), scope, op);
        FailureOr<Value> bias = weight(a.getBias(), op);
        if (failed(x) || failed(bias))
          return failure();
        callVoid("llmc::rt::biasAdd", {rank, *x, *bias});
        return inPlace(a.getInput(), a.getResult(), scope, op);
      })
      .Case([&](llm::AddOp a) { return lowerAdd(a, scope); })
      .Case([&](llm::SwiGLUOp s) -> LogicalResult {
        if (scope.folded.contains(op)) // by linearSwiglu
          return success();
        FailureOr<SmallVector<Value>> in = acts({s.getGate(), s.getUp()});
        FailureOr<Value> out = result(s.getResult(), scope, op);
        if (failed(in) || failed(out))
          return failure();
        callVoid("llmc::rt::swiglu", {rank, *out, (*in)[0], (*in)[1]});
        return success();
      })
      .Case([&](llm::RopeOp r) -> LogicalResult {
        FailureOr<Value> x = act(r.getInput(), scope, op);
        if (failed(x))
          return failure();
        // Rotated by the ropeAttention its attention becomes; the result
        // names the (unrotated) input buffer.
        if (!ropeConsumer(r)) {
          int64_t headDim = r.getHeadDim();
          int64_t cols =
              cast<RankedTensorType>(r.getInput().getType()).getShape().back();
          callVoid("llmc::rt::rope",
                   {rank, *x, step, ropeParams(r.getRope()),
                    i32(cols / headDim)},
                   {i32(headDim)});
          ropeInstances.insert(headDim);
        }
        return inPlace(r.getInput(), r.getResult(), scope, op);
      })
      .Case([&](llm::AttentionOp a) { return lowerAttention(a, scope); })
      .Case([&](llm::MoERouterOp m) -> LogicalResult {
        FailureOr<Value> in = act(m.getInput(), scope, op);
        FailureOr<Value> gate = weight(m.getGate(), op);
        FailureOr<Value> w = result(m.getWeights(), scope, op);
        FailureOr<Value> ids = result(m.getIndices(), scope, op);
        if (failed(in) || failed(gate) || failed(w) || failed(ids))
          return failure();
        callVoid("llmc::rt::moeRouter",
                 {rank, *w, *ids, *in, *gate, i32(m.getNumExperts()),
                  i32(m.getTopK()), boolean(m.getRenormalize())});
        return success();
      })
      .Case([&](llm::ExpertsOp e) { return lowerExperts(e, scope); })
      .Case([&](llm::SharedExpertOp s) -> LogicalResult {
        FailureOr<Value> in = act(s.getInput(), scope, op);
        SmallVector<Value> ws;
        for (Value v : {s.getGate(), s.getUp(), s.getDown(), s.getExpertGate()}) {
          FailureOr<Value> w = weight(v, op);
          if (failed(w))
            return failure();
          ws.push_back(*w);
        }
        FailureOr<Value> out = result(s.getResult(), scope, op);
        if (failed(in) || failed(out))
          return failure();
        callVoid("llmc::rt::sharedExpert",
                 {rank, *out, *in, ws[0], ws[1], ws[2], ws[3]});
        return success();
      })
      .Case([&](llm::LastTokenOp l) -> LogicalResult {
        FailureOr<Value> in = act(l.getInput(), scope, op);
        FailureOr<Value> out = result(l.getResult(), scope, op);
        if (failed(in) || failed(out))
          return failure();
        callVoid(isWide(l.getInput()) ? "llmc::rt::lastTokenF32"
                                      : "llmc::rt::lastToken",
                 {rank, *out, *in, step});
        return success();
      })
      .Case([&](llm::LMHeadOp h) -> LogicalResult {
        FailureOr<Value> in = act(h.getInput(), scope, op);
        FailureOr<Value> w = weight(h.getWeight(), op);
        if (failed(in) || failed(w))
          return failure();
        int64_t vocab =
            cast<RankedTensorType>(h.getResult().getType()).getShape().back();
        Value out;
        if (isOutput(h.getResult(), Output::Logits)) {
          out = logitsAct(scope, vocab);
          scope.pool.assign(canonical(h.getResult()), out, std::nullopt);
        } else {
          // Logits are fp32 whatever the graph's dtype (Ops.h: lmHead).
          BufferKey key{Rows::Batch, 1, vocab, Elem::F32};
          FailureOr<Value> buffer = result(h.getResult(), scope, op, key);
          if (failed(buffer))
            return failure();
          out = *buffer;
        }
        callVoid("llmc::rt::lmHead", {rank, out, *in, *w});
        return success();
      })
      .Case([&](llm::ArgmaxOp a) -> LogicalResult {
        if (!isOutput(a.getResult(), Output::Next))
          return a.emitError("llm-lower-to-emitc: llm.argmax must compute "
                             "@forward's next-token result (the runtime "
                             "writes it to the `next` output)");
        FailureOr<Value> logits = act(a.getLogits(), scope, op);
        if (failed(logits))
          return failure();
        callVoid("llmc::rt::argmax", {rank, scope.step.next, *logits});
        return success();
      })
      .Case([&](llm::TokenScaleOp t) -> LogicalResult {
        if (scope.folded.contains(op)) // by linearSwigluQuantize
          return success();
        FailureOr<Value> in = act(t.getInput(), scope, op);
        FailureOr<Value> out = result(t.getResult(), scope, op);
        if (failed(in) || failed(out))
          return failure();
        // Quantized right away with its own scales: the quantize writes
        // both (quantizeTokens).
        if (!fusedQuantize(t))
          callVoid("llmc::rt::tokenScale", {rank, *out, *in});
        return success();
      })
      .Case([&](llm::QuantizeOp q) -> LogicalResult {
        if (scope.folded.contains(op)) // by linearSwigluQuantize
          return success();
        FailureOr<Value> in = act(q.getInput(), scope, op);
        FailureOr<Value> s = act(q.getScale(), scope, op);
        FailureOr<Value> out = result(q.getResult(), scope, op);
        if (failed(in) || failed(s) || failed(out))
          return failure();
        auto t = q.getScale().getDefiningOp<llm::TokenScaleOp>();
        if (t && fusedQuantize(t) == q)
          callVoid("llmc::rt::quantizeTokens", {rank, *out, *s, *in});
        else
          callVoid("llmc::rt::quantize", {rank, *out, *in, *s});
        // The linears read codes and scales as one Act; the scale value
        // stays live while they do (it is their input_scale operand).
        scope.fp8Inputs[canonical(q.getResult())] =
            call("llmc::rt::fp8Input", types.act, {*out, *s});
        return success();
      })
      .Case([&](shard::AllReduceOp r) -> LogicalResult {
        if (r.getReduction() == shard::ReductionKind::Max) {
          // Per-token FP8 scales of a row split over ranks (fp32).
          FailureOr<Value> x = act(r.getInput(), scope, op);
          if (failed(x))
            return failure();
          for (int16_t axis : r.getGridAxes())
            callVoid("llmc::rt::allReduceMax", {rank, *x, i32(axis)});
          return inPlace(r.getInput(), r.getResult(), scope, op);
        }
        if (r.getReduction() != shard::ReductionKind::Sum)
          return r.emitError("llm-lower-to-emitc: only sum and max "
                             "all-reduces are supported by the runtime");
        if (scope.folded.contains(op)) // reduced by linearAllReduce
          return inPlace(r.getInput(), r.getResult(), scope, op);
        FailureOr<Value> x = act(r.getInput(), scope, op);
        if (failed(x))
          return failure();
        // One reduction per axis: summing over each in turn sums over all.
        for (int16_t axis : r.getGridAxes())
          callVoid("llmc::rt::allReduce", {rank, *x, i32(axis)});
        return inPlace(r.getInput(), r.getResult(), scope, op);
      })
      .Case([&](shard::AllGatherOp g) { return lowerAllGather(g, scope); })
      .Case([&](dist::ExpertDispatchOp d) { return lowerDispatch(d, scope); })
      .Case([&](dist::ExpertCombineOp c) -> LogicalResult {
        FailureOr<Value> in = act(c.getExpertOutput(), scope, op);
        FailureOr<Value> out = result(c.getResult(), scope, op);
        if (failed(in) || failed(out))
          return failure();
        callVoid("llmc::rt::expertCombine",
                 {rank, *out, *in, i32(c.getAxis())});
        return success();
      })
      .Case([&](dist::RingAttentionOp r) {
        return r.emitError("llm-lower-to-emitc: unsupported op "
                           "'dist.ring_attention': sequence parallelism is "
                           "not lowered to CUDA yet; compile without sp");
      })
      .Default([&](Operation *other) {
        return other->emitError("llm-lower-to-emitc: unsupported op '")
               << other->getName() << "': the runtime (runtime/abi/Ops.h) "
               << "has no call for it";
      });
}

llm::RMSNormOp Lowering::laterNorm(llm::AddOp op, ComputeScope &scope) {
  int64_t here = scope.pool.positionOf(op);
  for (llm::RMSNormOp n : scope.norms.lookup(canonical(op.getResult())))
    if (scope.pool.positionOf(n) > here)
      return n;
  return {};
}

void Lowering::findWideResidual(func::FuncOp forward) {
  if (!residualF32)
    return;
  auto stream = [&](Value v) {
    v = canonical(v);
    return wide.contains(v) || streamRoots.contains(v);
  };
  bool staged = false;
  forward.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto e = dyn_cast<llm::EmbeddingOp>(op)) {
      streamRoots.insert(canonical(e.getResult()));
    } else if (auto ar = dyn_cast<shard::AllReduceOp>(op)) {
      // A vocab-parallel embedding's sum over the ranks.
      if (streamRoots.contains(canonical(ar.getInput())))
        streamRoots.insert(canonical(ar.getResult()));
    } else if (auto a = dyn_cast<llm::AddOp>(op)) {
      // One operand the stream, the other a sublayer's output.
      if (stream(a.getLhs()) != stream(a.getRhs()))
        wide.insert(canonical(a.getResult()));
    } else if (auto l = dyn_cast<llm::LastTokenOp>(op)) {
      if (isWide(l.getInput()))
        wide.insert(canonical(l.getResult()));
    } else if (isa<dist::StageOp, dist::TransferOp, dist::PipelineOp>(op)) {
      staged = true;
    }
  });
  // Every reader of an fp32 sum must take fp32: adds continuing the
  // stream, norms, last_token, and the yields that only alias.
  Operation *reader = nullptr;
  forward.walk([&](Operation *op) {
    if (reader || isa<llm::RMSNormOp, llm::LastTokenOp, llm::YieldOp,
                      dist::YieldOp, func::ReturnOp, llm::DecoderLayerOp>(op))
      return;
    if (auto a = dyn_cast<llm::AddOp>(op); a && isWide(a.getResult()))
      return;
    for (Value v : op->getOperands())
      if (isWide(v))
        reader = op;
  });
  if (staged || reader || wide.empty()) {
    Operation *at = reader && !staged ? reader : forward.getOperation();
    InFlightDiagnostic w = at->emitWarning(
        "llm-lower-to-emitc: residual=fp32 is not applied; the residual "
        "stream stays bf16: ");
    if (staged)
      w << "plans with pipeline stages do not carry an fp32 stream yet";
    else if (reader)
      w << "'" << reader->getName() << "' reads a residual sum";
    else
      w << "no add continues the embedding's output";
    wide.clear();
    streamRoots.clear();
  }
}

LogicalResult Lowering::lowerWideAdd(llm::AddOp op, ComputeScope &scope) {
  // `from`: the stream operand (fp32, or the bf16 value it starts from).
  Value from = op.getLhs(), delta = op.getRhs();
  if (!isWide(from) && !streamRoots.contains(canonical(from)))
    std::swap(from, delta);
  bool fromF32 = isWide(from);
  llm::RMSNormOp norm = laterNorm(op, scope);
  // In place where the fp32 stream dies here; otherwise a new fp32 buffer.
  bool inPlaceSum = fromF32 && scope.pool.diesAt(canonical(from), op);
  FailureOr<Value> f = act(from, scope, op);
  FailureOr<Value> d = act(delta, scope, op);
  if (failed(f) || failed(d))
    return failure();
  Value res = *f;
  if (!inPlaceSum) {
    FailureOr<Value> r = result(op.getResult(), scope, op);
    if (failed(r))
      return failure();
    res = *r;
  }
  if (norm) {
    FailureOr<Value> w = weight(norm.getWeight(), norm);
    FailureOr<Value> out = result(norm.getResult(), scope, norm);
    if (failed(w) || failed(out))
      return failure();
    callVoid("llmc::rt::addRmsNormF32",
             {rank, *out, res, *f, boolean(fromF32), *d, *w,
              b.getF32FloatAttr(norm.getEpsAttr().getValueAsDouble())});
    scope.fused.insert(norm);
  } else {
    callVoid("llmc::rt::addF32", {rank, res, *f, boolean(fromF32), *d});
  }
  return inPlaceSum ? inPlace(from, op.getResult(), scope, op) : success();
}

LogicalResult Lowering::lowerAdd(llm::AddOp op, ComputeScope &scope) {
  if (isWide(op.getResult()))
    return lowerWideAdd(op, scope);
  // Fuse with the first later rms_norm of the sum when one operand (the
  // residual stream) dies here: the runtime adds in place and normalises.
  llm::RMSNormOp norm = laterNorm(op, scope);
  Value residual, delta;
  if (norm) {
    if (scope.pool.diesAt(canonical(op.getLhs()), op))
      std::tie(residual, delta) = std::make_pair(op.getLhs(), op.getRhs());
    else if (scope.pool.diesAt(canonical(op.getRhs()), op))
      std::tie(residual, delta) = std::make_pair(op.getRhs(), op.getLhs());
  }
  if (!residual) {
    FailureOr<Value> a = act(op.getLhs(), scope, op);
    FailureOr<Value> c = act(op.getRhs(), scope, op);
    FailureOr<Value> out = result(op.getResult(), scope, op);
    if (failed(a) || failed(c) || failed(out))
      return failure();
    callVoid("llmc::rt::add", {rank, *out, *a, *c});
    return success();
  }
  FailureOr<Value> res = act(residual, scope, op);
  FailureOr<Value> del = act(delta, scope, op);
  FailureOr<Value> w = weight(norm.getWeight(), norm);
  if (failed(res) || failed(del) || failed(w))
    return failure();
  scope.fused.insert(norm);
  // W8A8: the norm's only readers quantize it; one call writes the codes.
  if (auto [ts, q] = quantizedOnly(norm.getResult()); q) {
    if (failed(quantizedNorm(norm, ts, q, {rank, *res, *del, *w}, scope)))
      return failure();
    return inPlace(residual, op.getResult(), scope, op);
  }
  FailureOr<Value> out = result(norm.getResult(), scope, norm);
  if (failed(out))
    return failure();
  callVoid("llmc::rt::addRmsNorm",
           {rank, *out, *res, *del, *w,
            b.getF32FloatAttr(norm.getEpsAttr().getValueAsDouble())});
  return inPlace(residual, op.getResult(), scope, op);
}

LogicalResult Lowering::quantizedNorm(llm::RMSNormOp norm,
                                      llm::TokenScaleOp ts, llm::QuantizeOp q,
                                      SmallVector<Arg, 6> operands,
                                      ComputeScope &scope) {
  // operands: rank, then the norm's input (with an add: residual, delta)
  // and weight; the call's codes and scales go after the rank.
  FailureOr<Value> scale = result(ts.getResult(), scope, ts);
  FailureOr<Value> codes = result(q.getResult(), scope, q);
  if (failed(scale) || failed(codes))
    return failure();
  bool add = operands.size() == 4;
  operands.insert(operands.begin() + 1, {Arg(*codes), Arg(*scale)});
  operands.push_back(b.getF32FloatAttr(norm.getEpsAttr().getValueAsDouble()));
  callVoid(add ? "llmc::rt::addRmsNormQuantize" : "llmc::rt::rmsNormQuantize",
           operands);
  scope.fp8Inputs[canonical(q.getResult())] =
      call("llmc::rt::fp8Input", types.act, {*codes, *scale});
  scope.folded.insert(ts);
  scope.folded.insert(q);
  return success();
}

SmallVector<Value, 2> Lowering::callScratch(const BufferKey &key, int count,
                                            ComputeScope &scope) {
  SmallVector<Value, 2> buffers;
  for (int i = 0; i < count; ++i) {
    Value buffer = scope.pool.take(key);
    buffers.push_back(buffer ? buffer : allocate(key, scope));
  }
  // Back in the pool at once: only the next call may use them.
  for (Value buffer : buffers)
    scope.pool.recycle(buffer, key);
  return buffers;
}

FailureOr<Arg> Lowering::biasArg(Value bias, Operation *op) {
  if (!bias)
    return Arg(opaque("nullptr"));
  FailureOr<Value> bw = weight(bias, op);
  if (failed(bw))
    return failure();
  Value var = variable(types.weight);
  assign(var, *bw);
  return Arg(addressOf(var));
}

/// For a SwiGLU of FP8 (W8A8) gate and up projections of `input`: the
/// token_scale and quantize that are its result's only readers, the pair
/// fused (fusedQuantize); else nulls.
static std::pair<llm::TokenScaleOp, llm::QuantizeOp>
quantizedSwiglu(llm::SwiGLUOp swiglu, Value input) {
  if (!input.getDefiningOp<llm::QuantizeOp>())
    return {};
  return quantizedOnly(swiglu.getResult());
}

/// The linear producing `v` when it has no bias and `v` has no other use.
static llm::LinearOp plainSingleUseLinear(Value v) {
  auto l = v.getDefiningOp<llm::LinearOp>();
  if (!l || l.getBias() || !v.hasOneUse())
    return {};
  return l;
}

FailureOr<bool> Lowering::lowerLinearSiblings(llm::LinearOp op,
                                              ComputeScope &scope) {
  Value input = op.getInput();
  // gate, up -> swiglu: one call computes the SwiGLU's result.
  if (op.getResult().hasOneUse())
    if (auto swiglu =
            dyn_cast<llm::SwiGLUOp>(*op.getResult().getUsers().begin())) {
      llm::LinearOp gate = plainSingleUseLinear(swiglu.getGate());
      llm::LinearOp up = plainSingleUseLinear(swiglu.getUp());
      if (gate && up && gate != up && gate.getInput() == input &&
          up.getInput() == input && gate->getBlock() == op->getBlock() &&
          up->getBlock() == op->getBlock() &&
          swiglu->getBlock() == op->getBlock() &&
          !reductionOf(gate) && !reductionOf(up)) {
        FailureOr<Value> in = act(input, scope, op);
        FailureOr<Value> wg = weight(gate.getWeight(), gate);
        FailureOr<Value> wu = weight(up.getWeight(), up);
        if (failed(in) || failed(wg) || failed(wu))
          return failure();
        FailureOr<BufferKey> key = keyFor(swiglu.getResult(), scope, swiglu);
        if (failed(key))
          return failure();
        // Scratch [rows, 2N] for the GEMM path (large batches): this call
        // only.
        BufferKey pair = *key;
        pair.cols *= 2;
        scope.folded.insert(gate == op ? up : gate);
        scope.folded.insert(swiglu);
        // W8A8: the product's only readers quantize it for the down
        // projection; one call makes its codes and scales.
        if (auto [ts, q] = quantizedSwiglu(swiglu, input); q) {
          FailureOr<Value> scale = result(ts.getResult(), scope, ts);
          FailureOr<Value> codes = result(q.getResult(), scope, q);
          if (failed(scale) || failed(codes))
            return failure();
          SmallVector<Value, 2> scratch = callScratch(pair, 1, scope);
          callVoid("llmc::rt::linearSwigluQuantize",
                   {rank, *codes, *scale, *in, *wg, *wu, scratch[0]});
          scope.fp8Inputs[canonical(q.getResult())] =
              call("llmc::rt::fp8Input", types.act, {*codes, *scale});
          scope.folded.insert(ts);
          scope.folded.insert(q);
          return true;
        }
        FailureOr<Value> out = result(swiglu.getResult(), scope, swiglu, *key);
        if (failed(out))
          return failure();
        SmallVector<Value, 2> scratch = callScratch(pair, 1, scope);
        callVoid("llmc::rt::linearSwiglu",
                 {rank, *out, *in, *wg, *wu, scratch[0]});
        return true;
      }
    }
  // Other linears of the same input in this block (q, k, v), in order.
  SmallVector<llm::LinearOp, 3> group;
  for (Operation *user : input.getUsers()) {
    auto l = dyn_cast<llm::LinearOp>(user);
    if (!l || l->getBlock() != op->getBlock() || scope.folded.contains(l) ||
        l.getInput() != input || reductionOf(l))
      continue;
    // Gate/up pairs of a SwiGLU are lowered as such.
    if (l.getResult().hasOneUse() &&
        isa<llm::SwiGLUOp>(*l.getResult().getUsers().begin()))
      continue;
    auto type = dyn_cast<RankedTensorType>(l.getResult().getType());
    if (!type || !type.getElementType().isBF16())
      continue;
    group.push_back(l);
  }
  llvm::sort(group, [](llm::LinearOp a, llm::LinearOp b) {
    return a->isBeforeInBlock(b);
  });
  if (group.size() < 2 || group.front() != op)
    return false;
  if (group.size() > 3)
    group.resize(3);
  FailureOr<Value> in = act(input, scope, op);
  if (failed(in))
    return failure();
  SmallVector<Arg, 12> outs, ws, biases;
  // [rows, sum of N]: the buffer of q|k|v's column views, or the scratch
  // one GEMM over back-to-back weights writes before a split.
  FailureOr<BufferKey> all = keyFor(group.front().getResult(), scope, op);
  if (failed(all))
    return failure();
  all->cols = 0;
  for (llm::LinearOp l : group)
    all->cols +=
        cast<RankedTensorType>(l.getResult().getType()).getShape().back();
  bool views = qkvViews && llvm::all_of(group, writesColumnView);
  Value owner;
  if (views) {
    owner = scope.pool.take(*all);
    if (!owner)
      owner = allocate(*all, scope);
  }
  SmallVector<Value, 3> viewBuffers;
  int64_t first = 0;
  for (llm::LinearOp l : group) {
    FailureOr<Value> w = weight(l.getWeight(), l);
    FailureOr<Arg> bias = biasArg(l.getBias(), l);
    if (failed(w) || failed(bias))
      return failure();
    int64_t cols =
        cast<RankedTensorType>(l.getResult().getType()).getShape().back();
    Value out;
    if (views) {
      out = call("llmc::rt::columns", types.act,
                 {rank, owner, i64(first), i64(cols)});
      scope.pool.assign(canonical(l.getResult()), out, std::nullopt);
      viewBuffers.push_back(out);
    } else {
      FailureOr<Value> buffer = result(l.getResult(), scope, l);
      if (failed(buffer))
        return failure();
      out = *buffer;
    }
    first += cols;
    outs.push_back(out);
    ws.push_back(*w);
    biases.push_back(*bias);
  }
  SmallVector<Arg, 12> args = {rank};
  args.append(outs);
  args.push_back(*in);
  args.append(ws);
  args.append(biases);
  if (views) {
    scope.pool.share(owner, *all, viewBuffers);
    args.push_back(Arg(opaque("llmc::rt::Act{}")));
  } else {
    args.push_back(callScratch(*all, 1, scope)[0]);
  }
  callVoid(group.size() == 3 ? "llmc::rt::linear3" : "llmc::rt::linear2",
           args);
  for (llm::LinearOp l : group)
    if (l != op)
      scope.folded.insert(l);
  return true;
}

shard::AllReduceOp Lowering::reductionOf(llm::LinearOp op) const {
  // A linear with its own bias would add it on every rank before the sum;
  // the tensor-parallel pass never makes one (it moves the bias after the
  // all-reduce), and such a pair keeps its literal lowering.
  if (!fp32Reduce || op.getBias() || !op.getResult().hasOneUse())
    return {};
  auto reduce =
      dyn_cast<shard::AllReduceOp>(*op.getResult().getUsers().begin());
  auto type = dyn_cast<RankedTensorType>(op.getResult().getType());
  if (!reduce || reduce->getBlock() != op->getBlock() ||
      reduce.getReduction() != shard::ReductionKind::Sum ||
      reduce.getGridAxes().size() != 1 || !type ||
      !type.getElementType().isBF16())
    return {};
  return reduce;
}

LogicalResult Lowering::lowerLinearAllReduce(llm::LinearOp op,
                                             shard::AllReduceOp reduce,
                                             ComputeScope &scope) {
  // The bias of a row-parallel linear: added once to the sum, before the
  // one rounding (the tensor-parallel pass left it as a bias_add of the
  // all-reduce's result).
  llm::BiasAddOp biasAdd;
  if (reduce.getResult().hasOneUse())
    if (auto user = dyn_cast<llm::BiasAddOp>(
            *reduce.getResult().getUsers().begin());
        user && user.getInput() == reduce.getResult() &&
        user->getBlock() == op->getBlock())
      biasAdd = user;
  FailureOr<Value> in = act(op.getInput(), scope, op);
  FailureOr<Value> w = weight(op.getWeight(), op);
  if (failed(in) || failed(w))
    return failure();
  Arg bias = opaque("nullptr");
  if (biasAdd) {
    FailureOr<Value> bw = weight(biasAdd.getBias(), biasAdd);
    if (failed(bw))
      return failure();
    Value var = variable(types.weight);
    assign(var, *bw);
    bias = Arg(addressOf(var));
  }
  FailureOr<BufferKey> key = keyFor(op.getResult(), scope, op);
  if (failed(key))
    return failure();
  FailureOr<Value> out = result(op.getResult(), scope, op, *key);
  if (failed(out))
    return failure();
  // fp32 partial sums: scratch of this call only, back in the pool at once
  // (every such call of the block shares one buffer).
  BufferKey partialKey = *key;
  partialKey.elem = Elem::F32;
  Value partial = callScratch(partialKey, 1, scope).front();
  callVoid("llmc::rt::linearAllReduce",
           {rank, *out, *in, *w, bias, i32(reduce.getGridAxes()[0]), partial});
  scope.folded.insert(reduce);
  if (biasAdd)
    scope.folded.insert(biasAdd);
  return success();
}

LogicalResult Lowering::lowerAttention(llm::AttentionOp op,
                                       ComputeScope &scope) {
  if (!op.getCausal())
    return op.emitError("llm-lower-to-emitc: the runtime's attention is "
                        "causal; non-causal llm.attention is not supported");
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads();
  int64_t headDim = op.getHeadDim();
  if (kvHeads <= 0 || heads % kvHeads != 0)
    return op.emitError("llm-lower-to-emitc: ")
           << heads << " query heads do not form groups over " << kvHeads
           << " kv heads";
  FailureOr<Value> q = act(op.getQ(), scope, op);
  FailureOr<Value> k = act(op.getK(), scope, op);
  FailureOr<Value> v = act(op.getV(), scope, op);
  FailureOr<Value> out = result(op.getResult(), scope, op);
  if (failed(q) || failed(k) || failed(v) || failed(out))
    return failure();
  double scale = op.getScale() ? op.getScaleAttr().getValueAsDouble() : 0.0;
  std::string init =
      namedInit("llmc::rt::AttentionParams",
                {{"heads", std::to_string(heads)},
                 {"kvHeads", std::to_string(kvHeads)},
                 {"window", std::to_string(op.getSlidingWindow().value_or(0))},
                 {"scale", floatLiteral(scale)},
                 {"cacheSlot", std::to_string(op.getCacheSlot().value_or(0))}});
  Value params = emitc::ConstantOp::create(b, loc, types.attention,
                                           opaque(init));
  std::pair<int64_t, int64_t> shape{headDim, heads / kvHeads};
  auto rope = op.getQ().getDefiningOp<llm::RopeOp>();
  if (rope && ropeConsumer(rope) == op) {
    callVoid("llmc::rt::ropeAttention",
             {rank, *out, *q, *k, *v, scope.step.step,
              ropeParams(rope.getRope()), params,
              boolean(static_cast<bool>(op.getCache()))},
             {i32(shape.first), i32(shape.second)});
    ropeAttentionInstances.insert(shape);
    return success();
  }
  callVoid("llmc::rt::attention",
           {rank, *out, *q, *k, *v, scope.step.step, params,
            boolean(static_cast<bool>(op.getCache()))},
           {i32(shape.first), i32(shape.second)});
  attentionInstances.insert(shape);
  return success();
}

llm::AttentionOp Lowering::ropeConsumer(llm::RopeOp rope) const {
  if (!rope->hasOneUse())
    return {};
  auto att = dyn_cast<llm::AttentionOp>(*rope->getUsers().begin());
  if (!att || !att.getCausal())
    return {};
  auto rq = att.getQ().getDefiningOp<llm::RopeOp>();
  auto rk = att.getK().getDefiningOp<llm::RopeOp>();
  if (!rq || !rk || rq == rk || !rq->hasOneUse() || !rk->hasOneUse())
    return {};
  if (rq.getRope() != rk.getRope() || rq.getPositions() != rk.getPositions() ||
      rq.getPositions() != att.getPositions() ||
      rq.getHeadDim() != att.getHeadDim() ||
      rk.getHeadDim() != att.getHeadDim())
    return {};
  return att;
}

LogicalResult Lowering::lowerExperts(llm::ExpertsOp op, ComputeScope &scope) {
  int64_t numExperts = op.getNumExperts();
  // Weight indices by global expert id; -1 for experts not in the op.
  SmallVector<int64_t> gate(numExperts, -1), up(numExperts, -1),
      down(numExperts, -1);
  for (unsigned i = 0, e = op.getNumLocalExperts(); i < e; ++i) {
    int64_t id = op.getExpertId(i);
    FailureOr<int64_t> g = weightIndex(op.getGateWeights()[i], op);
    FailureOr<int64_t> u = weightIndex(op.getUpWeights()[i], op);
    FailureOr<int64_t> d = weightIndex(op.getDownWeights()[i], op);
    if (failed(g) || failed(u) || failed(d))
      return failure();
    gate[id] = *g;
    up[id] = *u;
    down[id] = *d;
  }
  FailureOr<Value> in = act(op.getInput(), scope, op);
  FailureOr<Value> w = act(op.getRoutingWeights(), scope, op);
  FailureOr<Value> ids = act(op.getRoutingIndices(), scope, op);
  FailureOr<Value> out = result(op.getResult(), scope, op);
  if (failed(in) || failed(w) || failed(ids) || failed(out))
    return failure();
  Value gateTable = table("expert_gate", gate);
  Value upTable = table("expert_up", up);
  Value downTable = table("expert_down", down);

  // Which experts this rank computes: all present ones, or under expert
  // parallelism those its coordinate owns (one row per coordinate).
  Value owned;
  if (auto owners = op.getOwners()) {
    std::optional<int64_t> axis = grid.axisIndex(*op.getOwnerAxis());
    if (!axis)
      return op.emitError("llm-lower-to-emitc: owner axis '")
             << *op.getOwnerAxis() << "' is not an axis of the grid";
    int64_t size = grid.degree(*op.getOwnerAxis());
    SmallVector<int64_t> rows;
    for (int64_t c = 0; c < size; ++c)
      for (int64_t e = 0; e < numExperts; ++e)
        rows.push_back((*owners)[e] == c && gate[e] >= 0);
    Value all = table("expert_owned", rows, /*asBool=*/true);
    Value first = mul(coord(*axis),
                      emitc::LiteralOp::create(b, loc, types.i32,
                                               std::to_string(numExperts)));
    Value element = emitc::SubscriptOp::create(
        b, loc, emitc::LValueType::get(types.i1), all, ValueRange{first});
    owned = addressOf(element);
  } else {
    SmallVector<int64_t> present;
    for (int64_t e = 0; e < numExperts; ++e)
      present.push_back(gate[e] >= 0);
    owned = table("expert_present", present, /*asBool=*/true);
  }
  callVoid("llmc::rt::experts", {rank, *out, *in, *w, *ids, gateTable, upTable,
                                 downTable, i32(numExperts), owned});
  return success();
}

LogicalResult Lowering::lowerAllGather(shard::AllGatherOp op,
                                       ComputeScope &scope) {
  ArrayRef<int16_t> axes = op.getGridAxes();
  if (axes.size() != 1)
    return op.emitError("llm-lower-to-emitc: all_gather over ")
           << axes.size() << " grid axes; the runtime gathers over one";
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  int64_t gatherAxis = op.getGatherAxis().getSExtValue();
  int64_t dim;
  if (gatherAxis == inType.getRank() - 1)
    dim = 1; // features: the activation's columns
  else if (inType.getRank() == 2 && gatherAxis == 0)
    dim = 0;
  else
    return op.emitError("llm-lower-to-emitc: all_gather along dim ")
           << gatherAxis << " of a rank-" << inType.getRank()
           << " tensor (the sequence: sp) is not lowered to CUDA yet";
  FailureOr<Value> in = act(op.getInput(), scope, op);
  if (failed(in))
    return failure();
  int64_t cols =
      cast<RankedTensorType>(op.getResult().getType()).getShape().back();
  Value out;
  if (isOutput(op.getResult(), Output::Logits)) {
    out = logitsAct(scope, cols);
    scope.pool.assign(canonical(op.getResult()), out, std::nullopt);
  } else {
    // Same rows and dtype as the gathered buffer (fp32 for logits).
    std::optional<BufferKey> key = scope.pool.keyOf(*in);
    if (!key) {
      FailureOr<BufferKey> k = keyFor(op.getResult(), scope, op);
      if (failed(k))
        return failure();
      key = *k;
    }
    key->cols = dim == 1 ? cols : key->cols;
    FailureOr<Value> buffer = result(op.getResult(), scope, op, *key);
    if (failed(buffer))
      return failure();
    out = *buffer;
  }
  callVoid("llmc::rt::allGather", {rank, out, *in, i32(axes[0]), i32(dim)});
  return success();
}

LogicalResult Lowering::lowerDispatch(dist::ExpertDispatchOp op,
                                      ComputeScope &scope) {
  int64_t axis = op.getAxis();
  int64_t size = grid.grid.getShape()[axis];
  int64_t topK =
      cast<RankedTensorType>(op.getIndices().getType()).getShape().back();
  // A rank receives at most every (token, choice) of every rank of the
  // axis (assuming equal local batches, as the runtime splits them).
  scope.routedFactor = size * topK;
  FailureOr<Value> in = act(op.getInput(), scope, op);
  FailureOr<Value> w = act(op.getWeights(), scope, op);
  FailureOr<Value> ids = act(op.getIndices(), scope, op);
  FailureOr<Value> tokens = result(op.getTokens(), scope, op);
  FailureOr<Value> tokenWeights = result(op.getTokenWeights(), scope, op);
  FailureOr<Value> tokenIds = result(op.getTokenIndices(), scope, op);
  if (failed(in) || failed(w) || failed(ids) || failed(tokens) ||
      failed(tokenWeights) || failed(tokenIds))
    return failure();
  // The route stays inside the runtime, between dispatch and combine.
  ArrayRef<int64_t> owners = op.getOwners();
  Value ownerTable = table("expert_owner", owners);
  callVoid("llmc::rt::expertDispatch",
           {rank, *tokens, *tokenWeights, *tokenIds, *in, *w, *ids, ownerTable,
            i32(static_cast<int64_t>(owners.size())), i32(axis)});
  return success();
}
