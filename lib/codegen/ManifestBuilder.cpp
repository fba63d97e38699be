//===- ManifestBuilder.cpp - manifest.json from the per-rank IR -----------===//
//
// Everything the runtime needs before it touches a GPU is read off the
// sharded module: the grid (shard.grid + dist.axes), the batch and sequence
// axes (@forward's attributes), each weight's slice and owner
// (#llm.slice, #llm.owner), which pipeline stages read it (llm.param inside
// dist.stage), and the KV cache (!llm.kv_cache, the stages' cache slots).
// The format and its checks belong to the runtime (runtime/model/Manifest.h);
// this only fills its struct.
//
//===----------------------------------------------------------------------===//

#include "llmc/Codegen/Codegen.h"
#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Lowering.h"

#include "llmc/Dialect/Dist/DistDialect.h"
#include "llmc/Dialect/Llm/LlmDialect.h"
#include "runtime/model/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringMap.h"

#include <set>

using namespace mlir;
using namespace llvm;
using namespace llmc;

namespace {

/// Default longest sequence: the model's context, capped so that a default
/// build's KV cache stays modest (4096 positions of Llama-3-8B: 512 MiB).
constexpr int64_t kDefaultMaxSeq = 4096;

std::vector<int64_t> toVector(ArrayRef<int64_t> values) {
  return std::vector<int64_t>(values.begin(), values.end());
}

/// Pipeline stages whose code reads each weight: every stage of a pipeline
/// stage's body, stage 0 without a pipeline.
StringMap<std::set<int64_t>> weightStages(func::FuncOp forward) {
  StringMap<std::set<int64_t>> stages;
  bool pipelined = false;
  forward.walk([&](dist::StageOp stage) {
    pipelined = true;
    stage.walk([&](llm::ParamOp param) {
      stages[param.getName()].insert(stage.getStage());
    });
  });
  if (!pipelined)
    forward.walk(
        [&](llm::ParamOp param) { stages[param.getName()].insert(0); });
  return stages;
}

/// The cache slots [first, end) the attention ops of `op` use.
std::pair<int64_t, int64_t> cacheSlots(Operation *op) {
  int64_t first = INT64_MAX, end = 0;
  op->walk([&](llm::AttentionOp attention) {
    if (auto slot = attention.getCacheSlot()) {
      first = std::min<int64_t>(first, *slot);
      end = std::max<int64_t>(end, *slot + 1);
    }
  });
  if (first == INT64_MAX)
    return {0, 0};
  return {first, end};
}

} // namespace

