//===- CostModel.cpp - cost of a sharded per-rank program -----------------===//
//
// One walk over each pipeline stage of the per-rank program gathers what a
// GPU of that stage holds, computes and sends, for two phases: the prefill
// (every micro-batch's prompt at once) and one decode step (one new token
// per sequence, at the average context of the generation). Dynamic dims of
// activation types are bound as the executors bind them: the first to the
// sequences of a micro-batch, the second to the tokens of the phase.
//
// Ops of passes that are still being written (expert dispatch and combine)
// are recognised by name and read through generic attributes, so the cost
// model keeps compiling and prices them as soon as the passes emit them.
//
//===----------------------------------------------------------------------===//

#include "llmc/Plan/CostModel.h"

#include "llmc/Dialect/Dist/DistDialect.h"
#include "llmc/Dialect/Llm/LlmDialect.h"
#include "llmc/Passes/ColumnViews.h"
#include "llmc/Passes/Grid.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using namespace mlir;
using namespace llvm;

namespace llmc {

//===----------------------------------------------------------------------===//
// Formulas
//===----------------------------------------------------------------------===//

namespace cost {

double allReduceBytes(int64_t ranks, double bytes) {
  return ranks <= 1 ? 0 : 2.0 * (ranks - 1) / ranks * bytes;
}

double allGatherBytes(int64_t ranks, double gatheredBytes) {
  return ranks <= 1 ? 0
                    : static_cast<double>(ranks - 1) / ranks * gatheredBytes;
}

double reduceScatterBytes(int64_t ranks, double inputBytes) {
  return ranks <= 1 ? 0 : static_cast<double>(ranks - 1) / ranks * inputBytes;
}

double allToAllBytes(int64_t ranks, double bytes) {
  return ranks <= 1 ? 0 : static_cast<double>(ranks - 1) / ranks * bytes;
}

double p2pBytes(double bytes) { return bytes; }

double pipelineBubble(int64_t stages, int64_t microbatches) {
  if (stages <= 1)
    return 0;
  return static_cast<double>(stages - 1) / (microbatches + stages - 1);
}

double kvCacheBytes(int64_t batch, int64_t positions, int64_t layers,
                    int64_t kvHeads, int64_t headDim, int64_t elementBytes,
                    int64_t scaleBytes) {
  return 2.0 * batch * positions * layers * kvHeads *
         (double(headDim) * elementBytes + scaleBytes);
}

double linearFlops(double tokens, int64_t in, int64_t out) {
  return 2.0 * tokens * in * out;
}

double attentionFlops(double queries, double context, int64_t heads,
                      int64_t headDim) {
  return 4.0 * queries * context * heads * headDim;
}

double causalPrefillContext(int64_t seq, std::optional<int64_t> window) {
  double average = (seq + 1) / 2.0;
  if (window && *window < seq) {
    // Query i sees min(i + 1, w) keys.
    double w = static_cast<double>(*window);
    double total = w * (w + 1) / 2 + (seq - w) * w;
    average = total / seq;
  }
  return average;
}

double expectedExpertsTouched(int64_t experts, int64_t topK, double tokens) {
  if (experts <= 0)
    return 0;
  double miss = 1.0 - static_cast<double>(topK) / experts;
  return experts * (1.0 - std::pow(std::max(miss, 0.0), tokens));
}

double pipelineSeconds(ArrayRef<double> stageSeconds,
                       ArrayRef<double> transferSeconds, int64_t microbatches) {
  double sum = 0, slowest = 0;
  for (double t : stageSeconds) {
    sum += t;
    slowest = std::max(slowest, t);
  }
  for (double t : transferSeconds) {
    sum += t;
    slowest = std::max(slowest, t);
  }
  return sum + (microbatches - 1) * slowest;
}

std::pair<double, double> gemmSeconds(const HardwareSpec &hardware,
                                      int64_t elementBytes,
                                      const GemmGroup &group) {
  double w = group.weightBytes / hardware.achievableHbm();
  double f =
      group.flops / hardware.achievableFlops(group.fp8 ? 1 : elementBytes);
  double exposed = hardware.gemmOverlapRows > 0
                       ? hardware.gemmOverlapRows /
                             (group.rows + hardware.gemmOverlapRows)
                       : 0;
  return w >= f ? std::make_pair(w, f * exposed)
                : std::make_pair(w * exposed, f);
}

PhaseTerms phaseTerms(const HardwareSpec &hardware, int64_t elementBytes,
                      const PhaseWork &work) {
  PhaseTerms terms;
  for (const GemmGroup &group : work.gemms) {
    auto [w, f] = gemmSeconds(hardware, elementBytes, group);
    terms.weights += w;
    terms.gemm += f;
  }
  terms.activations = work.streamBytes / hardware.achievableHbm();
  terms.attention =
      work.attentionFlops / (hardware.achievableFlops(elementBytes) /
                             hardware.computeEfficiency *
                             hardware.attentionComputeEfficiency) +
      work.kvBytes /
          (hardware.hbmBytesPerSecond * hardware.attentionEfficiency);
  terms.launch = work.launches * (work.eager ? hardware.eagerLaunchSeconds
                                             : hardware.kernelLaunchSeconds);
  return terms;
}

int64_t siblingLaunches(int64_t siblings, double rows, bool intoViews) {
  if (siblings < 2)
    return siblings;
  if (rows <= kGroupedLaunchMaxRows || intoViews)
    return 1;
  return rows <= kOneGemmMaxRows ? 2 : siblings;
}

void finishTimes(CostReport &report, ArrayRef<double> prefillStage,
                 ArrayRef<double> prefillTransfer, ArrayRef<double> decodeStage,
                 ArrayRef<double> decodeTransfer, int64_t microbatches,
                 const HardwareSpec &hardware, const Workload &workload) {
  report.prefillSeconds =
      pipelineSeconds(prefillStage, prefillTransfer, microbatches) +
      hardware.stepOverheadSeconds;
  report.decodeSecondsPerToken =
      pipelineSeconds(decodeStage, decodeTransfer, microbatches) +
      hardware.stepOverheadSeconds;
  report.prefillTerms.step = report.decodeTerms.step =
      hardware.stepOverheadSeconds;
  report.endToEndSeconds =
      report.prefillSeconds + workload.outputLen * report.decodeSecondsPerToken;
  report.bubble = pipelineBubble(prefillStage.size(), microbatches);
  double tokens = workload.outputLen > 0
                      ? static_cast<double>(workload.batch) * workload.outputLen
                      : static_cast<double>(workload.batch) * workload.seqLen;
  report.throughputTokensPerSecond =
      report.endToEndSeconds > 0 ? tokens / report.endToEndSeconds : 0;
}

} // namespace cost

void PhaseWork::addGemm(double rows, bool fp8, double weightBytes,
                        double flops) {
  for (GemmGroup &group : gemms)
    if (group.rows == rows && group.fp8 == fp8) {
      group.weightBytes += weightBytes;
      group.flops += flops;
      return;
    }
  gemms.push_back({rows, fp8, weightBytes, flops});
}

PhaseWork &PhaseWork::operator+=(const PhaseWork &other) {
  for (const GemmGroup &group : other.gemms)
    addGemm(group.rows, group.fp8, group.weightBytes, group.flops);
  streamBytes += other.streamBytes;
  attentionFlops += other.attentionFlops;
  kvBytes += other.kvBytes;
  launches += other.launches;
  eager = eager || other.eager;
  return *this;
}

StringRef collectiveKindName(CollectiveKind kind) {
  switch (kind) {
  case CollectiveKind::AllReduce:
    return "all_reduce";
  case CollectiveKind::AllGather:
    return "all_gather";
  case CollectiveKind::ReduceScatter:
    return "reduce_scatter";
  case CollectiveKind::AllToAll:
    return "all_to_all";
  case CollectiveKind::P2P:
    return "p2p";
  }
  llvm_unreachable("unknown collective kind");
}

int64_t elementByteWidth(Type type) {
  if (type.isIntOrFloat())
    return std::max<int64_t>(1, (type.getIntOrFloatBitWidth() + 7) / 8);
  if (type.isIndex())
    return 8;
  return 2;
}

//===----------------------------------------------------------------------===//
// Grid layout
//===----------------------------------------------------------------------===//

GridLayout::GridLayout(const ShardSpec &spec) : grid(spec.grid()) {}

GridLayout::GridLayout(rt::Grid grid) : grid(std::move(grid)) {}

int64_t GridLayout::nodesSpanned(ArrayRef<int64_t> axisIndices,
                                 const Topology &topology) const {
  std::map<std::vector<int64_t>, std::set<int64_t>> groups;
  for (int64_t rank = 0, e = numRanks(); rank < e; ++rank) {
    std::vector<int64_t> key = coords(rank);
    for (int64_t axis : axisIndices)
      if (axis >= 0 && axis < static_cast<int64_t>(key.size()))
        key[axis] = 0;
    groups[key].insert(topology.nodeOf(rank));
  }
  int64_t most = 1;
  for (const auto &[key, nodes] : groups)
    most = std::max<int64_t>(most, nodes.size());
  return most;
}

int64_t GridLayout::minGroupMembersOnNode(ArrayRef<int64_t> axisIndices,
                                          const Topology &topology) const {
  std::map<std::pair<std::vector<int64_t>, int64_t>, int64_t> members;
  for (int64_t rank = 0, e = numRanks(); rank < e; ++rank) {
    std::vector<int64_t> key = coords(rank);
    for (int64_t axis : axisIndices)
      if (axis >= 0 && axis < static_cast<int64_t>(key.size()))
        key[axis] = 0;
    ++members[{key, topology.nodeOf(rank)}];
  }
  int64_t fewest = numRanks();
  for (const auto &[key, count] : members)
    fewest = std::min(fewest, count);
  return fewest;
}

int64_t GridLayout::p2pNodesSpanned(int64_t axis, int64_t from, int64_t to,
                                    const Topology &topology) const {
  if (axis < 0 || axis >= static_cast<int64_t>(grid.shape.size()))
    return 1;
  int64_t stride = 1;
  for (size_t i = axis + 1; i < grid.shape.size(); ++i)
    stride *= grid.shape[i];
  for (int64_t rank = 0, e = numRanks(); rank < e; ++rank) {
    if (coords(rank)[axis] != from)
      continue;
    int64_t partner = rank + (to - from) * stride;
    if (topology.nodeOf(rank) != topology.nodeOf(partner))
      return 2;
  }
  return 1;
}

//===----------------------------------------------------------------------===//
// Analysis
//===----------------------------------------------------------------------===//

namespace {

/// Sizes bound to dynamic dims in one phase, per micro-batch.
struct Phase {
  /// Sequences of the micro-batch (first dynamic dim).
  double rows = 1;
  /// Tokens per sequence in this phase (second dynamic dim).
  double seq = 1;
  bool decode = false;
};

/// One pipeline stage of the per-rank program.
struct StageRegion {
  int64_t index = 0;
  int64_t first = 0;
  int64_t end = 0;
  Block *body = nullptr;
};

/// A collective found in a stage, priced for one micro-batch of each phase.
struct FoundCollective {
  CollectiveKind kind;
  std::string op;
  std::string axes;
  int64_t groupSize = 1;
  int64_t nodesSpanned = 1;
  double interNodeFraction = 0;
  double prefillBytes = 0;
  double decodeBytes = 0;
  /// Messages per op (each pays the link latency): ring attention sends its
  /// key/value block sp - 1 times.
  int64_t prefillMessages = 1;
  int64_t decodeMessages = 1;
};

class Analyzer {
public:
  Analyzer(ModuleOp module, const HardwareSpec &hardware,
           const Topology &topology, const Workload &workload)
      : module(module), hardware(hardware), topology(topology),
        workload(workload), layout(ShardSpec()) {}

