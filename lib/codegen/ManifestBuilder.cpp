//===- ManifestBuilder.cpp - manifest.json from the per-rank IR -----------===//
//
// Everything the runtime needs before it touches a GPU is read off the
// sharded module: the plan (#dist.plan: grid axes and shape, micro-batches,
// batch and sequence axes), each weight's slice and owner
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
#include "llvm/ADT/StringExtras.h"
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

/// What the weight behind `value` (an llm.param result, or a region
/// argument it was passed in as) does, from the ops reading it; nullopt
/// when no op that decides a role reads it.
std::optional<rt::WeightRole> roleOfUses(Value value) {
  std::optional<rt::WeightRole> role;
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    std::optional<rt::WeightRole> found;
    if (isa<llm::EmbeddingOp>(user))
      found = rt::WeightRole::Embedding;
    else if (isa<llm::LMHeadOp>(user))
      found = rt::WeightRole::LmHead;
    else if (isa<llm::MoERouterOp>(user))
      found = rt::WeightRole::Router;
    else if (isa<llm::ExpertsOp>(user))
      found = rt::WeightRole::Expert;
    else if (user->getNumRegions() == 1 && !user->getRegion(0).empty() &&
             user->getRegion(0).getNumArguments() == user->getNumOperands())
      // A stage, pipeline or decoder layer: follow the block argument.
      found =
          roleOfUses(user->getRegion(0).getArgument(use.getOperandNumber()));
    // A tied embedding is also the lm head; the lookup role wins (the
    // runtime counts the head's GEMM for it on the last stage).
    if (found && (!role || *found == rt::WeightRole::Embedding))
      role = found;
  }
  return role;
}

/// Each weight's role: vectors by rank, matrices by the op that reads them.
StringMap<rt::WeightRole> weightRoles(func::FuncOp forward) {
  StringMap<rt::WeightRole> roles;
  forward.walk([&](llm::ParamOp param) {
    std::optional<rt::WeightRole> role = roleOfUses(param.getResult());
    if (!role)
      return;
    auto [it, inserted] = roles.try_emplace(param.getName(), *role);
    if (!inserted && *role == rt::WeightRole::Embedding)
      it->second = *role;
  });
  return roles;
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
  auto forward = llm::lookupEntry(module);
  if (!forward)
    return createStringError("the module has no func.func @forward");
  rt::Manifest m;

  // model
  if (auto arch = module->getAttrOfType<StringAttr>(
          llm::LlmDialect::kArchitectureAttrName))
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
  if (auto eos = module->getAttrOfType<DenseI64ArrayAttr>(
          llm::LlmDialect::kEosTokenIdsAttrName))
    m.model.eosTokenIds = toVector(eos.asArrayRef());
  if (auto maxPos = module->getAttrOfType<IntegerAttr>(
          llm::LlmDialect::kMaxPositionEmbeddingsAttrName))
    m.model.maxPositionEmbeddings = maxPos.getInt();
  else
    m.model.maxPositionEmbeddings = kDefaultMaxSeq;

  // plan
  if (dist::PlanAttr plan = dist::getPlan(module)) {
    static_cast<rt::Grid &>(m.plan) = plan.getGrid();
    m.plan.spec = m.plan.specText();
  }

  // target
  m.target.arch = target.arch;
  m.target.name = target.name;

  // limits
  int64_t maxPos = m.model.maxPositionEmbeddings;
  // Every batch replica (dp, ep) serves its share of a batch, so a batch
  // is a multiple of their number: fewer slots than replicas would build a
  // binary that can serve no request.
  int64_t replicas = m.plan.numReplicas();
  if (options.maxBatch > 0 && options.maxBatch < replicas)
    return createStringError(
        "--max-batch=" + std::to_string(options.maxBatch) +
        " is less than the plan's " + std::to_string(replicas) +
        " batch replicas (" + llvm::join(m.plan.batchAxes, " x ") +
        "), each of which needs a sequence of every batch; pass --max-batch "
        "of at least " + std::to_string(replicas) +
        " or a plan with fewer replicas");
  m.limits.maxBatch = options.maxBatch > 0 ? options.maxBatch : replicas;
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
      if (cache.isFp8())
        m.kvCache.dtype = "f8e4m3";
      else if (!cache.getElementType().isBF16())
        return createStringError("the KV cache must be bf16 or FP8 (E4M3) "
                                 "for the CUDA runtime");
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

  // attention, in cache-slot order
  forward.walk([&](llm::AttentionOp attention) {
    m.attention.push_back(rt::ManifestAttention{
        static_cast<int64_t>(attention.getCacheSlot().value_or(
            static_cast<uint64_t>(m.attention.size()))),
        static_cast<int64_t>(attention.getNumHeads()),
        static_cast<int64_t>(attention.getNumKvHeads()),
        static_cast<int64_t>(attention.getHeadDim())});
  });
  llvm::sort(m.attention, [](const rt::ManifestAttention &a,
                             const rt::ManifestAttention &b) {
    return a.cacheSlot < b.cacheSlot;
  });
  forward.walk([&](llm::MoERouterOp router) {
    m.model.moeTopK = static_cast<int64_t>(router.getTopK());
  });

  // weights, in the order the generated code numbers them
  StringMap<std::set<int64_t>> used = weightStages(forward);
  StringMap<rt::WeightRole> roles = weightRoles(forward);
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
    auto role = roles.find(op.getSymName());
    w.role = w.shape.size() < 2    ? rt::WeightRole::Vector
             : role != roles.end() ? role->second
                                   : rt::WeightRole::Projection;
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
  uint64_t most = 0, perSequence = 0;
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
      perSequence = std::max(perSequence, get("bytes_per_sequence"));
    }
  m.arenaBytes = most;
  m.arenaBytesPerSequence = perSequence;
}
