//===- Interpreter.cpp - one rank's executor of llm IR --------------------===//
//
// Helpers first (attribute decoding, error locations), then the
// Interpreter: structure, value access and one method per family of ops
// that compute on one rank. The ops that involve other ranks (pipelines,
// transfers, collectives, expert dispatch, ring attention) are in
// InterpreterParallel.cpp; the grid and Program analysis in Program.cpp.
//
//===----------------------------------------------------------------------===//

#include "llmc/Reference/Interpreter.h"
#include "llmc/Support/Try.h"

#include "llmc/Reference/Kernels.h"
#include "llmc/Reference/Quantized.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;
using mlir::Operation;
using mlir::Value;

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// " (at file:line:col)" for a file location, "" otherwise.
std::string locationSuffix(mlir::Location loc) {
  if (auto file = llvm::dyn_cast<mlir::FileLineColLoc>(loc))
    return " (at " + file.getFilename().str() + ":" +
           std::to_string(file.getLine()) + ":" +
           std::to_string(file.getColumn()) + ")";
  if (auto name = llvm::dyn_cast<mlir::NameLoc>(loc))
    return locationSuffix(name.getChildLoc());
  if (auto fused = llvm::dyn_cast<mlir::FusedLoc>(loc))
    for (mlir::Location inner : fused.getLocations()) {
      std::string s = locationSuffix(inner);
      if (!s.empty())
        return s;
    }
  return "";
}

/// Names the op in `err` ("attention: ..." from a kernel becomes
/// "llm.attention: ...") and appends the op's location, once. Weight-loading
/// and communicator messages speak for themselves.
Error annotate(Operation *op, Error err) {
  std::string msg = llvm::toString(std::move(err));
  llvm::StringRef text(msg);
  llvm::StringRef name = op->getName().getStringRef();
  llvm::StringRef shortName = name.split('.').second;
  if (text.starts_with((shortName + ":").str()))
    msg = name.split('.').first.str() + "." + msg;
  else if (!llvm::isa<llm::ParamOp>(op) && !text.starts_with(name) &&
           !text.starts_with("op '") && !text.starts_with("stopped because") &&
           !text.starts_with("deadlock"))
    msg = name.str() + ": " + msg;
  if (msg.find(" (at ") == std::string::npos &&
      !llvm::StringRef(msg).starts_with("stopped because"))
    msg += locationSuffix(op->getLoc());
  return createStringError("%s", msg.c_str());
}

RopeConfig ropeConfig(llm::RopeAttr attr) {
  RopeConfig c;
  c.theta = attr.getThetaValue();
  c.factor = attr.getFactorValue();
  c.lowFreqFactor = attr.getLowFreqFactorValue();
  c.highFreqFactor = attr.getHighFreqFactorValue();
  c.originalMaxPosition = attr.getOriginalMaxPosition();
  switch (attr.getKind()) {
  case llm::RopeScalingKind::none:
    c.scaling = RopeScaling::None;
    break;
  case llm::RopeScalingKind::linear:
    c.scaling = RopeScaling::Linear;
    break;
  case llm::RopeScalingKind::llama3:
    c.scaling = RopeScaling::Llama3;
    break;
  }
  return c;
}

/// The llm.weight a value comes from, following block arguments of
/// decoder layers, stages and pipelines back to their operands.
std::optional<llm::WeightOp> traceWeight(Value v, const Program &program) {
  while (v) {
    if (auto param = v.getDefiningOp<llm::ParamOp>()) {
      auto it = program.weights.find(param.getName());
      if (it == program.weights.end())
        return std::nullopt;
      return it->second;
    }
    auto arg = llvm::dyn_cast<mlir::BlockArgument>(v);
    if (!arg)
      return std::nullopt;
    Operation *parent = arg.getOwner()->getParentOp();
    if (!parent ||
        !llvm::isa<llm::DecoderLayerOp, dist::StageOp, dist::PipelineOp>(
            parent) ||
        arg.getArgNumber() >= parent->getNumOperands())
      return std::nullopt;
    v = parent->getOperand(arg.getArgNumber());
  }
  return std::nullopt;
}

} // namespace

//===----------------------------------------------------------------------===//
// Interpreter: structure
//===----------------------------------------------------------------------===//

