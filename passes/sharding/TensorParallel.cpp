//===- TensorParallel.cpp - Megatron tensor parallelism -------------------===//
//
// A forward walk tracks, for every value, whether each tp rank holds all of
// it (replicated), a slice of its last dim (split), or a partial sum
// (partial). Linears whose consumers are head- or width-parallel (rope,
// attention, swiglu) become column-parallel; linears fed a split value
// become row-parallel and produce partial sums, which are all-reduced where
// a replicated value is needed. This gives Megatron's two all-reduces per
// dense layer without pattern-matching whole layers, and the same walk
// handles experts, shared experts and the vocab-parallel ends.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#define DEBUG_TYPE "llm-shard-tensor-parallel"

namespace llmc {
#define GEN_PASS_DEF_TENSORPARALLEL
#include "passes/sharding/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Partial: each rank holds a partial sum. PartialMax: each rank holds the
/// maximum over its slice of a row (llm.token_scale of a split value); the
/// all-reduce that replicates it takes the max.
enum class Layout { Replicated, Split, Partial, PartialMax };

RankedTensorType withLastDim(Type type, int64_t size) {
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  shape.back() = size;
  return tensor.clone(shape);
}

int64_t lastDim(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape().back();
}

/// What a column-parallel linear feeds: decides how its rows are split.
enum class ColumnRole { None, Query, KeyValue, Width };

/// Follows a linear's result through rope ops to the attention or swiglu
/// that consumes it.
ColumnRole columnRole(Value result) {
  ColumnRole role = ColumnRole::None;
  for (OpOperand &use : result.getUses()) {
    Operation *user = use.getOwner();
    ColumnRole userRole = ColumnRole::None;
    if (auto rope = dyn_cast<llm::RopeOp>(user))
      userRole = columnRole(rope.getResult());
    else if (auto attn = dyn_cast<llm::AttentionOp>(user))
      userRole = use.get() == attn.getQ()
                     ? ColumnRole::Query
                     : (use.get() == attn.getK() || use.get() == attn.getV()
                            ? ColumnRole::KeyValue
                            : ColumnRole::None);
    else if (isa<llm::SwiGLUOp>(user))
      userRole = ColumnRole::Width;
    if (userRole == ColumnRole::None ||
        (role != ColumnRole::None && role != userRole))
      return ColumnRole::None;
    role = userRole;
  }
  return role;
}

/// The attention a q/k/v projection feeds (through rope).
llm::AttentionOp consumingAttention(Value value) {
  for (Operation *user : value.getUsers()) {
    if (auto attn = dyn_cast<llm::AttentionOp>(user))
      return attn;
    if (auto rope = dyn_cast<llm::RopeOp>(user))
      if (auto attn = consumingAttention(rope.getResult()))
        return attn;
  }
  return {};
}

//===----------------------------------------------------------------------===//
// The rewriter
//===----------------------------------------------------------------------===//

class TensorParallelRewriter {
public:
  TensorParallelRewriter(ModuleOp module, const GridInfo &grid)
      : module(module), symbols(module), grid(grid),
        builder(module.getContext()), tp(grid.degree("tp")),
        tpAxis(*grid.axisIndex("tp")) {}

  LogicalResult run(func::FuncOp forward);

private:
  LogicalResult visitBlock(Block &block);
  LogicalResult visit(Operation *op);
  LogicalResult visitLinear(llm::LinearOp op);
  LogicalResult visitAttention(llm::AttentionOp op);

  Layout layoutOf(Value v) const {
    auto it = layouts.find(v);
    return it == layouts.end() ? Layout::Replicated : it->second;
  }

  /// The replicated form of `v`: one all-reduce right after its producer for
  /// a partial sum, shared by every consumer.
  Value replicated(Value v);

