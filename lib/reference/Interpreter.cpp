//===- Interpreter.cpp - one rank's executor of llm IR --------------------===//
//
// Helpers first (grid arithmetic, attribute decoding, error locations), then
// the Program analysis, then the Interpreter: structure, one method per op
// family, pipelines and collectives.
//
//===----------------------------------------------------------------------===//

#include "llmc/Reference/Interpreter.h"

#include "llmc/Reference/Kernels.h"

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

/// Splits dim 0 of a tensor into `parts` equal chunks; anything else is
/// passed to every chunk unchanged (a CacheRef gets the chunk's rows).
Expected<std::vector<RtValue>> splitBatch(const RtValue &v, int64_t parts) {
  std::vector<RtValue> chunks;
  auto splitTensor = [&](const auto &t) -> Error {
    if (t.rank() < 1 || t.dim(0) % parts != 0)
      return createStringError("dist.pipeline: batch %lld is not divisible "
                               "by %lld microbatches",
                               (long long)(t.rank() ? t.dim(0) : 0),
                               (long long)parts);
    int64_t rows = t.dim(0) / parts;
    for (int64_t m = 0; m < parts; ++m)
      chunks.push_back(sliceAlong(t, 0, m * rows, rows));
    return Error::success();
  };
  if (auto *t = std::get_if<Tensor>(&v)) {
    if (Error e = splitTensor(*t))
      return std::move(e);
  } else if (auto *t = std::get_if<IntTensor>(&v)) {
    if (Error e = splitTensor(*t))
      return std::move(e);
  } else if (auto *c = std::get_if<CacheRef>(&v)) {
    if (c->rows % parts != 0)
      return createStringError("dist.pipeline: %lld KV cache rows are not "
                               "divisible by %lld microbatches",
                               (long long)c->rows, (long long)parts);
    int64_t rows = c->rows / parts;
    for (int64_t m = 0; m < parts; ++m)
      chunks.push_back(CacheRef{c->cache, c->rowOffset + m * rows, rows});
  } else {
    for (int64_t m = 0; m < parts; ++m)
      chunks.push_back(v);
  }
  return chunks;
}

/// Concatenates the micro-batch results of one pipeline result along dim 0.
Expected<RtValue> concatBatch(std::vector<RtValue> parts, unsigned resultNo) {
  if (llvm::all_of(parts, isAbsent))
    return RtValue(Absent());
  if (llvm::any_of(parts, isAbsent))
    return createStringError("dist.pipeline: result #%u exists for some "
                             "microbatches of this rank but not for others",
                             resultNo);
  if (std::holds_alternative<Tensor>(parts.front())) {
    std::vector<Tensor> ts;
    for (RtValue &p : parts) {
      if (!std::holds_alternative<Tensor>(p))
        return createStringError("dist.pipeline: result #%u changes kind "
                                 "between microbatches",
                                 resultNo);
      ts.push_back(std::move(std::get<Tensor>(p)));
    }
    Expected<Tensor> t = concatAlong<float>(ts, 0);
    if (!t)
      return t.takeError();
    return RtValue(std::move(*t));
  }
  if (std::holds_alternative<IntTensor>(parts.front())) {
    std::vector<IntTensor> ts;
    for (RtValue &p : parts) {
      if (!std::holds_alternative<IntTensor>(p))
        return createStringError("dist.pipeline: result #%u changes kind "
                                 "between microbatches",
                                 resultNo);
      ts.push_back(std::move(std::get<IntTensor>(p)));
    }
    Expected<IntTensor> t = concatAlong<int64_t>(ts, 0);
    if (!t)
      return t.takeError();
    return RtValue(std::move(*t));
  }
  return createStringError("dist.pipeline: result #%u is not a tensor",
                           resultNo);
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

/// Splits `t` into `parts` equal pieces along `axis`.
template <typename T>
Expected<std::vector<AnyTensor>> splitAlong(const TensorOf<T> &t, int64_t axis,
                                            int64_t parts) {
  if (axis < 0 || axis >= t.rank() || t.dim(axis) % parts != 0)
    return createStringError("cannot split a %s tensor into %lld pieces "
                             "along dim %lld",
                             shapeString(t.shape).c_str(), (long long)parts,
                             (long long)axis);
  int64_t size = t.dim(axis) / parts;
  std::vector<AnyTensor> out;
  for (int64_t i = 0; i < parts; ++i)
    out.push_back(sliceAlong(t, axis, i * size, size));
  return out;
}

/// Concatenates pieces of one kind along `axis`.
Expected<AnyTensor> concatAny(std::vector<AnyTensor> pieces, int64_t axis) {
  if (std::holds_alternative<Tensor>(pieces.front())) {
    std::vector<Tensor> ts;
    for (AnyTensor &p : pieces) {
      if (!std::holds_alternative<Tensor>(p))
        return createStringError("ranks contributed tensors of different "
                                 "element kinds");
      ts.push_back(std::move(std::get<Tensor>(p)));
    }
    Expected<Tensor> t = concatAlong<float>(ts, axis);
    if (!t)
      return t.takeError();
    return AnyTensor(std::move(*t));
  }
  std::vector<IntTensor> ts;
  for (AnyTensor &p : pieces) {
    if (!std::holds_alternative<IntTensor>(p))
      return createStringError("ranks contributed tensors of different "
                               "element kinds");
    ts.push_back(std::move(std::get<IntTensor>(p)));
  }
  Expected<IntTensor> t = concatAlong<int64_t>(ts, axis);
  if (!t)
    return t.takeError();
  return AnyTensor(std::move(*t));
}

RtValue toRtValue(AnyTensor t) {
  if (auto *f = std::get_if<Tensor>(&t))
    return std::move(*f);
  return std::move(std::get<IntTensor>(t));
}

} // namespace