  Expected<CostReport> run();

private:
  ModuleOp module;
  const HardwareSpec &hardware;
  const Topology &topology;
  const Workload &workload;
  GridLayout layout;
  ShardSpec spec;
  StringMap<llm::WeightOp> weights;
  /// Dispatched values (one row per routed token-choice pair): their single
  /// dynamic dim is bound to the pairs of the micro-batch, which is the
  /// dispatched rows per rank on average under balanced routing.
  llvm::DenseMap<Value, int64_t> routedTopK;
  /// Ranks the sequence is split over (dist.sequence_axis) and the prompt
  /// tokens and cached positions each holds.
  int64_t seqSplit = 1;
  int64_t seqPerRank = 0;
  int64_t contextPerRank = 0;
  int64_t microbatches = 1;
  int64_t rowsPerRank = 1;
  int64_t rowsPerMicrobatch = 1;
  int64_t computeBytes = 2;
  /// GridLayout's per-group scans, by axes.
  mutable std::map<std::vector<int64_t>, int64_t> nodesSpannedCache;
  mutable std::map<std::vector<int64_t>, int64_t> membersOnNodeCache;

  double elements(Value value, const Phase &phase) const;
  double bytes(Value value, const Phase &phase) const {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      return 0;
    return elements(value, phase) * elementByteWidth(type.getElementType());
  }
  std::string axesName(ArrayRef<int64_t> axes) const;
  const LinkSpec &linkFor(int64_t nodesSpanned) const {
    return nodesSpanned > 1 ? hardware.interNode : hardware.intraNode;
  }