  /// Slices the weight behind `param` (an llm.param result) along `dim`:
  /// rank with tp coordinate c loads [offsets[c], offsets[c] + size).
  LogicalResult sliceWeight(Value param, int64_t dim, int64_t size,
                            ArrayRef<int64_t> offsets);
  /// Slices `param` as sliceWeight does, and its FP8 `scale` (when given)
  /// the same way if the scale has one entry per index of `dim` (per-channel
  /// scales of a row split); otherwise the scale stays replicated.
  LogicalResult sliceWithScale(Value param, Value scale, int64_t dim,
                               int64_t size, ArrayRef<int64_t> offsets);
  /// Even split along `dim` (offsets c * full / tp), with its scale.
  LogicalResult splitWeight(Value param, int64_t dim, Value scale = {}) {
    int64_t full = cast<RankedTensorType>(param.getType()).getDimSize(dim);
    int64_t size = full / tp;
    SmallVector<int64_t> offsets;
    for (int64_t c = 0; c < tp; ++c)
      offsets.push_back(c * size);
    return sliceWithScale(param, scale, dim, size, offsets);
  }

  ModuleOp module;
  /// Built once: ModuleOp::lookupSymbol scans the module on every call, and
  /// a large MoE model has thousands of weights.
  SymbolTable symbols;
  const GridInfo &grid;
  OpBuilder builder;
  int64_t tp;
  int64_t tpAxis;
  DenseMap<Value, Layout> layouts;
  DenseMap<Value, Value> reducedOf;
  /// The kv cache type before and after splitting kv heads.
  Type oldCacheType, newCacheType;
};

Value TensorParallelRewriter::replicated(Value v) {
  Layout layout = layoutOf(v);
  if (layout != Layout::Partial && layout != Layout::PartialMax)
    return v;
  if (Value reduced = reducedOf.lookup(v))
    return reduced;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointAfterValue(v);
  auto reduce = shard::AllReduceOp::create(
      builder, v.getLoc(), v.getType(), kGridName,
      builder.getDenseI16ArrayAttr({static_cast<int16_t>(tpAxis)}), v,
      layout == Layout::PartialMax ? shard::ReductionKind::Max
                                   : shard::ReductionKind::Sum);
  reducedOf[v] = reduce.getResult();
  return reduce.getResult();
}

LogicalResult TensorParallelRewriter::sliceWeight(Value param, int64_t dim,
                                                  int64_t size,
                                                  ArrayRef<int64_t> offsets) {
  auto paramOp = param.getDefiningOp<llm::ParamOp>();
  if (!paramOp)
    return emitError(param.getLoc())
           << "tensor parallelism expects weights to come from llm.param";
  auto weight = symbols.lookup<llm::WeightOp>(paramOp.getName());
  RankedTensorType full = weight.getTensorType();
  if (auto existing = weight.getSliceAttr()) {
    // A weight used twice (tied embeddings) must be sliced the same way.
    if (existing.getDim() != dim || existing.getSize() != size ||
        existing.getOffsets() != offsets)
      return paramOp.emitError()
             << "weight " << weight.getSymName()
             << " would need two different tensor-parallel slices";
    paramOp.getResult().setType(weight.getType());
    return success();
  }
  SmallVector<int64_t> localShape(full.getShape());
  localShape[dim] = size;
  auto local = full.clone(localShape);
  weight.setSliceAttr(llm::WeightSliceAttr::get(
      module.getContext(), dim, size, "tp", offsets, full.getShape()));
  weight.setType(local);
  paramOp.getResult().setType(local);
  return success();
}

LogicalResult TensorParallelRewriter::sliceWithScale(
    Value param, Value scale, int64_t dim, int64_t size,
    ArrayRef<int64_t> offsets) {
  if (scale) {
    auto weightType = cast<RankedTensorType>(param.getType());
    auto scaleType = cast<RankedTensorType>(scale.getType());
    if (scaleType.getRank() > dim && weightType.getDimSize(dim) > 1 &&
        scaleType.getDimSize(dim) == weightType.getDimSize(dim) &&
        failed(sliceWeight(scale, dim, size, offsets)))
      return failure();
  }
  return sliceWeight(param, dim, size, offsets);
}

LogicalResult TensorParallelRewriter::visitLinear(llm::LinearOp op) {
  Value input = op.getInput();
  // A W8A8 input's scale is per token of the whole row: replicated.
  if (Value inputScale = op.getInputScale())
    op.getInputScaleMutable().assign(replicated(inputScale));
  if (layoutOf(input) == Layout::Split) {
    // Row-parallel: each rank multiplies its input slice by its column block
    // of W and gets a partial sum of the full output. Per-channel FP8 scales
    // belong to the output rows, which every rank keeps whole.
    if (failed(splitWeight(op.getWeight(), /*dim=*/1, op.getWeightScale())))
      return failure();
    if (Value bias = op.getBias()) {
      // The bias must be added once, after the sum.
      op.getBiasMutable().clear();
      layouts[op.getResult()] = Layout::Partial;
      Value reduced = replicated(op.getResult());
      builder.setInsertionPointAfterValue(reduced);
      auto add = llm::BiasAddOp::create(builder, op.getLoc(), reduced, bias);
      // Every consumer asking for the replicated value gets it with bias.
      reducedOf[op.getResult()] = add.getResult();
      return success();
    }
    layouts[op.getResult()] = Layout::Partial;
    return success();
  }
  input = replicated(input);
  op.getInputMutable().assign(input);
  ColumnRole role = columnRole(op.getResult());
  if (role == ColumnRole::None)
    return success(); // Stays replicated.
  int64_t out = lastDim(op.getResult());
  int64_t size = out / tp;
  SmallVector<int64_t> offsets;
  if (role == ColumnRole::KeyValue) {
    llm::AttentionOp attn = consumingAttention(op.getResult());
    int64_t kv = attn.getNumKvHeads(), headDim = attn.getHeadDim();
    if (tp > kv) {
      // More ranks than kv heads: rank c keeps the kv head its query heads
      // (c * heads/tp ...) map to, i.e. head c / (tp / kv).
      size = headDim;
      for (int64_t c = 0; c < tp; ++c)
        offsets.push_back(c / (tp / kv) * headDim);
    }
  }
  if (offsets.empty())
    for (int64_t c = 0; c < tp; ++c)
      offsets.push_back(c * size);
  if (failed(sliceWithScale(op.getWeight(), op.getWeightScale(), 0, size,
                            offsets)))
    return failure();
  if (Value bias = op.getBias())
    if (failed(sliceWeight(bias, 0, size, offsets)))
      return failure();
  op.getResult().setType(withLastDim(op.getResult().getType(), size));
  layouts[op.getResult()] = Layout::Split;
  return success();
}

LogicalResult TensorParallelRewriter::visitAttention(llm::AttentionOp op) {
  for (Value v : {op.getQ(), op.getK(), op.getV()})
    if (layoutOf(v) != Layout::Split)
      return op.emitError() << "tensor parallelism expects q, k and v of "
                               "attention to come from column-parallel "
                               "projections";
  int64_t heads = op.getNumHeads(), kv = op.getNumKvHeads();
  int64_t localHeads = heads / tp, localKv = tp > kv ? 1 : kv / tp;
  op.setNumHeads(localHeads);
  op.setNumKvHeads(localKv);
  op.getResult().setType(
      withLastDim(op.getResult().getType(), localHeads * op.getHeadDim()));
  if (Value cache = op.getCache()) {
    auto cacheType = cast<llm::KVCacheType>(cache.getType());
    oldCacheType = cacheType;
    newCacheType = llm::KVCacheType::get(
        cacheType.getContext(), cacheType.getNumLayers(), localKv,
        cacheType.getHeadDim(), cacheType.getElementType(),
        cacheType.getScales());
  }
  layouts[op.getResult()] = Layout::Split;
  return success();
}

LogicalResult TensorParallelRewriter::visit(Operation *op) {
  builder.setInsertionPoint(op);
  auto requireReplicatedOperands = [&]() {
    for (OpOperand &operand : op->getOpOperands())
      operand.set(replicated(operand.get()));
  };
  return TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](llm::LinearOp linear) -> LogicalResult { return visitLinear(linear); })
      .Case([&](llm::AttentionOp attn) -> LogicalResult { return visitAttention(attn); })
      .Case([&](llm::RopeOp rope) -> LogicalResult {
        layouts[rope.getResult()] = layoutOf(rope.getInput());
        rope.getResult().setType(rope.getInput().getType());
        return success();
      })
      .Case([&](llm::SwiGLUOp swiglu) -> LogicalResult {
        if (layoutOf(swiglu.getGate()) != layoutOf(swiglu.getUp()))
          return swiglu.emitError() << "gate and up projections must be "
                                       "split the same way";
        layouts[swiglu.getResult()] = layoutOf(swiglu.getGate());
        swiglu.getResult().setType(swiglu.getGate().getType());
        return success();
      })
      .Case([&](llm::AddOp add) -> LogicalResult {
        Layout l = layoutOf(add.getLhs()), r = layoutOf(add.getRhs());
        if (l != r && (l == Layout::Split || r == Layout::Split))
          return add.emitError() << "'llm.add' cannot take a tensor-parallel "
                                    "split operand with an unsplit one";
        if (l == r) {
          // Sums of partial sums stay partial: one all-reduce serves both.
          layouts[add.getResult()] = l;
          return success();
        }
        requireReplicatedOperands();
        return success();
      })
      .Case([&](llm::EmbeddingOp embedding) -> LogicalResult {
        int64_t vocab = cast<RankedTensorType>(embedding.getTable().getType())
                            .getDimSize(0);
        if (vocab % tp != 0)
          return success(); // Replicated table; see docs/sharding.md.
        if (failed(splitWeight(embedding.getTable(), 0)))
          return failure();
        embedding.setVocabParallel(true);
        layouts[embedding.getResult()] = Layout::Partial;
        return success();
      })
      .Case([&](llm::TokenScaleOp scale) -> LogicalResult {
        // The max over a split row is the max of the ranks' maxima.
        Layout in = layoutOf(scale.getInput());
        if (in == Layout::Split) {
          layouts[scale.getResult()] = Layout::PartialMax;
          return success();
        }
        requireReplicatedOperands();
        return success();
      })
      .Case([&](llm::QuantizeOp quantize) -> LogicalResult {
        // Elementwise with a replicated scale: keeps a split input split.
        quantize.getScaleMutable().assign(replicated(quantize.getScale()));
        if (layoutOf(quantize.getInput()) == Layout::Split) {
          layouts[quantize.getResult()] = Layout::Split;
          quantize.getResult().setType(
              cast<RankedTensorType>(quantize.getResult().getType())
                  .clone(cast<RankedTensorType>(
                             quantize.getInput().getType())
                             .getShape()));
          return success();
        }
        quantize.getInputMutable().assign(replicated(quantize.getInput()));
        return success();
      })
      .Case([&](llm::LMHeadOp head) -> LogicalResult {
        requireReplicatedOperands();
        int64_t vocab =
            cast<RankedTensorType>(head.getWeight().getType()).getDimSize(0);
        if (vocab % tp != 0)
          return success();
        if (failed(splitWeight(head.getWeight(), 0, head.getWeightScale())))
          return failure();
        head.setVocabParallel(true);
        Type fullType = head.getResult().getType();
        head.getResult().setType(withLastDim(fullType, vocab / tp));
        builder.setInsertionPointAfter(head);
        auto gather = shard::AllGatherOp::create(
            builder, head.getLoc(), fullType,
            FlatSymbolRefAttr::get(builder.getContext(), kGridName),
            builder.getDenseI16ArrayAttr({static_cast<int16_t>(tpAxis)}),
            head.getResult(), builder.getIndexAttr(2));
        head.getResult().replaceAllUsesExcept(gather.getResult(), gather);
        return success();
      })
      .Case([&](llm::ExpertsOp experts) -> LogicalResult {
        requireReplicatedOperands();
        bool scaled = experts.hasScales();
        for (unsigned i = 0; i < experts.getNumLocalExperts(); ++i)
          if (failed(splitWeight(experts.getGateWeights()[i], 0,
                                 scaled ? experts.getGateScales()[i]
                                        : Value())) ||
              failed(splitWeight(experts.getUpWeights()[i], 0,
                                 scaled ? experts.getUpScales()[i] : Value())) ||
              failed(splitWeight(experts.getDownWeights()[i], 1,
                                 scaled ? experts.getDownScales()[i]
                                        : Value())))
            return failure();
        layouts[experts.getResult()] = Layout::Partial;
        return success();
      })
      .Case([&](llm::SharedExpertOp shared) -> LogicalResult {
        requireReplicatedOperands();
        if (failed(splitWeight(shared.getGate(), 0, shared.getGateScale())) ||
            failed(splitWeight(shared.getUp(), 0, shared.getUpScale())) ||
            failed(splitWeight(shared.getDown(), 1, shared.getDownScale())))
          return failure();
        layouts[shared.getResult()] = Layout::Partial;
        return success();
      })
      .Case([&](dist::ExpertCombineOp combine) -> LogicalResult {
        // Combining is linear: partial expert sums stay partial, so the
        // all-reduce runs on the [B, S, H] result, not on the k-times larger
        // dispatched rows.
        combine.getLikeMutable().assign(replicated(combine.getLike()));
        layouts[combine.getResult()] = layoutOf(combine.getExpertOutput());
        return success();
      })
      .Case([&](llm::DecoderLayerOp layer) -> LogicalResult {
        requireReplicatedOperands();
        return visitBlock(layer.getBody().front());
      })
      .Case([&](llm::ParamOp) -> LogicalResult { return success(); })
      .Default([&](Operation *other) -> LogicalResult {
        for (Value operand : other->getOperands())
          if (layoutOf(operand) == Layout::Split)
            return other->emitError()
                   << "'" << other->getName()
                   << "' cannot take a tensor-parallel split operand";
        requireReplicatedOperands();
        return success();
      });
}