//===----------------------------------------------------------------------===//
// Grid
//===----------------------------------------------------------------------===//

int64_t Grid::numRanks() const { return numElements(shape); }

std::vector<int64_t> Grid::coordinates(int64_t rank) const {
  std::vector<int64_t> coords(shape.size());
  for (int64_t i = int64_t(shape.size()) - 1; i >= 0; --i) {
    coords[i] = rank % shape[i];
    rank /= shape[i];
  }
  return coords;
}

int64_t Grid::rankAt(llvm::ArrayRef<int64_t> coords) const {
  int64_t rank = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    rank = rank * shape[i] + coords[i];
  return rank;
}

int Grid::axisIndex(llvm::StringRef axis) const {
  for (size_t i = 0; i < axisNames.size(); ++i)
    if (axisNames[i] == axis)
      return int(i);
  return -1;
}

int64_t Grid::degree(llvm::StringRef axis) const {
  int i = axisIndex(axis);
  return i < 0 ? 1 : shape[i];
}

int64_t Grid::coordinate(int64_t rank, llvm::StringRef axis) const {
  int i = axisIndex(axis);
  return i < 0 ? 0 : coordinates(rank)[i];
}

std::vector<int> Grid::group(int64_t rank, llvm::ArrayRef<int64_t> axes) const {
  std::vector<int64_t> coords = coordinates(rank);
  int64_t size = 1;
  for (int64_t a : axes)
    size *= shape[a];
  std::vector<int> members;
  for (int64_t i = 0; i < size; ++i) {
    int64_t rest = i;
    for (int64_t j = int64_t(axes.size()) - 1; j >= 0; --j) {
      coords[axes[j]] = rest % shape[axes[j]];
      rest /= shape[axes[j]];
    }
    members.push_back(int(rankAt(coords)));
  }
  return members;
}

//===----------------------------------------------------------------------===//
// Program
//===----------------------------------------------------------------------===//

Expected<Program> Program::analyze(mlir::ModuleOp module) {
  Program p;
  p.module = module;
  p.forward = module.lookupSymbol<mlir::func::FuncOp>("forward");
  if (!p.forward || p.forward.isExternal())
    return createStringError("the module has no func.func @forward with a "
                             "body to run");
  for (Operation &op : module.getBody()->getOperations()) {
    if (auto w = llvm::dyn_cast<llm::WeightOp>(op)) {
      p.weights[w.getSymName()] = w;
      continue;
    }
    auto grid = llvm::dyn_cast<mlir::shard::GridOp>(op);
    if (!grid)
      continue;
    if (!p.grid.name.empty())
      return createStringError("the module has two shard.grid ops (@%s and "
                               "@%s); the reference executor runs one grid",
                               p.grid.name.c_str(),
                               grid.getSymName().str().c_str());
    p.grid.name = grid.getSymName().str();
    for (int64_t d : grid.getShape()) {
      if (mlir::ShapedType::isDynamic(d) || d < 1)
        return createStringError("shard.grid @%s has a dynamic or empty axis; "
                                 "the reference executor needs a static grid",
                                 p.grid.name.c_str());
      p.grid.shape.push_back(d);
    }
    if (auto names = grid->getAttrOfType<mlir::ArrayAttr>("dist.axes")) {
      for (mlir::Attribute a : names) {
        auto s = llvm::dyn_cast<mlir::StringAttr>(a);
        if (!s)
          return createStringError("shard.grid @%s: dist.axes must hold "
                                   "strings",
                                   p.grid.name.c_str());
        p.grid.axisNames.push_back(s.str());
      }
      if (p.grid.axisNames.size() != p.grid.shape.size())
        return createStringError("shard.grid @%s: dist.axes names %zu axes "
                                 "but the grid has %zu",
                                 p.grid.name.c_str(), p.grid.axisNames.size(),
                                 p.grid.shape.size());
    }
  }
  if (auto axes = p.forward->getAttrOfType<mlir::ArrayAttr>(
          "dist.batch_axes")) {
    for (mlir::Attribute a : axes) {
      auto s = llvm::dyn_cast<mlir::StringAttr>(a);
      if (!s)
        return createStringError("@forward: dist.batch_axes must hold axis "
                                 "names");
      p.batchAxes.push_back(s.str());
    }
  } else if (auto dp = p.forward->getAttrOfType<mlir::StringAttr>(
                 "dist.data_parallel_axis")) {
    p.batchAxes.push_back(dp.str());
  }
  if (auto sp =
          p.forward->getAttrOfType<mlir::StringAttr>("dist.sequence_axis"))
    p.sequenceAxis = sp.str();
  return p;
}