  double flops(Operation *op, const Phase &phase, double context) const;
  double scratchBytes(Operation *op, const Phase &phase) const;
  double peakLive(Block &block, const Phase &phase) const;
  std::optional<FoundCollective> collective(Operation *op) const;
  StageCost analyzeStage(const StageRegion &stage,
                         std::vector<CollectiveCost> &collectives);
  int64_t launches(Operation *op, const Phase &phase) const;
  /// Adds a GEMM op's weight bytes and FLOPs to `work`; `expertShare` is
  /// the fraction of a routed-experts op's listed weights the phase reads.
  void gemmWork(Operation *op, const Phase &phase, double flops,
                double expertShare, PhaseWork &work) const;
  double activationBytes(Operation *op, const Phase &phase) const;
};

double Analyzer::elements(Value value, const Phase &phase) const {
  auto type = cast<RankedTensorType>(value.getType());
  auto routed = routedTopK.find(value);
  double n = 1;
  int dynamic = 0;
  for (int64_t d : type.getShape()) {
    if (!ShapedType::isDynamic(d)) {
      n *= d;
      continue;
    }
    if (routed != routedTopK.end())
      n *= dynamic == 0 ? phase.rows * phase.seq * routed->second : 1;
    else
      n *= dynamic == 0 ? phase.rows : dynamic == 1 ? phase.seq : 1;
    ++dynamic;
  }
  return n;
}

std::string Analyzer::axesName(ArrayRef<int64_t> axes) const {
  SmallVector<std::string> parts;
  for (int64_t axis : axes)
    if (axis >= 0 && axis < static_cast<int64_t>(layout.axes().size()))
      parts.push_back(layout.axes()[axis]);
  return llvm::join(parts, "+");
}

double Analyzer::flops(Operation *op, const Phase &phase,
                       double context) const {
  auto numel = [](Value v) -> double {
    auto type = cast<RankedTensorType>(v.getType());
    double n = 1;
    for (int64_t d : type.getShape())
      n *= ShapedType::isDynamic(d) ? 1 : d;
    return n;
  };
  auto lastDim = [](Value v) -> int64_t {
    return cast<RankedTensorType>(v.getType()).getShape().back();
  };
  if (auto linear = dyn_cast<llm::LinearOp>(op)) {
    double rows =
        elements(linear.getInput(), phase) / lastDim(linear.getInput());
    return 2.0 * rows * numel(linear.getWeight());
  }
  if (auto head = dyn_cast<llm::LMHeadOp>(op)) {
    double rows = elements(head.getInput(), phase) / lastDim(head.getInput());
    return 2.0 * rows * numel(head.getWeight());
  }
  if (auto attention = dyn_cast<llm::AttentionOp>(op)) {
    int64_t heads = attention.getNumHeads(), headDim = attention.getHeadDim();
    double queries = elements(attention.getQ(), phase) / (heads * headDim);
    std::optional<int64_t> window = attention.getSlidingWindow();
    double keys =
        phase.decode ? context : cost::causalPrefillContext(phase.seq, window);
    if (phase.decode && window)
      keys = std::min<double>(keys, *window);
    return cost::attentionFlops(queries, keys, heads, headDim);
  }
  if (auto ring = dyn_cast<dist::RingAttentionOp>(op)) {
    int64_t heads = ring.getNumHeads(), headDim = ring.getHeadDim();
    double queries = elements(ring.getQ(), phase) / (heads * headDim);
    std::optional<int64_t> window = ring.getSlidingWindow();
    double keys;
    if (phase.decode) {
      // Each rank attends over the 1/sp of the positions it holds.
      keys = (window ? std::min<double>(context, *window) : context) / seqSplit;
    } else {
      // Blocks are contiguous and causal: the last rank's queries see every
      // earlier block plus half their own, and it sets the pace.
      double block = phase.seq, before = block * (seqSplit - 1);
      keys = before + (block + 1) / 2.0;
      if (window)
        keys = std::min<double>(keys, *window);
    }
    return cost::attentionFlops(queries, keys, heads, headDim);
  }
  if (auto router = dyn_cast<llm::MoERouterOp>(op)) {
    double rows =
        elements(router.getInput(), phase) / lastDim(router.getInput());
    return 2.0 * rows * numel(router.getGate());
  }
  if (auto experts = dyn_cast<llm::ExpertsOp>(op)) {
    if (experts.getGateWeights().empty())
      return 0;
    double rows =
        elements(experts.getInput(), phase) / lastDim(experts.getInput());
    // Without dispatch every token visits its top-k experts here; after a
    // dispatch each row already is one token-choice pair.
    if (!routedTopK.count(experts.getInput()))
      rows *= lastDim(experts.getRoutingIndices());
    double perPair = numel(experts.getGateWeights()[0]) +
                     numel(experts.getUpWeights()[0]) +
                     numel(experts.getDownWeights()[0]);
    return 2.0 * rows * perPair;
  }
  if (auto shared = dyn_cast<llm::SharedExpertOp>(op)) {
    double rows =
        elements(shared.getInput(), phase) / lastDim(shared.getInput());
    return 2.0 * rows *
           (numel(shared.getGate()) + numel(shared.getUp()) +
            numel(shared.getDown()) + numel(shared.getExpertGate()));
  }
  // Norms, rope, swiglu, adds and sampling are a few FLOPs per element:
  // negligible next to the matrix products.
  return 0;
}

/// Whether an op becomes (at most) one kernel launch: every op without a
/// body that is not a weight, a constant or a terminator.
static bool isKernelOp(Operation *op) {
  return !isa<llm::ParamOp>(op) && op->getNumRegions() == 0 &&
         !op->hasTrait<OpTrait::IsTerminator>() &&
         !op->hasTrait<OpTrait::ConstantLike>();
}

/// The plain linears of `input` in `block`, in block order.
static SmallVector<llm::LinearOp> linearsOf(Value input, Block *block) {
  SmallVector<llm::LinearOp> out;
  for (Operation *user : input.getUsers())
    if (auto l = dyn_cast<llm::LinearOp>(user);
        l && l->getBlock() == block && l.getInput() == input && !l.getBias())
      out.push_back(l);
  llvm::sort(out, [](llm::LinearOp a, llm::LinearOp b) {
    return a->isBeforeInBlock(b);
  });
  return out;
}

int64_t Analyzer::launches(Operation *op, const Phase &phase) const {
  if (!isKernelOp(op))
    return 0;
  double rows = phase.rows * phase.seq;
  // The binary's fusions (passes/lowering/LowerOps.cpp): a residual add and
  // the norm of its sum are one addRmsNorm; q|k|v and gate|up are grouped
  // (cost::siblingLaunches), the SwiGLU folded into gate|up's launches up
  // to kOneGemmMaxRows; a decode step's rope runs inside its attention
  // kernel, a prefill's as a kernel of its own; a cached prefill attention
  // writes the cache in a kernel before the attention kernel.
  if (auto norm = dyn_cast<llm::RMSNormOp>(op)) {
    // The residual stream enters a layer (or the final norm) as the sum
    // the previous layer's last add made.
    Value input = norm.getInput();
    if (auto arg = dyn_cast<BlockArgument>(input))
      if (auto layer =
              dyn_cast<llm::DecoderLayerOp>(arg.getOwner()->getParentOp()))
        input = layer->getOperand(arg.getArgNumber());
    return input.getDefiningOp<llm::AddOp>() ||
                   input.getDefiningOp<llm::DecoderLayerOp>()
               ? 0
               : 1;
  }
  if (auto rope = dyn_cast<llm::RopeOp>(op)) {
    bool fused = rope->hasOneUse() &&
                 isa<llm::AttentionOp>(*rope->getUsers().begin());
    return fused && phase.decode ? 0 : 1;
  }
  if (auto attention = dyn_cast<llm::AttentionOp>(op))
    return !phase.decode && attention.getCache() ? 2 : 1;
  if (auto swiglu = dyn_cast<llm::SwiGLUOp>(op)) {
    auto gate = swiglu.getGate().getDefiningOp<llm::LinearOp>();
    auto up = swiglu.getUp().getDefiningOp<llm::LinearOp>();
    bool paired = gate && up && gate.getInput() == up.getInput();
    return paired && rows <= cost::kOneGemmMaxRows ? 0 : 1;
  }
  if (auto linear = dyn_cast<llm::LinearOp>(op)) {
    if (linear.getBias())
      return 1;
    SmallVector<llm::LinearOp> group =
        linearsOf(linear.getInput(), op->getBlock());
    // A group launches once, at its first member.
    if (group.size() < 2 || group.front() != linear)
      return group.size() < 2 ? 1 : 0;
    // bf16 q|k|v that only attention reads (through its ropes) are written
    // by one GEMM as column views of one buffer.
    return cost::siblingLaunches(group.size(), rows,
                                 llvm::all_of(group, writesColumnView));
  }
  return 1;
}

void Analyzer::gemmWork(Operation *op, const Phase &, double flops,
                        double expertShare, PhaseWork &work) const {
  SmallVector<Value> weights;
  Value input;
  double touched = 1;
  bool fp8 = false;
  if (auto linear = dyn_cast<llm::LinearOp>(op)) {
    weights.push_back(linear.getWeight());
    input = linear.getInput();
    fp8 = isa<Float8E4M3FNType>(
        cast<RankedTensorType>(input.getType()).getElementType());
  } else if (auto head = dyn_cast<llm::LMHeadOp>(op)) {
    weights.push_back(head.getWeight());
    input = head.getInput();
  } else if (auto router = dyn_cast<llm::MoERouterOp>(op)) {
    weights.push_back(router.getGate());
    input = router.getInput();
  } else if (auto shared = dyn_cast<llm::SharedExpertOp>(op)) {
    weights.append({shared.getGate(), shared.getUp(), shared.getDown(),
                    shared.getExpertGate()});
    input = shared.getInput();
  } else if (auto experts = dyn_cast<llm::ExpertsOp>(op)) {
    llvm::append_range(weights, experts.getGateWeights());
    llvm::append_range(weights, experts.getUpWeights());
    llvm::append_range(weights, experts.getDownWeights());
    input = experts.getInput();
    touched = expertShare;
  } else {
    return;
  }
  double weightBytes = 0, elements = 0;
  for (Value w : weights) {
    auto type = dyn_cast<RankedTensorType>(w.getType());
    if (!type || !type.hasStaticShape())
      continue;
    elements += type.getNumElements() * touched;
    weightBytes += type.getNumElements() * touched *
                   elementByteWidth(type.getElementType());
  }
  if (elements <= 0 || flops <= 0)
    return;
  // Rows each weight element meets: tokens (or sequences for the lm head),
  // and for routed experts the token-choice pairs per expert reached.
  work.addGemm(flops / (2 * elements), fp8, weightBytes, flops);
}

double Analyzer::activationBytes(Operation *op, const Phase &phase) const {
  // GEMMs and attention are priced by their own terms and collectives by
  // the links; the other kernels stream their operands and results.
  if (!isKernelOp(op) ||
      isa<llm::LinearOp, llm::LMHeadOp, llm::MoERouterOp, llm::SharedExpertOp,
          llm::ExpertsOp, llm::AttentionOp, dist::RingAttentionOp>(op) ||
      collective(op))
    return 0;
  double total = 0;
  for (Value v : op->getOperands())
    if (!v.getDefiningOp<llm::ParamOp>())
      total += bytes(v, phase);
  for (Value v : op->getResults())
    total += bytes(v, phase);
  return total;
}

std::optional<FoundCollective> Analyzer::collective(Operation *op) const {
  Phase prefill{static_cast<double>(rowsPerMicrobatch),
                static_cast<double>(seqPerRank), false};
  Phase decode{static_cast<double>(rowsPerMicrobatch), 1, true};
  FoundCollective found;
  found.op = op->getName().getStringRef().str();
  SmallVector<int64_t> axes;
  auto sizeAndLink = [&] {
    found.groupSize = 1;
    for (int64_t axis : axes)
      if (axis >= 0 && axis < static_cast<int64_t>(layout.degrees().size()))
        found.groupSize *= layout.degrees()[axis];
    found.axes = axesName(axes);
    // One scan of the grid per distinct group: a large grid has hundreds
    // of collectives over the same few axes.
    std::vector<int64_t> key(axes.begin(), axes.end());
    auto [spanned, inserted] = nodesSpannedCache.try_emplace(key, 0);
    if (inserted)
      spanned->second = layout.nodesSpanned(axes, topology);
    found.nodesSpanned = spanned->second;
    found.interNodeFraction = found.nodesSpanned > 1 ? 1 : 0;
  };
  // An all-to-all sends each peer its own share: only the off-node peers'
  // shares use the network, concurrently with the NVLink ones.
  auto allToAllSplit = [&] {
    if (found.nodesSpanned <= 1 || found.groupSize <= 1)
      return;
    std::vector<int64_t> key(axes.begin(), axes.end());
    auto [cached, inserted] = membersOnNodeCache.try_emplace(key, 0);
    if (inserted)
      cached->second = layout.minGroupMembersOnNode(axes, topology);
    int64_t onNode = cached->second;
    found.interNodeFraction =
        static_cast<double>(found.groupSize - onNode) / (found.groupSize - 1);
  };
  auto gridAxes = [&] {
    if (auto attr = op->getAttrOfType<DenseI16ArrayAttr>("grid_axes"))
      for (int16_t axis : attr.asArrayRef())
        axes.push_back(axis);
  };

  if (auto reduce = dyn_cast<shard::AllReduceOp>(op)) {
    gridAxes();
    sizeAndLink();
    found.kind = CollectiveKind::AllReduce;
    found.prefillBytes = cost::allReduceBytes(
        found.groupSize, bytes(reduce.getResult(), prefill));
    found.decodeBytes = cost::allReduceBytes(found.groupSize,
                                             bytes(reduce.getResult(), decode));
    return found;
  }
  if (auto gather = dyn_cast<shard::AllGatherOp>(op)) {
    gridAxes();
    sizeAndLink();
    found.kind = CollectiveKind::AllGather;
    found.prefillBytes = cost::allGatherBytes(
        found.groupSize, bytes(gather.getResult(), prefill));
    found.decodeBytes = cost::allGatherBytes(found.groupSize,
                                             bytes(gather.getResult(), decode));
    return found;
  }
  if (auto scatter = dyn_cast<shard::ReduceScatterOp>(op)) {
    gridAxes();
    sizeAndLink();
    found.kind = CollectiveKind::ReduceScatter;
    found.prefillBytes = cost::reduceScatterBytes(
        found.groupSize, bytes(scatter.getInput(), prefill));
    found.decodeBytes = cost::reduceScatterBytes(
        found.groupSize, bytes(scatter.getInput(), decode));
    return found;
  }
  if (auto toAll = dyn_cast<shard::AllToAllOp>(op)) {
    gridAxes();
    sizeAndLink();
    found.kind = CollectiveKind::AllToAll;
    allToAllSplit();
    found.prefillBytes =
        cost::allToAllBytes(found.groupSize, bytes(toAll.getInput(), prefill));
    found.decodeBytes =
        cost::allToAllBytes(found.groupSize, bytes(toAll.getInput(), decode));
    return found;
  }
  // Ring attention: prefill passes the key/value block (and its positions)
  // to the ring neighbour sp - 1 times; decode merges the ranks' partial
  // outputs and softmax statistics, an all-gather of sp partials.
  if (auto ring = dyn_cast<dist::RingAttentionOp>(op)) {
    axes.push_back(ring.getAxis());
    sizeAndLink();
    found.kind = CollectiveKind::P2P;
    int64_t steps = ring.getSteps();
    double block = bytes(ring.getK(), prefill) + bytes(ring.getV(), prefill) +
                   bytes(ring.getPositions(), prefill);
    found.prefillBytes = steps * cost::p2pBytes(block);
    found.prefillMessages = std::max<int64_t>(steps, 1);
    double stats = 2.0 * decode.rows * ring.getNumHeads() * 4;
    found.decodeBytes = cost::allGatherBytes(
        found.groupSize,
        found.groupSize * (bytes(ring.getResult(), decode) + stats));
    return found;
  }
  // Expert dispatch and combine move one row per token-choice pair: the
  // [B, S, H] tokens times top-k, of which a rank keeps 1/n on average.
  StringRef name = op->getName().getStringRef();
  if (name == "dist.expert_dispatch" || name == "dist.expert_combine") {
    auto axis = op->getAttrOfType<IntegerAttr>("axis");
    if (!axis || op->getNumOperands() < 3)
      return std::nullopt;
    axes.push_back(axis.getInt());
    sizeAndLink();
    found.kind = CollectiveKind::AllToAll;
    allToAllSplit();
    // dispatch(input, weights, indices): the input is the [B, S, H] tokens,
    // indices [B, S, k]. combine(expert_output, route, like): `like` is the
    // dispatched input, and `route` comes from the paired dispatch.
    Value tokens = op->getOperand(name == "dist.expert_dispatch" ? 0 : 2);
    Operation *dispatch = op;
    if (name == "dist.expert_combine")
      dispatch = op->getOperand(1).getDefiningOp();
    int64_t topK = 1;
    if (dispatch && dispatch->getNumOperands() >= 3)
      if (auto indices =
              dyn_cast<RankedTensorType>(dispatch->getOperand(2).getType()))
        if (indices.getRank() > 0 &&
            !indices.isDynamicDim(indices.getRank() - 1))
          topK = indices.getShape().back();
    found.prefillBytes =
        cost::allToAllBytes(found.groupSize, bytes(tokens, prefill) * topK);
    found.decodeBytes =
        cost::allToAllBytes(found.groupSize, bytes(tokens, decode) * topK);
    return found;
  }
  return std::nullopt;
}

/// Memory an op needs beyond its operands and results while it runs.
double Analyzer::scratchBytes(Operation *op, const Phase &phase) const {
  if (auto experts = dyn_cast<llm::ExpertsOp>(op)) {
    if (experts.getGateWeights().empty())
      return 0;
    // gate, up and their SwiGLU product for every routed token-choice pair.
    auto gate = cast<RankedTensorType>(experts.getGateWeights()[0].getType());
    Value input = experts.getInput();
    double pairs = elements(input, phase) /
                   cast<RankedTensorType>(input.getType()).getShape().back();
    if (!routedTopK.count(input))
      pairs *= cast<RankedTensorType>(experts.getRoutingIndices().getType())
                   .getShape()
                   .back();
    return 3.0 * pairs * gate.getDimSize(0) *
           elementByteWidth(gate.getElementType());
  }
  if (auto shared = dyn_cast<llm::SharedExpertOp>(op)) {
    auto gate = cast<RankedTensorType>(shared.getGate().getType());
    Value input = shared.getInput();
    double rows = elements(input, phase) /
                  cast<RankedTensorType>(input.getType()).getShape().back();
    return 3.0 * rows * gate.getDimSize(0) *
           elementByteWidth(gate.getElementType());
  }
  // Ring attention receives the next key/value block while it works on the
  // current one.
  if (auto ring = dyn_cast<dist::RingAttentionOp>(op))
    return bytes(ring.getK(), phase) + bytes(ring.getV(), phase);
  // Attention itself is fused (flash attention): no [S, S] score matrix.
  return 0;
}

/// Peak bytes of activations (dynamic-shaped tensors) live while `block`
/// runs: a value is live from its definition to its last use, an op's
/// operands and results are live together, and an op with a region (a
/// decoder layer) contributes its own body's peak in place of the values it
/// passes in and out.
double Analyzer::peakLive(Block &block, const Phase &phase) const {
  auto isActivation = [](Value v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    return type && !type.hasStaticShape();
  };
  SmallVector<Operation *> ops;
  for (Operation &op : block)
    ops.push_back(&op);
  llvm::DenseMap<Value, int64_t> lastUse;
  for (auto [index, op] : llvm::enumerate(ops))
    op->walk([&, index = static_cast<int64_t>(index)](Operation *nested) {
      for (Value v : nested->getOperands())
        if (v.getParentBlock() == &block)
          lastUse[v] = std::max(lastUse.lookup(v), index);
    });
  std::vector<double> delta(ops.size() + 1, 0.0);
  auto interval = [&](Value v, int64_t from) {
    if (!isActivation(v))
      return;
    auto it = lastUse.find(v);
    int64_t to = it == lastUse.end() ? from : std::max(from, it->second);
    double size = bytes(v, phase);
    delta[from] += size;
    delta[to + 1] -= size;
  };
  for (BlockArgument arg : block.getArguments())
    interval(arg, 0);
  for (auto [index, op] : llvm::enumerate(ops))
    for (Value result : op->getResults())
      interval(result, index);

  double live = 0, peak = 0;
  for (auto [index, op] : llvm::enumerate(ops)) {
    live += delta[index];
    double here = live + scratchBytes(op, phase);
    if (op->getNumRegions() > 0 && !op->getRegion(0).empty()) {
      double passed = 0;
      for (Value v : op->getOperands())
        if (isActivation(v))
          passed += bytes(v, phase);
      for (Value v : op->getResults())
        if (isActivation(v))
          passed += bytes(v, phase);
      here = live - passed + peakLive(op->getRegion(0).front(), phase);
    }
    peak = std::max(peak, here);
  }
  return peak;
}

StageCost Analyzer::analyzeStage(const StageRegion &stage,
                                 std::vector<CollectiveCost> &collectives) {
  StageCost result;
  result.stage = stage.index;
  result.firstLayer = stage.first;
  result.endLayer = stage.end;
  Phase prefill{static_cast<double>(rowsPerMicrobatch),
                static_cast<double>(seqPerRank), false};
  Phase decode{static_cast<double>(rowsPerMicrobatch), 1, true};
  // Decode steps see the prompt plus, on average, half the output (over the
  // whole sequence; ring attention holds 1/sp of it per rank).
  double decodeContext = workload.seqLen + (workload.outputLen + 1) / 2.0;

  // Which weights the stage reads, which are expert weights (and on which
  // coordinate of which axis they live), which are only gathered by row.
  llvm::SetVector<StringRef> used;
  llvm::DenseMap<StringRef, int64_t> expertOwner;
  StringMap<bool> embeddingOnly;
  std::string ownerAxis;
  int64_t numExperts = 0, topK = 0;
  stage.body->walk([&](Operation *op) {
    if (auto param = dyn_cast<llm::ParamOp>(op)) {
      StringRef name = param.getName();
      used.insert(name);
      bool onlyGathered = llvm::all_of(param->getUsers(), [](Operation *user) {
        return isa<llm::EmbeddingOp>(user);
      });
      auto [it, inserted] = embeddingOnly.try_emplace(name, onlyGathered);
      if (!inserted)
        it->second = it->second && onlyGathered;
    } else if (auto experts = dyn_cast<llm::ExpertsOp>(op)) {
      numExperts = experts.getNumExperts();
      auto owners = op->getAttrOfType<DenseI64ArrayAttr>("owners");
      auto ids = op->getAttrOfType<DenseI64ArrayAttr>("expert_ids");
      if (auto axis = op->getAttrOfType<StringAttr>("owner_axis"))
        ownerAxis = axis.str();
      for (unsigned i = 0; i < experts.getGateWeights().size(); ++i) {
        int64_t id = ids && i < ids.size() ? ids[i] : i;
        int64_t owner = owners && id < static_cast<int64_t>(owners.size())
                            ? owners[id]
                            : -1;
        for (Value w : {experts.getGateWeights()[i], experts.getUpWeights()[i],
                        experts.getDownWeights()[i]})
          if (auto param = w.getDefiningOp<llm::ParamOp>())
            expertOwner[param.getName()] = owner;
      }
    } else if (auto router = dyn_cast<llm::MoERouterOp>(op)) {
      topK = router.getTopK();
    }
  });

  int64_t ownerDegree = 1;
  if (!ownerAxis.empty()) {
    int64_t axis = layout.axisIndex(ownerAxis);
    if (axis >= 0)
      ownerDegree = layout.degrees()[axis];
  }
  double denseBytes = 0, embeddingBytes = 0, embeddingRowBytes = 0;
  std::vector<double> expertBytes(ownerDegree, 0.0);
  for (StringRef name : used) {
    llm::WeightOp weight = weights.lookup(name);
    if (!weight)
      continue;
    RankedTensorType type = weight.getTensorType();
    double size = elementByteWidth(type.getElementType());
    for (int64_t d : type.getShape())
      size *= d;
    auto owner = expertOwner.find(name);
    if (owner != expertOwner.end()) {
      if (owner->second < 0 || owner->second >= ownerDegree)
        for (double &b : expertBytes)
          b += size;
      else
        expertBytes[owner->second] += size;
    } else if (embeddingOnly.lookup(name)) {
      embeddingBytes += size;
      if (type.getRank() == 2)
        embeddingRowBytes += size / type.getDimSize(0);
    } else {
      denseBytes += size;
    }
  }
  double busiestExperts =
      *std::max_element(expertBytes.begin(), expertBytes.end());
  result.weightBytes = denseBytes + embeddingBytes + busiestExperts;

  // KV cache: the stage's layers at the local kv heads of its cache type.
  llm::KVCacheType cacheType;
  for (BlockArgument arg : stage.body->getArguments())
    if (auto type = dyn_cast<llm::KVCacheType>(arg.getType()))
      cacheType = type;
  int64_t cacheBytes = 2, cacheScaleBytes = 0;
  if (cacheType) {
    cacheBytes = elementByteWidth(cacheType.getElementType());
    // An FP8 cache keeps an fp32 scale per token and kv head, for K and V.
    cacheScaleBytes = cacheType.isFp8() ? 4 : 0;
    // Each layer caches the context it may attend to: all of it, or the
    // last `window` positions of a sliding-window layer.
    double positions = 0;
    int64_t cachedLayers = 0;
    stage.body->walk([&](Operation *op) {
      std::optional<int64_t> window;
      if (auto attention = dyn_cast<llm::AttentionOp>(op)) {
        if (!attention.getCache())
          return;
        window = attention.getSlidingWindow();
      } else if (auto ring = dyn_cast<dist::RingAttentionOp>(op)) {
        if (!ring.getCache())
          return;
        window = ring.getSlidingWindow();
      } else {
        return;
      }
      ++cachedLayers;
      positions +=
          window ? std::min<int64_t>(contextPerRank, *window) : contextPerRank;
    });
    if (cachedLayers == 0)
      positions =
          static_cast<double>(contextPerRank) * (stage.end - stage.first);
    result.kvCacheBytes =
        positions *
        cost::kvCacheBytes(rowsPerRank, 1, 1, cacheType.getNumKvHeads(),
                           cacheType.getHeadDim(), cacheBytes, cacheScaleBytes);
  }

  // The share of the stage's expert weights (as its ops list them) that the
  // busiest expert coordinate holds.
  double listedExpertBytes = 0;
  stage.body->walk([&](llm::ExpertsOp experts) {
    for (ValueRange list : {experts.getGateWeights(), experts.getUpWeights(),
                            experts.getDownWeights()})
      for (Value w : list)
        if (auto type = dyn_cast<RankedTensorType>(w.getType());
            type && type.hasStaticShape())
          listedExpertBytes +=
              type.getNumElements() * elementByteWidth(type.getElementType());
  });
  double expertShare =
      listedExpertBytes > 0 ? busiestExperts / listedExpertBytes : 1;
  // Experts a decode step reaches (prefill reaches them all).
  double touchedExperts = 1;
  if (numExperts > 0 && topK > 0)
    touchedExperts = cost::expectedExpertsTouched(
                         numExperts, topK, rowsPerMicrobatch * ownerDegree) /
                     numExperts;

  // Walk the ops: FLOPs, KV traffic, collectives, live activations.
  double kvReadPerDecode = 0, kvWritePerPrefill = 0;
  double prefillActivations = 0, decodeActivations = 0;
  result.prefillWork.eager = true;
  std::map<std::tuple<std::string, std::string, int64_t>, CollectiveCost> found;
  stage.body->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op->getName().getStringRef() == "dist.expert_dispatch") {
      int64_t k = 1;
      if (auto indices =
              dyn_cast<RankedTensorType>(op->getOperand(2).getType()))
        if (indices.getRank() > 0 &&
            !indices.isDynamicDim(indices.getRank() - 1))
          k = indices.getShape().back();
      for (Value result : op->getResults())
        routedTopK[result] = k;
    } else if (auto experts = dyn_cast<llm::ExpertsOp>(op)) {
      auto k = routedTopK.find(experts.getInput());
      if (k != routedTopK.end())
        routedTopK[experts.getResult()] = k->second;
    }