Interpreter::Interpreter(const Program &program, int rank,
                         const WeightSource &weights)
    : program_(program), rank_(rank), weights_(weights) {}

std::vector<std::string> Interpreter::loadedWeights() const {
  std::vector<std::string> names;
  for (const auto &[name, tensor] : loaded_)
    names.push_back(name);
  return names;
}

Expected<std::vector<RtValue>>
Interpreter::run(std::vector<RtValue> args, InProcessCommunicator &comm,
                 bool sequenceSplit) {
  comm_ = &comm;
  sequenceSplit_ = sequenceSplit;
  values_.clear();
  mlir::func::FuncOp forward = program_.forward;
  mlir::Block &entry = forward.getBody().front();
  if (args.size() != entry.getNumArguments())
    return createStringError("@forward takes %u arguments, got %zu",
                             entry.getNumArguments(), args.size());
  Expected<std::vector<RtValue>> results = runBlock(entry, std::move(args));
  values_.clear();
  comm_ = nullptr;
  return results;
}

Expected<std::vector<RtValue>> Interpreter::runBlock(mlir::Block &block,
                                                     std::vector<RtValue> args) {
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    bind(arg, std::move(value));
  for (Operation &op : block.getOperations()) {
    if (op.hasTrait<mlir::OpTrait::IsTerminator>()) {
      if (!llvm::isa<mlir::func::ReturnOp, llm::YieldOp, dist::YieldOp>(op))
        return createStringError("op '%s' is not supported by the reference "
                                 "executor%s",
                                 op.getName().getStringRef().str().c_str(),
                                 locationSuffix(op.getLoc()).c_str());
      std::vector<RtValue> results;
      for (Value v : op.getOperands())
        results.push_back(lookup(v));
      return results;
    }
    if (Error e = execute(&op))
      return annotate(&op, std::move(e));
  }
  return std::vector<RtValue>();
}

Error Interpreter::execute(Operation *op) {
  // Pure compute ops on values that do not exist on this rank produce
  // values that do not exist either; structure, transfers and collectives
  // decide for themselves.
  // Expert weights owned by other ranks are absent by design; only the
  // experts op's activations decide whether it runs here.
  bool computes = llvm::isa<llm::LlmDialect>(op->getDialect()) &&
                  !llvm::isa<llm::DecoderLayerOp>(op);
  mlir::OperandRange decisive = op->getOperands();
  if (auto experts = llvm::dyn_cast<llm::ExpertsOp>(op))
    decisive = op->getOperands().take_front(3);
  if (computes && llvm::any_of(decisive, [&](Value v) {
        return isAbsent(lookup(v));
      })) {
    for (Value r : op->getResults())
      bind(r, Absent());
    return Error::success();
  }
  return llvm::TypeSwitch<Operation *, Error>(op)
      .Case([&](llm::ParamOp o) { return execParam(o); })
      .Case([&](llm::EmbeddingOp o) { return execEmbedding(o); })
      .Case([&](llm::RMSNormOp o) { return execRMSNorm(o); })
      .Case([&](llm::LinearOp o) { return execLinear(o); })
      .Case([&](llm::BiasAddOp o) { return execBiasAdd(o); })
      .Case([&](llm::TokenScaleOp o) { return execTokenScale(o); })
      .Case([&](llm::QuantizeOp o) { return execQuantize(o); })
      .Case([&](llm::RopeOp o) { return execRope(o); })
      .Case<llm::SwiGLUOp, llm::AddOp>(
          [&](Operation *o) { return execElementwise(o); })
      .Case([&](llm::AttentionOp o) { return execAttention(o); })
      .Case([&](dist::RingAttentionOp o) { return execRingAttention(o); })
      .Case([&](llm::MoERouterOp o) { return execMoERouter(o); })
      .Case([&](llm::ExpertsOp o) { return execExperts(o); })
      .Case([&](llm::SharedExpertOp o) { return execSharedExpert(o); })
      .Case<llm::LastTokenOp, llm::LMHeadOp, llm::ArgmaxOp, llm::SampleOp>(
          [&](Operation *o) { return execOutput(o); })
      .Case([&](llm::DecoderLayerOp o) { return execDecoderLayer(o); })
      .Case([&](dist::PipelineOp o) { return execPipeline(o); })
      .Case([&](dist::StageOp o) { return execStage(o); })
      .Case([&](dist::TransferOp o) { return execTransfer(o); })
      .Case([&](dist::ExpertDispatchOp o) { return execExpertDispatch(o); })
      .Case([&](dist::ExpertCombineOp o) { return execExpertCombine(o); })
      .Case<mlir::shard::AllReduceOp, mlir::shard::AllGatherOp,
            mlir::shard::AllToAllOp, mlir::shard::ReduceScatterOp,
            mlir::shard::AllSliceOp>(
          [&](Operation *o) { return execCollective(o); })
      .Case<mlir::arith::ConstantOp>(
          [&](Operation *o) { return execConstant(o); })
      .Default([&](Operation *o) {
        return createStringError(
            "op '%s' is not supported by the reference executor%s",
            o->getName().getStringRef().str().c_str(),
            locationSuffix(o->getLoc()).c_str());
      });
}