int64_t Program::numReplicas() const {
  int64_t n = 1;
  for (const std::string &axis : batchAxes)
    n *= grid.degree(axis);
  return n;
}

int64_t Program::replicaOf(int64_t rank) const {
  int64_t index = 0;
  for (const std::string &axis : batchAxes)
    index = index * grid.degree(axis) + grid.coordinate(rank, axis);
  return index;
}

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
Interpreter::run(std::vector<RtValue> args, InProcessCommunicator &comm) {
  comm_ = &comm;
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
      .Case([&](llm::RopeOp o) { return execRope(o); })
      .Case<llm::SwiGLUOp, llm::AddOp>(
          [&](Operation *o) { return execElementwise(o); })
      .Case([&](llm::AttentionOp o) { return execAttention(o); })
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
  Expected<std::vector<RtValue>> results =
      runBlock(op.getBody().front(), std::move(args));
  if (!results)
    return results.takeError();
  for (auto [r, v] : llvm::zip(op.getResults(), *results))
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
                             "which the grid does not name (dist.axes)",
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
      Expected<int64_t> coord = sliceCoordinate(*s, name);
      if (!coord)
        return coord.takeError();
      fullShape.assign(s->getFullShape().begin(), s->getFullShape().end());
      slice = rt::Slice{int(s->getDim()), s->getOffsets()[*coord],
                        s->getSize()};
    }
    Expected<Tensor> t = weights_.load(name, fullShape, slice);
    if (!t)
      return t.takeError();
    if (t->shape != std::vector<int64_t>(local.begin(), local.end()))
      return createStringError("weight '%s' loads as %s but is "
                               "declared %s",
                               name.str().c_str(),
                               shapeString(t->shape).c_str(),
                               shapeString(local).c_str());
    it = loaded_.emplace(name.str(), std::move(*t)).first;
  }
  bind(op.getResult(), it->second);
  return Error::success();
}