    double prefillFlops = flops(op, prefill, 0);
    double decodeFlops = flops(op, decode, decodeContext);
    result.prefillFlops += prefillFlops;
    result.decodeFlops += decodeFlops;
    if (isa<llm::AttentionOp, dist::RingAttentionOp>(op)) {
      result.prefillAttentionFlops += prefillFlops;
      result.decodeAttentionFlops += decodeFlops;
    }
    result.prefillWork.launches += launches(op, prefill);
    result.decodeWork.launches += launches(op, decode);
    gemmWork(op, prefill, prefillFlops, expertShare, result.prefillWork);
    gemmWork(op, decode, decodeFlops, expertShare * touchedExperts,
             result.decodeWork);
    prefillActivations += activationBytes(op, prefill);
    decodeActivations += activationBytes(op, decode);
    // A linear with an FP8 input (W8A8) runs on FP8 tensor cores; FP8
    // weights with float inputs are widened and run at the float rate.
    if (auto linear = dyn_cast<llm::LinearOp>(op);
        linear && isa<Float8E4M3FNType>(
                      cast<RankedTensorType>(linear.getInput().getType())
                          .getElementType())) {
      result.prefillFp8Flops += prefillFlops;
      result.decodeFp8Flops += decodeFlops;
    }

    // KV traffic: a decode step reads the positions a rank holds, prefill
    // writes the prompt's.
    auto kvTraffic = [&](int64_t kvHeads, int64_t headDim,
                         std::optional<int64_t> window, double split) {
      double perPosition =
          2.0 * kvHeads * (double(headDim) * cacheBytes + cacheScaleBytes);
      double keys = decodeContext;
      if (window)
        keys = std::min<double>(keys, *window);
      kvReadPerDecode += rowsPerMicrobatch * keys / split * perPosition;
      kvWritePerPrefill += rowsPerMicrobatch * seqPerRank * perPosition;
    };
    if (auto attention = dyn_cast<llm::AttentionOp>(op);
        attention && attention.getCache())
      kvTraffic(attention.getNumKvHeads(), attention.getHeadDim(),
                attention.getSlidingWindow(), 1);
    if (auto ring = dyn_cast<dist::RingAttentionOp>(op);
        ring && ring.getCache())
      kvTraffic(ring.getNumKvHeads(), ring.getHeadDim(),
                ring.getSlidingWindow(), seqSplit);