Expected<rt::Manifest> llmc::buildManifest(ModuleOp module,
                                           const CompileOptions &options,
                                           const Target &target) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward)
    return createStringError("the module has no func.func @forward");
  rt::Manifest m;

  // model
  if (auto arch = module->getAttrOfType<StringAttr>("llm.architecture"))
    m.model.architecture = arch.str();
  else
    m.model.architecture = "unknown";
  if (forward.getNumResults() >= 1)
    if (auto logits = dyn_cast<RankedTensorType>(forward.getResultTypes()[0]))
      m.model.vocabSize = logits.getShape().back();
  forward.walk([&](llm::EmbeddingOp embedding) {
    m.model.hiddenSize =
        cast<RankedTensorType>(embedding.getType()).getShape().back();
    return WalkResult::interrupt();
  });
  forward.walk([&](llm::DecoderLayerOp) { ++m.model.numLayers; });
  if (auto eos = module->getAttrOfType<DenseI64ArrayAttr>("llm.eos_token_ids"))
    m.model.eosTokenIds = toVector(eos.asArrayRef());
  if (auto maxPos =
          module->getAttrOfType<IntegerAttr>("llm.max_position_embeddings"))
    m.model.maxPositionEmbeddings = maxPos.getInt();
  else
    m.model.maxPositionEmbeddings = kDefaultMaxSeq;

  // plan
  if (auto spec = module->getAttrOfType<StringAttr>(kSpecAttr))
    m.plan.spec = spec.str();
  if (std::optional<GridInfo> grid = findGrid(module)) {
    m.plan.axes.assign(grid->axes.begin(), grid->axes.end());
    m.plan.shape = toVector(grid->grid.getShape());
  }
  if (auto micro = module->getAttrOfType<IntegerAttr>(kMicrobatchesAttr))
    m.plan.microbatches = micro.getInt();
  if (auto axes = forward->getAttrOfType<ArrayAttr>(kBatchAxesAttr))
    for (auto axis : axes.getAsRange<StringAttr>())
      m.plan.batchAxes.push_back(axis.str());
  if (auto axis = forward->getAttrOfType<StringAttr>(kSequenceAxisAttr))
    m.plan.sequenceAxis = axis.str();

  // target
  m.target.arch = target.arch;
  m.target.name = target.name;

  // limits
  int64_t maxPos = m.model.maxPositionEmbeddings;
  m.limits.maxBatch = options.maxBatch > 0 ? options.maxBatch : 1;
  m.limits.maxSeq = options.maxSeq > 0 ? options.maxSeq
                                       : std::min(maxPos, kDefaultMaxSeq);
  if (m.limits.maxSeq > maxPos)
    return createStringError(
        "--max-seq=" + std::to_string(m.limits.maxSeq) +
        " exceeds the model's max_position_embeddings (" +
        std::to_string(maxPos) + ")");
  m.limits.maxTokensPerStep = options.maxTokensPerStep > 0
                                  ? options.maxTokensPerStep
                                  : m.cacheBatch() * m.limits.maxSeq;

  // kv_cache
  for (Type type : forward.getArgumentTypes())
    if (auto cache = dyn_cast<llm::KVCacheType>(type)) {
      m.kvCache.numSlots = cache.getNumLayers();
      m.kvCache.kvHeads = cache.getNumKvHeads();
      m.kvCache.headDim = cache.getHeadDim();
      if (!cache.getElementType().isBF16())
        return createStringError("the KV cache must be bf16 for the CUDA "
                                 "runtime");
    }
  SmallVector<dist::StageOp> stages;
  forward.walk([&](dist::StageOp stage) { stages.push_back(stage); });
  llvm::sort(stages, [](dist::StageOp a, dist::StageOp b) {
    return a.getStage() < b.getStage();
  });
  if (stages.empty())
    m.kvCache.slotsPerStage.push_back({0, m.kvCache.numSlots});
  for (dist::StageOp stage : stages)
    m.kvCache.slotsPerStage.push_back(cacheSlots(stage));

  // weights, in the order the generated code numbers them
  StringMap<std::set<int64_t>> used = weightStages(forward);
  // FP8 weights' scales are stored as fp32; other weights as bf16.
  std::set<std::string> scales;
  for (llm::WeightOp op : weightOrder(module))
    if (auto scale = op.getScaleAttr())
      scales.insert(scale.getValue().str());
  for (llm::WeightOp op : weightOrder(module)) {
    rt::ManifestWeight w;
    w.name = op.getSymName().str();
    Type elem = op.getTensorType().getElementType();
    if (isa<Float8E4M3FNType>(elem)) {
      w.dtype = "f8e4m3";
      if (auto scale = op.getScaleAttr())
        w.scale = scale.getValue().str();
    } else if (scales.count(w.name)) {
      w.dtype = "f32";
    }
    w.shape = toVector(op.getTensorType().getShape());
    w.fullShape = w.shape;
    if (auto slice = op.getSliceAttr()) {
      w.fullShape = toVector(slice.getFullShape());
      w.slice = rt::ManifestSlice{static_cast<int>(slice.getDim()),
                                  slice.getSize(), slice.getAxis().str(),
                                  toVector(slice.getOffsets())};
    }
    if (auto owner = op.getOwnerAttr())
      w.owner = rt::ManifestOwner{owner.getAxis().str(), owner.getCoord()};
    const std::set<int64_t> &s = used[op.getSymName()];
    w.stages.assign(s.begin(), s.end());
    m.weights.push_back(std::move(w));
  }

  if (rt::Status status = rt::validateManifest(m); !status)
    return createStringError("the manifest of this plan is invalid: " +
                             status.message());
  return m;
}

void llmc::setArenaBytes(rt::Manifest &m, ModuleOp lowered) {
  // Every allocation may be padded to the arena's 256-byte alignment.
  constexpr uint64_t kAlignment = 256;
  uint64_t tokens = static_cast<uint64_t>(m.limits.maxTokensPerStep);
  uint64_t sequences = static_cast<uint64_t>(m.cacheBatch());
  uint64_t most = 0;
  if (auto stages = lowered->getAttrOfType<ArrayAttr>(kArenaAttr))
    for (auto stage : stages.getAsRange<DictionaryAttr>()) {
      auto get = [&](StringRef key) -> uint64_t {
        auto attr = stage.getAs<IntegerAttr>(key);
        return attr ? attr.getValue().getZExtValue() : 0;
      };
      // Micro-batches allocate their buffers once per chunk: the rows add
      // up to the step's, the alignment padding does not.
      uint64_t bytes = get("bytes_per_token") * tokens +
                       get("bytes_per_sequence") * sequences +
                       get("buffers") * kAlignment *
                           static_cast<uint64_t>(m.plan.microbatches);
      most = std::max(most, bytes);
    }
  m.arenaBytes = most;
}