Error Interpreter::execDecoderLayer(llm::DecoderLayerOp op) {
  std::vector<RtValue> args;
  for (Value v : op.getInputs())
    args.push_back(lookup(v));
  LLMC_TRY(results, runBlock(op.getBody().front(), std::move(args)));
  for (auto [r, v] : llvm::zip(op.getResults(), results))
    bind(r, std::move(v));
  return Error::success();
}

Error Interpreter::execConstant(Operation *op) {
  auto cst = llvm::cast<mlir::arith::ConstantOp>(op);
  mlir::Attribute value = cst.getValue();
  if (auto i = llvm::dyn_cast<mlir::IntegerAttr>(value)) {
    bind(cst.getResult(), i.getValue().getSExtValue());
    return Error::success();
  }
  if (auto f = llvm::dyn_cast<mlir::FloatAttr>(value)) {
    bind(cst.getResult(), f.getValueAsDouble());
    return Error::success();
  }
  auto dense = llvm::dyn_cast<mlir::DenseElementsAttr>(value);
  if (!dense)
    return createStringError("arith.constant: only integer, float and dense "
                             "tensor constants are supported");
  std::vector<int64_t> shape(dense.getType().getShape().begin(),
                             dense.getType().getShape().end());
  if (llvm::isa<mlir::IntegerType>(dense.getElementType())) {
    IntTensor t(shape);
    int64_t i = 0;
    for (const llvm::APInt &v : dense.getValues<llvm::APInt>())
      t.data[i++] = v.getSExtValue();
    bind(cst.getResult(), std::move(t));
    return Error::success();
  }
  Tensor t(shape);
  int64_t i = 0;
  for (const llvm::APFloat &v : dense.getValues<llvm::APFloat>())
    t.data[i++] = float(v.convertToDouble());
  bind(cst.getResult(), std::move(t));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: value access
//===----------------------------------------------------------------------===//

const RtValue &Interpreter::lookup(Value v) const {
  static const RtValue absent = Absent();
  auto it = values_.find(v);
  return it == values_.end() ? absent : it->second;
}

Expected<const Tensor *> Interpreter::getTensor(Value v) {
  const RtValue &rv = lookup(v);
  if (auto *t = std::get_if<Tensor>(&rv))
    return t;
  if (isAbsent(rv))
    return createStringError("a float operand is not available on rank %d",
                             rank_);
  return createStringError("expected a float tensor operand");
}

Expected<const IntTensor *> Interpreter::getInts(Value v) {
  const RtValue &rv = lookup(v);
  if (auto *t = std::get_if<IntTensor>(&rv))
    return t;
  if (isAbsent(rv))
    return createStringError("an integer operand is not available on rank %d",
                             rank_);
  return createStringError("expected an integer tensor operand");
}

Expected<int64_t> Interpreter::sliceCoordinate(llm::WeightSliceAttr slice,
                                               llvm::StringRef weight) const {
  llvm::ArrayRef<int64_t> offsets = slice.getOffsets();
  int axis = program_.grid.axisIndex(slice.getAxis());
  if (axis < 0) {
    if (offsets.size() == 1)
      return 0;
    return createStringError("weight '%s' is sliced along grid axis '%s', "
                             "which the module's plan does not name",
                             weight.str().c_str(),
                             slice.getAxis().str().c_str());
  }
  int64_t degree = program_.grid.shape[axis];
  if (int64_t(offsets.size()) != degree)
    return createStringError("weight '%s' has %zu slice offsets for grid "
                             "axis '%s' of degree %lld",
                             weight.str().c_str(), offsets.size(),
                             slice.getAxis().str().c_str(), (long long)degree);
  return program_.grid.coordinates(rank_)[axis];
}

//===----------------------------------------------------------------------===//
// Interpreter: weights and embeddings
//===----------------------------------------------------------------------===//

Error Interpreter::execParam(llm::ParamOp op) {
  llvm::StringRef name = op.getName();
  auto it = loaded_.find(name.str());
  if (it == loaded_.end()) {
    auto w = program_.weights.find(name);
    if (w == program_.weights.end())
      return createStringError("no llm.weight @%s in the module",
                               name.str().c_str());
    llm::WeightOp weight = w->second;
    // An expert placed on another coordinate of its axis is not loaded.
    if (std::optional<llm::OwnerAttr> owner = weight.getOwner()) {
      if (program_.grid.axisIndex(owner->getAxis()) < 0 &&
          program_.grid.degree(owner->getAxis()) > 1)
        return createStringError("weight '%s' is owned along grid axis '%s', "
                                 "which the grid does not name",
                                 name.str().c_str(),
                                 owner->getAxis().str().c_str());
      if (program_.grid.coordinate(rank_, owner->getAxis()) !=
          owner->getCoord()) {
        bind(op.getResult(), Absent());
        return Error::success();
      }
    }
    llvm::ArrayRef<int64_t> local = weight.getType().getShape();
    std::vector<int64_t> fullShape(local.begin(), local.end());
    std::optional<rt::Slice> slice;
    if (std::optional<llm::WeightSliceAttr> s = weight.getSlice()) {
      LLMC_TRY(coord, sliceCoordinate(*s, name));
      fullShape.assign(s->getFullShape().begin(), s->getFullShape().end());
      slice = rt::Slice{int(s->getDim()), s->getOffsets()[coord],
                        s->getSize()};
    }
    LLMC_TRY(t, loadWeightValues(weight, fullShape, slice));
    if (t.shape != std::vector<int64_t>(local.begin(), local.end()))
      return createStringError("weight '%s' loads as %s but is "
                               "declared %s",
                               name.str().c_str(),
                               shapeString(t.shape).c_str(),
                               shapeString(local).c_str());
    it = loaded_.emplace(name.str(), std::move(t)).first;
  }
  bind(op.getResult(), it->second);
  return Error::success();
}

Error Interpreter::execEmbedding(llm::EmbeddingOp op) {
  LLMC_TRY(ids, getInts(op.getIds()));
  LLMC_TRY(table, getTensor(op.getTable()));
  std::optional<int64_t> vocabStart;
  if (op.getVocabParallel()) {
    vocabStart = 0;
    std::optional<llm::WeightOp> w = traceWeight(op.getTable(), program_);
    if (w && w->getSlice()) {
      LLMC_TRY(coord, sliceCoordinate(*w->getSlice(), w->getSymName()));
      vocabStart = w->getSlice()->getOffsets()[coord];
    }
  }
  LLMC_TRY(y, embedding(*ids, *table, vocabStart));
  bind(op.getResult(), std::move(y));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: dense layer ops
//===----------------------------------------------------------------------===//

Error Interpreter::execRMSNorm(llm::RMSNormOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  LLMC_TRY(w, getTensor(op.getWeight()));
  LLMC_TRY(y, rmsNorm(*x, *w, op.getEps().convertToDouble()));
  bind(op.getResult(), std::move(y));
  return Error::success();
}

Error Interpreter::execLinear(llm::LinearOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  LLMC_TRY(w, getTensor(op.getWeight()));
  const Tensor *bias = nullptr;
  if (Value b = op.getBias()) {
    LLMC_TRY(bt, getTensor(b));
    bias = bt;
  }
  if (op.getWeightScale() || op.getInputScale()) {
    LLMC_TRY(scales, rowScales(op.getWeightScale()));
    const Tensor *inputScale = nullptr;
    if (Value s = op.getInputScale()) {
      LLMC_TRY(st, getTensor(s));
      inputScale = st;
    }
    LLMC_TRY(y, scaledLinear(*x, *w, scales, inputScale, bias));
    bind(op.getResult(), std::move(y));
    return Error::success();
  }
  LLMC_TRY(y, linear(*x, *w, bias));
  bind(op.getResult(), std::move(y));
  return Error::success();
}

Error Interpreter::execBiasAdd(llm::BiasAddOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  LLMC_TRY(b, getTensor(op.getBias()));
  LLMC_TRY(y, biasAdd(*x, *b));
  bind(op.getResult(), std::move(y));
  return Error::success();
}

Error Interpreter::execRope(llm::RopeOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  LLMC_TRY(pos, getInts(op.getPositions()));
  LLMC_TRY(y, rope(*x, *pos, int64_t(op.getHeadDim()), ropeConfig(op.getRope())));
  bind(op.getResult(), std::move(y));
  return Error::success();
}

Error Interpreter::execElementwise(Operation *op) {
  LLMC_TRY(a, getTensor(op->getOperand(0)));
  LLMC_TRY(b, getTensor(op->getOperand(1)));
  LLMC_TRY(y, llvm::isa<llm::SwiGLUOp>(op) ? swiglu(*a, *b) : add(*a, *b));
  bind(op->getResult(0), std::move(y));
  return Error::success();
}

Expected<std::optional<CacheBinding>>
Interpreter::cacheBinding(Value cache, std::optional<uint64_t> slot,
                          std::optional<int64_t> rows,
                          llvm::StringRef what) const {
  if (!cache)
    return std::optional<CacheBinding>();
  const CacheRef *ref = std::get_if<CacheRef>(&lookup(cache));
  if (!ref || !ref->cache)
    return createStringError("%s: the KV cache operand is not available on "
                             "rank %d",
                             what.str().c_str(), rank_);
  if (rows && *rows != ref->rows)
    return createStringError("%s: a batch of %lld rows uses a KV cache view "
                             "of %lld rows",
                             what.str().c_str(), (long long)*rows,
                             (long long)ref->rows);
  return std::optional<CacheBinding>(
      CacheBinding{ref->cache, int64_t(slot.value_or(0)), ref->rowOffset});
}

Error Interpreter::execAttention(llm::AttentionOp op) {
  LLMC_TRY(q, getTensor(op.getQ()));
  LLMC_TRY(k, getTensor(op.getK()));
  LLMC_TRY(v, getTensor(op.getV()));
  LLMC_TRY(pos, getInts(op.getPositions()));
  AttentionConfig config = attentionConfig(op);
  LLMC_TRY(binding,
           cacheBinding(op.getCache(), op.getCacheSlot(),
                        q->rank() >= 1 ? std::optional<int64_t>(q->dim(0))
                                       : std::nullopt,
                        "attention"));
  Tensor kStorage, vStorage;
  LLMC_TRY(y,
           attention(*q, cachedForm(op.getCache(), *k, config.headDim, kStorage),
                     cachedForm(op.getCache(), *v, config.headDim, vStorage),
                     *pos, config, binding ? &*binding : nullptr));
  bind(op.getResult(), std::move(y));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: mixture of experts
//===----------------------------------------------------------------------===//

Error Interpreter::execMoERouter(llm::MoERouterOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  LLMC_TRY(gate, getTensor(op.getGate()));
  LLMC_TRY(r, moeRouter(*x, *gate, int64_t(op.getNumExperts()), int64_t(op.getTopK()), op.getRenormalize()));
  bind(op.getWeights(), std::move(r.weights));
  bind(op.getIndices(), std::move(r.indices));
  return Error::success();
}

Error Interpreter::execExperts(llm::ExpertsOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  LLMC_TRY(rw, getTensor(op.getRoutingWeights()));
  LLMC_TRY(ri, getInts(op.getRoutingIndices()));
  unsigned n = op.getNumLocalExperts();
  if (op.getUpWeights().size() != n || op.getDownWeights().size() != n)
    return createStringError("experts: %u gate, %zu up and %zu down weights",
                             n, op.getUpWeights().size(),
                             op.getDownWeights().size());
  if (auto ids = op.getExpertIds(); ids && ids->size() != n)
    return createStringError("experts: %zu expert ids for %u experts",
                             ids->size(), n);
  // Under expert parallelism a rank computes only the experts it owns.
  std::optional<int64_t> myCoord;
  std::optional<llvm::ArrayRef<int64_t>> owners = op.getOwners();
  if (owners) {
    if (owners->size() != n)
      return createStringError("experts: %zu owners for %u experts",
                               owners->size(), n);
    myCoord = program_.grid.coordinate(
        rank_, op.getOwnerAxis().value_or("ep"));
  }
  std::vector<ExpertWeights> local;
  for (unsigned i = 0; i < n; ++i) {
    if (owners && (*owners)[i] != *myCoord)
      continue;
    LLMC_TRY(g, getTensor(op.getGateWeights()[i]));
    LLMC_TRY(u, getTensor(op.getUpWeights()[i]));
    LLMC_TRY(d, getTensor(op.getDownWeights()[i]));
    ExpertWeights expert{op.getExpertId(i), g, u, d};
    if (op.hasScales()) {
      LLMC_TRY(gs, rowScales(op.getGateScales()[i]));
      LLMC_TRY(us, rowScales(op.getUpScales()[i]));
      LLMC_TRY(ds, rowScales(op.getDownScales()[i]));
      expert.gateScale = gs;
      expert.upScale = us;
      expert.downScale = ds;
    }
    local.push_back(expert);
  }
  LLMC_TRY(y, experts(*x, *rw, *ri, local));
  bind(op.getResult(), std::move(y));
  return Error::success();
}

Error Interpreter::execSharedExpert(llm::SharedExpertOp op) {
  std::vector<const Tensor *> in;
  for (Value v : {op.getInput(), op.getGate(), op.getUp(), op.getDown(),
                  op.getExpertGate()}) {
    LLMC_TRY(t, getTensor(v));
    in.push_back(t);
  }
  LLMC_TRY(gs, rowScales(op.getGateScale()));
  LLMC_TRY(us, rowScales(op.getUpScale()));
  LLMC_TRY(ds, rowScales(op.getDownScale()));
  LLMC_TRY(y, sharedExpert(*in[0], *in[1], *in[2], *in[3], *in[4], gs, us, ds));
  bind(op.getResult(), std::move(y));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: output
//===----------------------------------------------------------------------===//

Error Interpreter::execOutput(Operation *op) {
  LLMC_TRY(x, getTensor(op->getOperand(0)));
  if (llvm::isa<llm::LastTokenOp>(op)) {
    LLMC_TRY(y, lastToken(*x));
    bind(op->getResult(0), std::move(y));
    return Error::success();
  }
  if (auto head = llvm::dyn_cast<llm::LMHeadOp>(op)) {
    // A vocab-parallel head computes the logits of the rank's vocab block:
    // the same product on the local weight block.
    LLMC_TRY(w, getTensor(head.getWeight()));
    LLMC_TRY(scales, rowScales(head.getWeightScale()));
    LLMC_TRY(y, scaledLinear(*x, *w, scales, nullptr, nullptr));
    bind(head.getResult(), std::move(y));
    return Error::success();
  }
  if (llvm::isa<llm::ArgmaxOp>(op)) {
    LLMC_TRY(y, argmax(*x));
    bind(op->getResult(0), std::move(y));
    return Error::success();
  }
  auto sampleOp = llvm::cast<llm::SampleOp>(op);
  const RtValue &seedValue = lookup(sampleOp.getSeed());
  uint64_t seed;
  if (auto *s = std::get_if<int64_t>(&seedValue))
    seed = uint64_t(*s);
  else if (auto *t = std::get_if<IntTensor>(&seedValue);
           t && t->numElements() == 1)
    seed = uint64_t(t->data[0]);
  else
    return createStringError("sample: the seed operand is not an integer "
                             "scalar");
  LLMC_TRY(y, sample(*x, seed, sampleOp.getTemperature().convertToDouble(), sampleOp.getTopP().convertToDouble(), int64_t(sampleOp.getTopK())));
  bind(sampleOp.getResult(), std::move(y));
  return Error::success();
}

} // namespace llmc::ref