Error Interpreter::execEmbedding(llm::EmbeddingOp op) {
  Expected<const IntTensor *> ids = getInts(op.getIds());
  if (!ids)
    return ids.takeError();
  Expected<const Tensor *> table = getTensor(op.getTable());
  if (!table)
    return table.takeError();
  std::optional<int64_t> vocabStart;
  if (op.getVocabParallel()) {
    vocabStart = 0;
    std::optional<llm::WeightOp> w = traceWeight(op.getTable(), program_);
    if (w && w->getSlice()) {
      Expected<int64_t> coord = sliceCoordinate(*w->getSlice(), w->getSymName());
      if (!coord)
        return coord.takeError();
      vocabStart = w->getSlice()->getOffsets()[*coord];
    }
  }
  Expected<Tensor> y = embedding(**ids, **table, vocabStart);
  if (!y)
    return y.takeError();
  bind(op.getResult(), std::move(*y));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: dense layer ops
//===----------------------------------------------------------------------===//

Error Interpreter::execRMSNorm(llm::RMSNormOp op) {
  Expected<const Tensor *> x = getTensor(op.getInput());
  if (!x)
    return x.takeError();
  Expected<const Tensor *> w = getTensor(op.getWeight());
  if (!w)
    return w.takeError();
  Expected<Tensor> y = rmsNorm(**x, **w, op.getEps().convertToDouble());
  if (!y)
    return y.takeError();
  bind(op.getResult(), std::move(*y));
  return Error::success();
}

Error Interpreter::execLinear(llm::LinearOp op) {
  Expected<const Tensor *> x = getTensor(op.getInput());
  if (!x)
    return x.takeError();
  Expected<const Tensor *> w = getTensor(op.getWeight());
  if (!w)
    return w.takeError();
  const Tensor *bias = nullptr;
  if (Value b = op.getBias()) {
    Expected<const Tensor *> bt = getTensor(b);
    if (!bt)
      return bt.takeError();
    bias = *bt;
  }
  Expected<Tensor> y = linear(**x, **w, bias);
  if (!y)
    return y.takeError();
  bind(op.getResult(), std::move(*y));
  return Error::success();
}

Error Interpreter::execBiasAdd(llm::BiasAddOp op) {
  Expected<const Tensor *> x = getTensor(op.getInput());
  if (!x)
    return x.takeError();
  Expected<const Tensor *> b = getTensor(op.getBias());
  if (!b)
    return b.takeError();
  Expected<Tensor> y = biasAdd(**x, **b);
  if (!y)
    return y.takeError();
  bind(op.getResult(), std::move(*y));
  return Error::success();
}

Error Interpreter::execRope(llm::RopeOp op) {
  Expected<const Tensor *> x = getTensor(op.getInput());
  if (!x)
    return x.takeError();
  Expected<const IntTensor *> pos = getInts(op.getPositions());
  if (!pos)
    return pos.takeError();
  Expected<Tensor> y =
      rope(**x, **pos, int64_t(op.getHeadDim()), ropeConfig(op.getRope()));
  if (!y)
    return y.takeError();
  bind(op.getResult(), std::move(*y));
  return Error::success();
}

Error Interpreter::execElementwise(Operation *op) {
  Expected<const Tensor *> a = getTensor(op->getOperand(0));
  if (!a)
    return a.takeError();
  Expected<const Tensor *> b = getTensor(op->getOperand(1));
  if (!b)
    return b.takeError();
  Expected<Tensor> y =
      llvm::isa<llm::SwiGLUOp>(op) ? swiglu(**a, **b) : add(**a, **b);
  if (!y)
    return y.takeError();
  bind(op->getResult(0), std::move(*y));
  return Error::success();
}

Error Interpreter::execAttention(llm::AttentionOp op) {
  Expected<const Tensor *> q = getTensor(op.getQ());
  if (!q)
    return q.takeError();
  Expected<const Tensor *> k = getTensor(op.getK());
  if (!k)
    return k.takeError();
  Expected<const Tensor *> v = getTensor(op.getV());
  if (!v)
    return v.takeError();
  Expected<const IntTensor *> pos = getInts(op.getPositions());
  if (!pos)
    return pos.takeError();
  AttentionConfig config;
  config.numHeads = int64_t(op.getNumHeads());
  config.numKvHeads = int64_t(op.getNumKvHeads());
  config.headDim = int64_t(op.getHeadDim());
  config.causal = op.getCausal();
  if (std::optional<uint64_t> w = op.getSlidingWindow())
    config.slidingWindow = int64_t(*w);
  if (std::optional<llvm::APFloat> s = op.getScale())
    config.scale = s->convertToDouble();
  std::optional<CacheBinding> binding;
  if (Value c = op.getCache()) {
    const CacheRef *ref = std::get_if<CacheRef>(&lookup(c));
    if (!ref || !ref->cache)
      return createStringError("attention: the KV cache operand is not "
                               "available on rank %d",
                               rank_);
    if ((*q)->rank() >= 1 && (*q)->dim(0) != ref->rows)
      return createStringError("attention: a batch of %lld rows uses a KV "
                               "cache view of %lld rows",
                               (long long)(*q)->dim(0), (long long)ref->rows);
    binding = CacheBinding{ref->cache, int64_t(op.getCacheSlot().value_or(0)),
                           ref->rowOffset};
  }
  Expected<Tensor> y = attention(**q, **k, **v, **pos, config,
                                 binding ? &*binding : nullptr);
  if (!y)
    return y.takeError();
  bind(op.getResult(), std::move(*y));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: mixture of experts
//===----------------------------------------------------------------------===//

Error Interpreter::execMoERouter(llm::MoERouterOp op) {
  Expected<const Tensor *> x = getTensor(op.getInput());
  if (!x)
    return x.takeError();
  Expected<const Tensor *> gate = getTensor(op.getGate());
  if (!gate)
    return gate.takeError();
  Expected<Routing> r =
      moeRouter(**x, **gate, int64_t(op.getNumExperts()),
                int64_t(op.getTopK()), op.getRenormalize());
  if (!r)
    return r.takeError();
  bind(op.getWeights(), std::move(r->weights));
  bind(op.getIndices(), std::move(r->indices));
  return Error::success();
}

Error Interpreter::execExperts(llm::ExpertsOp op) {
  Expected<const Tensor *> x = getTensor(op.getInput());
  if (!x)
    return x.takeError();
  Expected<const Tensor *> rw = getTensor(op.getRoutingWeights());
  if (!rw)
    return rw.takeError();
  Expected<const IntTensor *> ri = getInts(op.getRoutingIndices());
  if (!ri)
    return ri.takeError();
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
    Expected<const Tensor *> g = getTensor(op.getGateWeights()[i]);
    if (!g)
      return g.takeError();
    Expected<const Tensor *> u = getTensor(op.getUpWeights()[i]);
    if (!u)
      return u.takeError();
    Expected<const Tensor *> d = getTensor(op.getDownWeights()[i]);
    if (!d)
      return d.takeError();
    local.push_back(ExpertWeights{op.getExpertId(i), *g, *u, *d});
  }
  Expected<Tensor> y = experts(**x, **rw, **ri, local);
  if (!y)
    return y.takeError();
  bind(op.getResult(), std::move(*y));
  return Error::success();
}

Error Interpreter::execSharedExpert(llm::SharedExpertOp op) {
  std::vector<const Tensor *> in;
  for (Value v : op->getOperands()) {
    Expected<const Tensor *> t = getTensor(v);
    if (!t)
      return t.takeError();
    in.push_back(*t);
  }
  Expected<Tensor> y = sharedExpert(*in[0], *in[1], *in[2], *in[3], *in[4]);
  if (!y)
    return y.takeError();
  bind(op.getResult(), std::move(*y));
  return Error::success();
}

Expected<std::pair<std::vector<int>, int64_t>>
Interpreter::axisGroup(llvm::StringRef gridName, int64_t axis) const {
  const Grid &grid = program_.grid;
  if (gridName != grid.name)
    return createStringError("grid @%s is not the module's grid",
                             gridName.str().c_str());
  if (axis < 0 || axis >= int64_t(grid.shape.size()))
    return createStringError("axis %lld is not an axis of grid @%s",
                             (long long)axis, grid.name.c_str());
  return std::make_pair(grid.group(rank_, {axis}),
                        grid.coordinates(rank_)[axis]);
}

Error Interpreter::execExpertDispatch(dist::ExpertDispatchOp op) {
  Expected<const Tensor *> x = getTensor(op.getInput());
  if (!x)
    return x.takeError();
  Expected<const Tensor *> w = getTensor(op.getWeights());
  if (!w)
    return w.takeError();
  Expected<const IntTensor *> ids = getInts(op.getIndices());
  if (!ids)
    return ids.takeError();
  Expected<std::pair<std::vector<int>, int64_t>> group =
      axisGroup(op.getGrid(), int64_t(op.getAxis()));
  if (!group)
    return group.takeError();
  const std::vector<int> &members = group->first;
  int64_t h = (*x)->innerSize(), tokens = (*x)->outerSize();
  int64_t k = (*w)->innerSize();
  if ((*w)->shape != (*ids)->shape || (*w)->outerSize() != tokens)
    return createStringError("expert_dispatch: routing %s / %s does not match "
                             "the input %s",
                             shapeString((*w)->shape).c_str(),
                             shapeString((*ids)->shape).c_str(),
                             shapeString((*x)->shape).c_str());
  llvm::ArrayRef<int64_t> owners = op.getOwners();

  // Per destination: rows [n, H + 1] (the token, then its routing weight)
  // and [n, 3] (expert id, flat token index, choice), in (token, choice)
  // order.
  std::vector<std::vector<float>> rows(members.size());
  std::vector<std::vector<int64_t>> meta(members.size());
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t c = 0; c < k; ++c) {
      int64_t e = (*ids)->data[t * k + c];
      if (e < 0 || e >= int64_t(owners.size()))
        return createStringError("expert_dispatch: expert id %lld has no "
                                 "owner (%zu experts)",
                                 (long long)e, owners.size());
      int64_t dest = owners[e];
      if (dest >= int64_t(members.size()))
        return createStringError("expert_dispatch: owner %lld of expert %lld "
                                 "is outside the axis",
                                 (long long)dest, (long long)e);
      const float *row = (*x)->data.data() + t * h;
      rows[dest].insert(rows[dest].end(), row, row + h);
      rows[dest].push_back((*w)->data[t * k + c]);
      meta[dest].insert(meta[dest].end(), {e, t, c});
    }
  std::vector<AnyTensor> rowPieces, metaPieces;
  for (size_t d = 0; d < members.size(); ++d) {
    int64_t n = int64_t(meta[d].size() / 3);
    rowPieces.push_back(Tensor({n, h + 1}, std::move(rows[d])));
    metaPieces.push_back(IntTensor({n, 3}, std::move(meta[d])));
  }
  Expected<std::vector<AnyTensor>> gotRows =
      comm_->allToAll(rank_, members, std::move(rowPieces));
  if (!gotRows)
    return gotRows.takeError();
  Expected<std::vector<AnyTensor>> gotMeta =
      comm_->allToAll(rank_, members, std::move(metaPieces));
  if (!gotMeta)
    return gotMeta.takeError();

  // Received rows in (source coordinate, token, choice) order.
  int64_t total = 0;
  for (const AnyTensor &m : *gotMeta)
    total += shapeOf(m)[0];
  Tensor outTokens({1, total, h}), outWeights({1, total, 1});
  IntTensor outIds({1, total, 1}), route({total, 3});
  int64_t i = 0;
  for (size_t src = 0; src < members.size(); ++src) {
    const Tensor &r = std::get<Tensor>((*gotRows)[src]);
    const IntTensor &m = std::get<IntTensor>((*gotMeta)[src]);
    for (int64_t j = 0; j < m.dim(0); ++j, ++i) {
      std::copy_n(r.data.begin() + j * (h + 1), h,
                  outTokens.data.begin() + i * h);
      outWeights.data[i] = r.data[j * (h + 1) + h];
      outIds.data[i] = m.data[j * 3];
      route.data[i * 3] = int64_t(src);
      route.data[i * 3 + 1] = m.data[j * 3 + 1];
      route.data[i * 3 + 2] = m.data[j * 3 + 2];
    }
  }
  bind(op.getTokens(), std::move(outTokens));
  bind(op.getTokenWeights(), std::move(outWeights));
  bind(op.getTokenIndices(), std::move(outIds));
  bind(op.getRoute(), std::move(route));
  return Error::success();
}