    if (std::optional<FoundCollective> c = collective(op)) {
      auto key = std::make_tuple(c->op, c->axes, c->nodesSpanned);
      CollectiveCost &entry = found[key];
      const LinkSpec &link = linkFor(c->nodesSpanned);
      entry.kind = c->kind;
      entry.op = c->op;
      entry.axes = c->axes;
      entry.groupSize = c->groupSize;
      entry.nodesSpanned = c->nodesSpanned;
      entry.interNodeFraction = c->interNodeFraction;
      entry.link = link.name;
      entry.stage = stage.index;
      entry.count += 1;
      entry.prefillBytes += c->prefillBytes * microbatches;
      entry.decodeBytes += c->decodeBytes * microbatches;
      // Every message pays the link latency once; bytes split between the
      // intra- and inter-node links move concurrently.
      auto seconds = [&](double sent, int64_t messages) {
        const LinkSpec &intra = hardware.intraNode, &inter = hardware.interNode;
        double f = c->interNodeFraction;
        return messages * link.latencySeconds +
               std::max(sent * (1 - f) /
                            (intra.bytesPerSecond * intra.efficiency),
                        sent * f / (inter.bytesPerSecond * inter.efficiency));
      };
      entry.prefillSeconds +=
          seconds(c->prefillBytes, c->prefillMessages) * microbatches;
      entry.decodeSeconds +=
          seconds(c->decodeBytes, c->decodeMessages) * microbatches;
    }
  });
  for (auto &[key, entry] : found)
    collectives.push_back(entry);
  result.activationBytes = peakLive(*stage.body, prefill);

  // HBM traffic per micro-batch. Prefill streams every weight once and
  // writes its keys and values; a decode step streams the dense weights, the
  // experts its tokens reach and the cached keys and values it attends to.
  // Embedding tables are only gathered by row.
  double touched = touchedExperts;
  result.prefillHbmBytes = denseBytes + busiestExperts +
                           embeddingRowBytes * rowsPerMicrobatch * seqPerRank +
                           kvWritePerPrefill;
  result.decodeHbmBytes = denseBytes + busiestExperts * touched +
                          embeddingRowBytes * rowsPerMicrobatch +
                          kvReadPerDecode;

  result.prefillKvBytes = kvWritePerPrefill;
  result.decodeKvBytes = kvReadPerDecode;
  // Weights other than the GEMMs' (norms, embedding rows) stream with the
  // activations.
  auto finishWork = [&](PhaseWork &work, double hbmBytes, double kvBytes,
                        double attentionFlops, double activations) {
    double gemmBytes = 0;
    for (const GemmGroup &group : work.gemms)
      gemmBytes += group.weightBytes;
    work.kvBytes = kvBytes;
    work.attentionFlops = attentionFlops;
    work.streamBytes =
        std::max(0.0, hbmBytes - kvBytes - gemmBytes) + activations;
  };
  finishWork(result.prefillWork, result.prefillHbmBytes, result.prefillKvBytes,
             result.prefillAttentionFlops, prefillActivations);
  finishWork(result.decodeWork, result.decodeHbmBytes, result.decodeKvBytes,
             result.decodeAttentionFlops, decodeActivations);
  result.kernels = result.decodeWork.launches;
  result.prefillTerms =
      cost::phaseTerms(hardware, computeBytes, result.prefillWork);
  result.decodeTerms =
      cost::phaseTerms(hardware, computeBytes, result.decodeWork);
  result.prefillComputeSeconds = result.prefillTerms.sum();
  result.decodeComputeSeconds = result.decodeTerms.sum();
  for (const CollectiveCost &c : collectives)
    if (c.stage == stage.index && c.op != "dist.transfer") {
      result.prefillCommSeconds += c.prefillSeconds / microbatches;
      result.decodeCommSeconds += c.decodeSeconds / microbatches;
    }
  // Prefill overlaps communication with the large GEMMs; a decode step's
  // small messages sit on the critical path.
  result.prefillSeconds =
      std::max(result.prefillComputeSeconds, result.prefillCommSeconds);
  result.decodeSeconds = result.decodeComputeSeconds + result.decodeCommSeconds;
  return result;
}