LogicalResult TensorParallelRewriter::visitBlock(Block &block) {
  for (Operation &op : llvm::make_early_inc_range(block))
    if (failed(visit(&op)))
      return failure();
  return success();
}

LogicalResult TensorParallelRewriter::run(func::FuncOp forward) {
  if (failed(visitBlock(forward.getBody().front())))
    return failure();
  if (!oldCacheType || oldCacheType == newCacheType)
    return success();
  // The cache holds only the rank's kv heads: retype it everywhere.
  auto retype = [&](Value v) {
    if (v.getType() == oldCacheType)
      v.setType(newCacheType);
  };
  forward.walk([&](Block *block) {
    for (BlockArgument arg : block->getArguments())
      retype(arg);
  });
  forward.setType(FunctionType::get(
      forward.getContext(), forward.getBody().front().getArgumentTypes(),
      forward.getResultTypes()));
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct TensorParallelPass
    : public llmc::impl::TensorParallelBase<TensorParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<GridInfo> grid = findGrid(module);
    if (!grid || grid->degree("tp") == 1)
      return;
    auto forward = llm::lookupEntry(module);
    if (!forward) {
      module.emitError() << "expected a func.func @forward to shard";
      return signalPassFailure();
    }
    if (failed(TensorParallelRewriter(module, *grid).run(forward)))
      signalPassFailure();
  }
};

} // namespace