Error Interpreter::execExpertCombine(dist::ExpertCombineOp op) {
  Expected<const Tensor *> y = getTensor(op.getExpertOutput());
  if (!y)
    return y.takeError();
  Expected<const IntTensor *> route = getInts(op.getRoute());
  if (!route)
    return route.takeError();
  Expected<const Tensor *> like = getTensor(op.getLike());
  if (!like)
    return like.takeError();
  Expected<std::pair<std::vector<int>, int64_t>> group =
      axisGroup(op.getGrid(), int64_t(op.getAxis()));
  if (!group)
    return group.takeError();
  const std::vector<int> &members = group->first;
  int64_t h = (*like)->innerSize(), tokens = (*like)->outerSize();
  int64_t n = (*route)->rank() == 2 ? (*route)->dim(0) : -1;
  if (n < 0 || (*route)->dim(1) != 3 || (*y)->innerSize() != h ||
      (*y)->outerSize() != n)
    return createStringError("expert_combine: expert output %s and route %s "
                             "do not match",
                             shapeString((*y)->shape).c_str(),
                             shapeString((*route)->shape).c_str());

  // Send each row back to its source coordinate with (token, choice).
  std::vector<std::vector<float>> rows(members.size());
  std::vector<std::vector<int64_t>> meta(members.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t dest = (*route)->data[i * 3];
    if (dest < 0 || dest >= int64_t(members.size()))
      return createStringError("expert_combine: route names coordinate %lld "
                               "of an axis of %zu",
                               (long long)dest, members.size());
    const float *row = (*y)->data.data() + i * h;
    rows[dest].insert(rows[dest].end(), row, row + h);
    meta[dest].insert(meta[dest].end(),
                      {(*route)->data[i * 3 + 1], (*route)->data[i * 3 + 2]});
  }
  std::vector<AnyTensor> rowPieces, metaPieces;
  for (size_t d = 0; d < members.size(); ++d) {
    int64_t count = int64_t(meta[d].size() / 2);
    rowPieces.push_back(Tensor({count, h}, std::move(rows[d])));
    metaPieces.push_back(IntTensor({count, 2}, std::move(meta[d])));
  }
  Expected<std::vector<AnyTensor>> gotRows =
      comm_->allToAll(rank_, members, std::move(rowPieces));
  if (!gotRows)
    return gotRows.takeError();
  Expected<std::vector<AnyTensor>> gotMeta =
      comm_->allToAll(rank_, members, std::move(metaPieces));
  if (!gotMeta)
    return gotMeta.takeError();

  // Each token's result is the sum of its choices' rows in choice order,
  // as the unsharded experts op adds them.
  struct Part {
    int64_t token, choice;
    const float *row;
  };
  std::vector<Part> parts;
  for (size_t src = 0; src < members.size(); ++src) {
    const Tensor &r = std::get<Tensor>((*gotRows)[src]);
    const IntTensor &m = std::get<IntTensor>((*gotMeta)[src]);
    for (int64_t j = 0; j < m.dim(0); ++j) {
      int64_t t = m.data[j * 2];
      if (t < 0 || t >= tokens)
        return createStringError("expert_combine: token %lld is outside the "
                                 "%lld tokens of this rank",
                                 (long long)t, (long long)tokens);
      parts.push_back(Part{t, m.data[j * 2 + 1], r.data.data() + j * h});
    }
  }
  std::stable_sort(parts.begin(), parts.end(), [](const Part &a, const Part &b) {
    return a.token != b.token ? a.token < b.token : a.choice < b.choice;
  });
  Tensor out((*like)->shape);
  for (const Part &p : parts)
    for (int64_t i = 0; i < h; ++i)
      out.data[p.token * h + i] += p.row[i];
  bind(op.getResult(), std::move(out));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: output
//===----------------------------------------------------------------------===//

Error Interpreter::execOutput(Operation *op) {
  Expected<const Tensor *> x = getTensor(op->getOperand(0));
  if (!x)
    return x.takeError();
  if (llvm::isa<llm::LastTokenOp>(op)) {
    Expected<Tensor> y = lastToken(**x);
    if (!y)
      return y.takeError();
    bind(op->getResult(0), std::move(*y));
    return Error::success();
  }
  if (auto head = llvm::dyn_cast<llm::LMHeadOp>(op)) {
    // A vocab-parallel head computes the logits of the rank's vocab block:
    // the same product on the local weight block.
    Expected<const Tensor *> w = getTensor(head.getWeight());
    if (!w)
      return w.takeError();
    Expected<Tensor> y = linear(**x, **w);
    if (!y)
      return y.takeError();
    bind(head.getResult(), std::move(*y));
    return Error::success();
  }
  if (llvm::isa<llm::ArgmaxOp>(op)) {
    Expected<IntTensor> y = argmax(**x);
    if (!y)
      return y.takeError();
    bind(op->getResult(0), std::move(*y));
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
  Expected<IntTensor> y = sample(**x, seed,
                                 sampleOp.getTemperature().convertToDouble(),
                                 sampleOp.getTopP().convertToDouble(),
                                 int64_t(sampleOp.getTopK()));
  if (!y)
    return y.takeError();
  bind(sampleOp.getResult(), std::move(*y));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: pipelines
//===----------------------------------------------------------------------===//

Error Interpreter::execPipeline(dist::PipelineOp op) {
  int64_t m = int64_t(op.getMicrobatches());
  if (m < 1)
    return createStringError("dist.pipeline: %lld microbatches", (long long)m);
  // chunks[i][j]: operand i for micro-batch j.
  std::vector<std::vector<RtValue>> chunks;
  for (Value v : op.getInputs()) {
    Expected<std::vector<RtValue>> c = splitBatch(lookup(v), m);
    if (!c)
      return c.takeError();
    chunks.push_back(std::move(*c));
  }
  // perResult[r][j]: result r of micro-batch j.
  std::vector<std::vector<RtValue>> perResult(op.getNumResults());
  for (int64_t j = 0; j < m; ++j) {
    std::vector<RtValue> args;
    for (auto &c : chunks)
      args.push_back(c[j]);
    Expected<std::vector<RtValue>> results =
        runBlock(op.getBody().front(), std::move(args));
    if (!results)
      return results.takeError();
    for (unsigned r = 0; r < op.getNumResults(); ++r)
      perResult[r].push_back(std::move((*results)[r]));
  }
  for (unsigned r = 0; r < op.getNumResults(); ++r) {
    Expected<RtValue> v = concatBatch(std::move(perResult[r]), r);
    if (!v)
      return v.takeError();
    bind(op.getResult(r), std::move(*v));
  }
  return Error::success();
}

Error Interpreter::execStage(dist::StageOp op) {
  int64_t stage = program_.grid.coordinate(rank_, "pp");
  if (stage != int64_t(op.getStage())) {
    for (Value r : op.getResults())
      bind(r, Absent());
    return Error::success();
  }
  std::vector<RtValue> args;
  for (auto [i, v] : llvm::enumerate(op.getInputs())) {
    if (isAbsent(lookup(v)))
      return createStringError("dist.stage %lld: operand #%zu is not "
                               "available on rank %d (pp coordinate %lld); "
                               "a dist.transfer must bring it here",
                               (long long)op.getStage(), i, rank_,
                               (long long)stage);
    args.push_back(lookup(v));
  }
  Expected<std::vector<RtValue>> results =
      runBlock(op.getBody().front(), std::move(args));
  if (!results)
    return results.takeError();
  for (auto [r, v] : llvm::zip(op.getResults(), *results))
    bind(r, std::move(v));
  return Error::success();
}

Error Interpreter::execTransfer(dist::TransferOp op) {
  const Grid &grid = program_.grid;
  if (op.getGrid() != grid.name)
    return createStringError("dist.transfer: grid @%s is not the module's "
                             "grid",
                             op.getGrid().str().c_str());
  int64_t axis = int64_t(op.getAxis());
  if (axis < 0 || axis >= int64_t(grid.shape.size()))
    return createStringError("dist.transfer: axis %lld is not an axis of "
                             "grid @%s",
                             (long long)axis, grid.name.c_str());
  int64_t from = int64_t(op.getFrom()), to = int64_t(op.getTo());
  std::vector<int64_t> coords = grid.coordinates(rank_);
  int64_t mine = coords[axis];
  if (mine == from) {
    const RtValue &v = lookup(op.getInput());
    if (from == to) {
      bind(op.getResult(), v);
      return Error::success();
    }
    AnyTensor payload;
    if (auto *t = std::get_if<Tensor>(&v))
      payload = *t;
    else if (auto *t = std::get_if<IntTensor>(&v))
      payload = *t;
    else
      return createStringError("dist.transfer: the value to send is not "
                               "available on rank %d (coordinate %lld along "
                               "axis %lld)",
                               rank_, (long long)mine, (long long)axis);
    coords[axis] = to;
    if (Error e = comm_->send(rank_, int(grid.rankAt(coords)),
                              std::move(payload)))
      return e;
    bind(op.getResult(), Absent());
    return Error::success();
  }
  if (mine == to) {
    coords[axis] = from;
    Expected<AnyTensor> got = comm_->recv(rank_, int(grid.rankAt(coords)));
    if (!got)
      return got.takeError();
    bind(op.getResult(), toRtValue(std::move(*got)));
    return Error::success();
  }
  bind(op.getResult(), Absent());
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: collectives
//===----------------------------------------------------------------------===//

Error Interpreter::execCollective(Operation *op) {
  namespace shard = mlir::shard;
  auto gridName = op->getAttrOfType<mlir::FlatSymbolRefAttr>("grid");
  if (!gridName || gridName.getValue() != program_.grid.name)
    return createStringError("the collective's grid is not the module's "
                             "grid @%s",
                             program_.grid.name.c_str());
  std::vector<int64_t> axes;
  if (auto a = op->getAttrOfType<mlir::DenseI16ArrayAttr>("grid_axes"))
    for (int16_t axis : a.asArrayRef()) {
      if (axis < 0 || axis >= int16_t(program_.grid.shape.size()))
        return createStringError("grid axis %d is not an axis of @%s", axis,
                                 program_.grid.name.c_str());
      axes.push_back(axis);
    }
  std::vector<int> group = program_.grid.group(rank_, axes);
  int64_t groupSize = int64_t(group.size());
  int64_t me = llvm::find(group, rank_) - group.begin();

  const RtValue &in = lookup(op->getOperand(0));
  AnyTensor input;
  if (auto *t = std::get_if<Tensor>(&in))
    input = *t;
  else if (auto *t = std::get_if<IntTensor>(&in))
    input = *t;
  else
    return createStringError("the input is not available on rank %d, which "
                             "must take part in the collective over ranks %s",
                             rank_, groupString(group).c_str());

  auto splitAny = [&](int64_t axis) -> Expected<std::vector<AnyTensor>> {
    if (auto *t = std::get_if<Tensor>(&input))
      return splitAlong(*t, axis, groupSize);
    return splitAlong(std::get<IntTensor>(input), axis, groupSize);
  };

  if (auto ar = llvm::dyn_cast<shard::AllReduceOp>(op)) {
    ReduceKind kind;
    switch (ar.getReduction()) {
    case shard::ReductionKind::Sum:
      kind = ReduceKind::Sum;
      break;
    case shard::ReductionKind::Max:
      kind = ReduceKind::Max;
      break;
    case shard::ReductionKind::Min:
      kind = ReduceKind::Min;
      break;
    case shard::ReductionKind::Product:
      kind = ReduceKind::Product;
      break;
    default:
      return createStringError("reduction kind %s is not supported",
                               shard::stringifyReductionKind(ar.getReduction())
                                   .str()
                                   .c_str());
    }
    auto *t = std::get_if<Tensor>(&input);
    if (!t)
      return createStringError("all_reduce of an integer tensor is not "
                               "supported");
    Tensor data = std::move(*t);
    if (Error e = comm_->allReduce(rank_, group, data, kind))
      return e;
    bind(ar.getResult(), std::move(data));
    return Error::success();
  }
  if (auto ag = llvm::dyn_cast<shard::AllGatherOp>(op)) {
    Expected<std::vector<AnyTensor>> all =
        comm_->allGather(rank_, group, std::move(input));
    if (!all)
      return all.takeError();
    Expected<AnyTensor> y =
        concatAny(std::move(*all), int64_t(ag.getGatherAxis().getSExtValue()));
    if (!y)
      return y.takeError();
    bind(ag.getResult(), toRtValue(std::move(*y)));
    return Error::success();
  }
  if (auto a2a = llvm::dyn_cast<shard::AllToAllOp>(op)) {
    Expected<std::vector<AnyTensor>> pieces =
        splitAny(int64_t(a2a.getSplitAxis().getSExtValue()));
    if (!pieces)
      return pieces.takeError();
    Expected<std::vector<AnyTensor>> got =
        comm_->allToAll(rank_, group, std::move(*pieces));
    if (!got)
      return got.takeError();
    Expected<AnyTensor> y = concatAny(
        std::move(*got), int64_t(a2a.getConcatAxis().getSExtValue()));
    if (!y)
      return y.takeError();
    bind(a2a.getResult(), toRtValue(std::move(*y)));
    return Error::success();
  }
  if (auto rs = llvm::dyn_cast<shard::ReduceScatterOp>(op)) {
    auto *t = std::get_if<Tensor>(&input);
    if (!t || rs.getReduction() != shard::ReductionKind::Sum)
      return createStringError("only a sum reduce_scatter of a float tensor "
                               "is supported");
    Tensor data = std::move(*t);
    if (Error e = comm_->allReduce(rank_, group, data, ReduceKind::Sum))
      return e;
    input = std::move(data);
    Expected<std::vector<AnyTensor>> pieces =
        splitAny(int64_t(rs.getScatterAxis().getSExtValue()));
    if (!pieces)
      return pieces.takeError();
    bind(rs.getResult(), toRtValue(std::move((*pieces)[me])));
    return Error::success();
  }
  auto slice = llvm::cast<shard::AllSliceOp>(op);
  Expected<std::vector<AnyTensor>> pieces =
      splitAny(int64_t(slice.getSliceAxis().getSExtValue()));
  if (!pieces)
    return pieces.takeError();
  bind(slice.getResult(), toRtValue(std::move((*pieces)[me])));
  return Error::success();
}

} // namespace llmc::ref