Expected<CostReport> Analyzer::run() {
  auto forward = llm::lookupEntry(module);
  if (!forward || forward.isExternal())
    return createStringError(inconvertibleErrorCode(),
                             "expected a func.func @forward with a body (a "
                             "model from llm-import, sharded or not)");
  if (workload.batch < 1 || workload.seqLen < 1 || workload.outputLen < 0)
    return createStringError(inconvertibleErrorCode(),
                             "the workload needs batch >= 1, seq-len >= 1 and "
                             "output-len >= 0");

  // The grid as the passes built it.
  if (std::optional<GridInfo> grid = findGrid(module); grid && grid->plan) {
    layout = GridLayout(grid->plan.getGrid());
    for (auto [i, name] : llvm::enumerate(rt::kGridAxes))
      spec.setDegree(static_cast<Axis>(i), layout.plan().degree(name));
  }
  if (spec.numRanks() > topology.gpus)
    return createStringError(
        inconvertibleErrorCode(),
        formatv("the program's grid has {0} ranks but the topology only {1} "
                "GPUs",
                spec.numRanks(), topology.gpus));

  for (auto weight : module.getOps<llm::WeightOp>())
    weights[weight.getSymName()] = weight;
  for (auto weight : module.getOps<llm::WeightOp>())
    if (weight.getTensorType().getRank() == 2) {
      computeBytes = elementByteWidth(weight.getTensorType().getElementType());
      break;
    }

  // Rows per rank: the batch over the axes the passes split it along.
  int64_t split = layout.plan().numReplicas();
  rowsPerRank = std::max<int64_t>(1, (workload.batch + split - 1) / split);
  // Sequence parallelism splits the prompt's tokens and the cached
  // positions over the plan's sequence axis; decode steps give every rank
  // the new tokens.
  seqSplit = layout.plan().sequenceDegree();
  seqPerRank = (workload.seqLen + seqSplit - 1) / seqSplit;
  contextPerRank = (workload.context() + seqSplit - 1) / seqSplit;

  // Stages: dist.stage regions, or the whole function.
  SmallVector<StageRegion> stages;
  SmallVector<dist::TransferOp> transfers;
  forward.walk([&](Operation *op) {
    if (auto pipeline = dyn_cast<dist::PipelineOp>(op))
      microbatches = std::max<int64_t>(1, pipeline.getMicrobatches());
    else if (auto stage = dyn_cast<dist::StageOp>(op))
      stages.push_back({static_cast<int64_t>(stage.getStage()),
                        static_cast<int64_t>(stage.getFirstLayer()),
                        static_cast<int64_t>(stage.getEndLayer()),
                        &stage.getBody().front()});
    else if (auto transfer = dyn_cast<dist::TransferOp>(op))
      transfers.push_back(transfer);
  });
  if (stages.empty()) {
    int64_t layers = 0;
    forward.walk([&](llm::DecoderLayerOp) { ++layers; });
    stages.push_back({0, 0, layers, &forward.getBody().front()});
    microbatches = 1;
  }
  llvm::sort(stages, [](const StageRegion &a, const StageRegion &b) {
    return a.index < b.index;
  });
  rowsPerMicrobatch = (rowsPerRank + microbatches - 1) / microbatches;

  CostReport report;
  report.spec = spec;
  report.microbatches = microbatches;
  report.batchSplit = split;
  report.sequencesPerRank = rowsPerRank;
  report.sequencesPerMicrobatch = rowsPerMicrobatch;
  for (const StageRegion &stage : stages)
    report.stages.push_back(analyzeStage(stage, report.collectives));

  // Point-to-point transfers between stages.
  Phase prefill{static_cast<double>(rowsPerMicrobatch),
                static_cast<double>(seqPerRank), false};
  Phase decode{static_cast<double>(rowsPerMicrobatch), 1, true};
  size_t boundaries = stages.size() > 1 ? stages.size() - 1 : 0;
  std::vector<double> prefillTransfer(boundaries, 0.0),
      decodeTransfer(boundaries, 0.0);
  for (dist::TransferOp transfer : transfers) {
    int64_t axis = transfer.getAxis(), from = transfer.getFrom(),
            to = transfer.getTo();
    int64_t nodes = layout.p2pNodesSpanned(axis, from, to, topology);
    const LinkSpec &link = linkFor(nodes);
    double prefillBytes = cost::p2pBytes(bytes(transfer.getInput(), prefill));
    double decodeBytes = cost::p2pBytes(bytes(transfer.getInput(), decode));
    CollectiveCost entry;
    entry.kind = CollectiveKind::P2P;
    entry.op = transfer->getName().getStringRef().str();
    entry.axes = axesName({axis});
    entry.groupSize = 2;
    entry.nodesSpanned = nodes;
    entry.interNodeFraction = nodes > 1 ? 1 : 0;
    entry.link = link.name;
    entry.stage = from;
    entry.count = 1;
    entry.prefillBytes = prefillBytes * microbatches;
    entry.decodeBytes = decodeBytes * microbatches;
    entry.prefillSeconds = link.seconds(prefillBytes) * microbatches;
    entry.decodeSeconds = link.seconds(decodeBytes) * microbatches;
    report.collectives.push_back(entry);
    if (from >= 0 && static_cast<size_t>(from) < boundaries) {
      prefillTransfer[from] += link.seconds(prefillBytes);
      decodeTransfer[from] += link.seconds(decodeBytes);
    }
  }

  // Per-GPU figures are those of the busiest stage (the largest total),
  // all of them from that one stage so that they add up.
  SmallVector<double> prefillStage, decodeStage;
  for (const StageCost &stage : report.stages) {
    if (stage.totalBytes() > report.totalBytesPerGpu ||
        &stage == &report.stages.front()) {
      report.weightBytesPerGpu = stage.weightBytes;
      report.kvCacheBytesPerGpu = stage.kvCacheBytes;
      report.activationBytesPerGpu = stage.activationBytes;
      report.totalBytesPerGpu = stage.totalBytes();
    }
    prefillStage.push_back(stage.prefillSeconds);
    decodeStage.push_back(stage.decodeSeconds);
    report.prefillTerms += stage.prefillTerms;
    report.decodeTerms += stage.decodeTerms;
    report.prefillWork += stage.prefillWork;
    report.decodeWork += stage.decodeWork;
    report.kernels += stage.kernels;
    double sentPerToken = 0, sentPerPrefill = 0;
    for (const CollectiveCost &c : report.collectives)
      if (c.stage == stage.stage) {
        sentPerToken += c.decodeBytes;
        sentPerPrefill += c.prefillBytes;
      }
    report.commBytesPerToken = std::max(report.commBytesPerToken, sentPerToken);
    report.commBytesPerPrefill =
        std::max(report.commBytesPerPrefill, sentPerPrefill);
  }
  cost::finishTimes(report, prefillStage, prefillTransfer, decodeStage,
                    decodeTransfer, microbatches, hardware, workload);
  return report;
}

} // namespace

Expected<CostReport> analyzeShardedModule(ModuleOp module,
                                          const HardwareSpec &hardware,
                                          const Topology &topology,
                                          const Workload &workload) {
  return Analyzer(module, hardware, topology, workload).run();
}

} // namespace llmc
