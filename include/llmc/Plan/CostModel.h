//===- CostModel.h - cost of a sharded per-rank program ---------*- C++ -*-===//
//
// The cost model reads the per-rank program the sharding pipeline produced
// (llm ops on local shapes, shard collectives, dist stages and transfers)
// and predicts, for one hardware entry and one serving workload, what each
// GPU holds (weights, KV cache, activations), what it sends (per collective,
// per decode step and per prefill, and over which link) and how long prefill
// and each decode step take. Nothing is looked up in a model table: weights
// are the llm.weight symbols a stage reads, at their local types; the KV
// cache is the stage's layer range times the local !llm.kv_cache heads;
// message sizes are the collectives' tensor types with batch and sequence
// substituted. docs/planner.md states every formula and assumption.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PLAN_COSTMODEL_H
#define LLMC_PLAN_COSTMODEL_H

#include "llmc/Passes/ShardSpec.h"
#include "llmc/Plan/Hardware.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace llmc {

/// Where the GPUs of a deployment sit: rank r is on node r / gpusPerNode
/// (ranks numbered row-major over the grid, outermost axis first, so tp's
/// consecutive ranks share a node).
struct Topology {
  int64_t gpus = 1;
  int64_t gpusPerNode = 8;

  int64_t nodes() const { return (gpus + gpusPerNode - 1) / gpusPerNode; }
  int64_t nodeOf(int64_t rank) const { return rank / gpusPerNode; }
};

/// The serving scenario a plan is judged on.
struct Workload {
  /// Concurrent sequences over the whole deployment (split over dp).
  int64_t batch = 1;
  /// Prompt tokens per sequence (the prefill length).
  int64_t seqLen = 2048;
  /// Generated tokens per sequence.
  int64_t outputLen = 256;

  /// Positions the KV cache holds per sequence: prompt plus output.
  int64_t context() const { return seqLen + outputLen; }
};

/// The formulas of the cost model, exposed for unit tests and docs. Byte
/// counts of collectives are what one rank sends (ring algorithms).
namespace cost {

/// Ring all-reduce of an M-byte tensor over n ranks: 2(n-1)/n * M.
double allReduceBytes(int64_t ranks, double bytes);
/// All-gather producing an M-byte tensor: (n-1)/n * M.
double allGatherBytes(int64_t ranks, double gatheredBytes);
/// Reduce-scatter of an M-byte tensor: (n-1)/n * M.
double reduceScatterBytes(int64_t ranks, double inputBytes);
/// All-to-all of an M-byte tensor: each rank keeps 1/n and sends
/// (n-1)/n * M.
double allToAllBytes(int64_t ranks, double bytes);
/// Point-to-point send of an M-byte tensor: M.
double p2pBytes(double bytes);
/// Idle fraction of a pipeline of `stages` stages fed `microbatches`
/// micro-batches: (p-1)/(m+p-1).
double pipelineBubble(int64_t stages, int64_t microbatches);
/// KV cache bytes: 2 (K and V) * batch * positions * layers * kv_heads *
/// (head_dim * element bytes + scale bytes per head vector: 4 for an FP8
/// cache's fp32 per-token-head scale, 0 otherwise).
double kvCacheBytes(int64_t batch, int64_t positions, int64_t layers,
                    int64_t kvHeads, int64_t headDim, int64_t elementBytes,
                    int64_t scaleBytes = 0);
/// FLOPs of a linear layer: 2 * tokens * in * out.
double linearFlops(double tokens, int64_t in, int64_t out);
/// FLOPs of attention (QK^T and PV): 4 * queries * context * heads *
/// head_dim, where `context` is the average number of keys a query sees.
double attentionFlops(double queries, double context, int64_t heads,
                      int64_t headDim);
/// Average keys per query in a causal prefill of `seq` tokens, (seq+1)/2,
/// capped by a sliding window.
double causalPrefillContext(int64_t seq, std::optional<int64_t> window);
/// Expected number of distinct experts, of `experts`, that `tokens` tokens
/// choosing `topK` each reach under uniform routing:
/// E * (1 - (1 - k/E)^tokens). Decode reads only those experts' weights.
double expectedExpertsTouched(int64_t experts, int64_t topK, double tokens);
/// Time for `microbatches` micro-batches to pass a pipeline whose stage s
/// takes stageSeconds[s] per micro-batch and whose boundary s -> s+1 takes
/// transferSeconds[s]: the first micro-batch crosses every stage and
/// boundary, the others follow at the pace of the slowest one:
/// sum(stages) + sum(transfers) + (m-1) * max(stages, transfers).
double pipelineSeconds(llvm::ArrayRef<double> stageSeconds,
                       llvm::ArrayRef<double> transferSeconds,
                       int64_t microbatches);

} // namespace cost

/// Collective kinds the cost model prices.
enum class CollectiveKind {
  AllReduce,
  AllGather,
  ReduceScatter,
  AllToAll,
  P2P
};

/// Name used in reports: "all_reduce", "all_gather", "reduce_scatter",
/// "all_to_all", "p2p".
llvm::StringRef collectiveKindName(CollectiveKind kind);

/// The collectives of one kind over one group that one pipeline stage's
/// ranks run, with their cost per rank.
struct CollectiveCost {
  CollectiveKind kind = CollectiveKind::AllReduce;
  /// The op in the IR, e.g. "shard.all_reduce", "dist.transfer".
  std::string op;
  /// Grid axes of the group, e.g. "tp" or "pp".
  std::string axes;
  /// Ranks in the group (2 for point-to-point).
  int64_t groupSize = 0;
  /// Nodes one group spans; > 1 means it runs over the inter-node network.
  int64_t nodesSpanned = 1;
  /// Fraction of the bytes that cross nodes: 1 for rings and sends that
  /// span nodes (the inter-node hop carries every step), the off-node peers'
  /// share for an all-to-all, 0 inside a node.
  double interNodeFraction = 0;
  /// Name of the link it uses (from the hardware entry).
  std::string link;
  /// Pipeline stage whose ranks send it (0 without a pipeline).
  int64_t stage = 0;
  /// Ops per forward pass of one micro-batch.
  int64_t count = 0;
  /// Bytes one rank sends over the whole prefill and per decode step.
  double prefillBytes = 0;
  double decodeBytes = 0;
  /// Time they take on the link, including per-op latency: over the whole
  /// prefill and per decode step.
  double prefillSeconds = 0;
  double decodeSeconds = 0;

  bool interNode() const { return nodesSpanned > 1; }
};

/// GEMMs of one phase that run at the same rows and rate (their weight
/// streams and FLOPs add up, and so do their rooflines).
struct GemmGroup {
  /// Rows each weight element is applied to: the phase's tokens for a
  /// projection, its sequences for the lm head, tokens per expert reached
  /// for routed experts.
  double rows = 0;
  /// FP8 activations and weights (W8A8): FLOPs at fp8_tflops.
  bool fp8 = false;
  double weightBytes = 0;
  double flops = 0;
};

/// What one phase (the prefill or one decode step) of one micro-batch does
/// on a GPU before it is priced: its GEMMs, the HBM bytes of everything
/// else, attention's FLOPs and KV-cache bytes, and the kernels the binary
/// launches for it.
struct PhaseWork {
  /// By (rows, fp8), in the order first met.
  std::vector<GemmGroup> gemms;
  /// HBM bytes other than GEMM weights and the KV cache: the activations
  /// the norm, rope, SwiGLU, residual-add, embedding and sampling kernels
  /// read and write, embedding rows, norm weights.
  double streamBytes = 0;
  double attentionFlops = 0;
  double kvBytes = 0;
  /// Kernel launches (docs/planner.md, "Time": how the binary groups ops).
  int64_t launches = 0;
  /// Launched by the host one by one (a prefill) rather than replayed as a
  /// CUDA graph (a decode step).
  bool eager = false;

  void addGemm(double rows, bool fp8, double weightBytes, double flops);
  PhaseWork &operator+=(const PhaseWork &other);
};

/// Where one phase's compute time goes on a GPU, in seconds per
/// micro-batch: the GEMMs' weight stream and FLOPs (each GEMM at its
/// roofline with partial overlap at small rows), the other kernels'
/// HBM traffic, attention (its FLOPs and its KV-cache traffic) and the
/// kernel launches (docs/planner.md, "Time"). bench/calibrate.py refits
/// the hardware knobs behind each term from measured runs.
struct PhaseTerms {
  /// Weight-stream time not hidden under the GEMMs' FLOPs.
  double weights = 0;
  /// FLOP time not hidden under the weight stream.
  double gemm = 0;
  /// PhaseWork::streamBytes at the hbm rate.
  double activations = 0;
  double attention = 0;
  double launch = 0;
  /// The step's fixed overhead (step_overhead_us): once per prefill or
  /// decode step, not per stage; only the report's totals carry it.
  double step = 0;

  double sum() const {
    return weights + gemm + activations + attention + launch + step;
  }
  PhaseTerms &operator+=(const PhaseTerms &other) {
    weights += other.weights;
    gemm += other.gemm;
    activations += other.activations;
    attention += other.attention;
    launch += other.launch;
    step += other.step;
    return *this;
  }
};

namespace cost {
/// The visible weight-stream and FLOP seconds of one GEMM group: with w its
/// weight bytes at the hbm rate and f its FLOPs at the compute rate (FP8
/// ones at fp8_tflops), the shorter of the two is hidden under the longer
/// but for a fraction R / (rows + R), R = gemm_overlap_rows: a GEMM of
/// many rows is at its roofline max(w, f); one of few rows, whose tiles are
/// mostly empty and whose pipeline is latency-bound, pays w + f.
std::pair<double, double> gemmSeconds(const HardwareSpec &hardware,
                                      int64_t elementBytes,
                                      const GemmGroup &group);
/// The compute terms of one phase on one GPU: the GEMM groups as above,
/// stream bytes at the hbm rate, attention FLOPs at the attention_compute
/// rate and KV bytes at the attention rate, and the launches at
/// eager_launch_us (eager) or kernel_launch_us (a CUDA graph).
PhaseTerms phaseTerms(const HardwareSpec &hardware, int64_t elementBytes,
                      const PhaseWork &work);

/// How the generated binary launches the linears of one input (q|k|v,
/// gate|up with the SwiGLU) at `rows` rows: one kernel up to
/// kGroupedLaunchMaxRows (the weight-streaming GEMV and tensor-core GEMM
/// with the SwiGLU in the epilogue; lib/codegen/DecodePlan.cpp), one
/// cuBLASLt GEMM and a split or SwiGLU kernel up to kOneGemmMaxRows
/// (runtime/kernels/Siblings.cu), one GEMM each beyond. `intoViews`: the
/// outputs are column views of one buffer (q|k|v read only by attention,
/// passes/lowering/LowerOps.cpp), one GEMM at any row count.
constexpr int64_t kGroupedLaunchMaxRows = 16;
constexpr int64_t kOneGemmMaxRows = 512;
int64_t siblingLaunches(int64_t siblings, double rows, bool intoViews);
} // namespace cost

/// What one pipeline stage's ranks hold and do (the whole model when there
/// is no pipeline).
struct StageCost {
  int64_t stage = 0;
  /// Decoder layers [firstLayer, endLayer).
  int64_t firstLayer = 0;
  int64_t endLayer = 0;
  /// Per GPU of the stage (the busiest expert-parallel coordinate).
  double weightBytes = 0;
  double kvCacheBytes = 0;
  double activationBytes = 0;
  /// FLOPs per GPU per micro-batch, prefill and one decode step, and the
  /// part of them that runs on FP8 tensor cores (W8A8 linears).
  double prefillFlops = 0;
  double decodeFlops = 0;
  double prefillFp8Flops = 0;
  double decodeFp8Flops = 0;
  /// HBM bytes per GPU per micro-batch, prefill and one decode step.
  double prefillHbmBytes = 0;
  double decodeHbmBytes = 0;
  /// The part of the FLOPs and HBM bytes that is attention (QK^T, PV and
  /// the KV cache written or read).
  double prefillAttentionFlops = 0;
  double decodeAttentionFlops = 0;
  double prefillKvBytes = 0;
  double decodeKvBytes = 0;
  /// Kernel launches of one decode step of one micro-batch.
  int64_t kernels = 0;
  /// What each phase does, before pricing.
  PhaseWork prefillWork;
  PhaseWork decodeWork;
  /// The compute time of each phase by term.
  PhaseTerms prefillTerms;
  PhaseTerms decodeTerms;
  /// Seconds per micro-batch: compute (the sum of the phase's terms),
  /// communication, and the stage time (prefill max(compute, comm), decode
  /// compute + comm).
  double prefillComputeSeconds = 0;
  double prefillCommSeconds = 0;
  double prefillSeconds = 0;
  double decodeComputeSeconds = 0;
  double decodeCommSeconds = 0;
  double decodeSeconds = 0;

  double totalBytes() const {
    return weightBytes + kvCacheBytes + activationBytes;
  }
};

/// The cost of one sharded program for one hardware and workload.
struct CostReport {
  /// The plan the program was sharded with (from its grid).
  ShardSpec spec;
  /// Pipeline micro-batches (from dist.pipeline; 1 without a pipeline).
  int64_t microbatches = 1;
  /// Ranks the batch is split over (the axes @forward's dist.batch_axes
  /// names, e.g. dp).
  int64_t batchSplit = 1;
  /// Sequences each rank serves (batch over the axes that split it, rounded
  /// up) and sequences per micro-batch.
  int64_t sequencesPerRank = 0;
  int64_t sequencesPerMicrobatch = 0;
  /// Per GPU, on the busiest GPU (stage and expert coordinate): the largest
  /// stage total and that stage's weights, KV cache and peak prefill
  /// activations, so the parts add up to the total.
  double weightBytesPerGpu = 0;
  double kvCacheBytesPerGpu = 0;
  double activationBytesPerGpu = 0;
  double totalBytesPerGpu = 0;
  /// Bytes the busiest GPU sends per decode step (one new token for each of
  /// its sequences) and over a whole prefill.
  double commBytesPerToken = 0;
  double commBytesPerPrefill = 0;
  /// Predicted time to first token (whole-batch prefill), per decode step,
  /// and for the whole request (prefill + outputLen decode steps).
  double prefillSeconds = 0;
  double decodeSecondsPerToken = 0;
  double endToEndSeconds = 0;
  /// Pipeline bubble (p-1)/(m+p-1).
  double bubble = 0;
  /// The stages' compute terms summed, per micro-batch (with one stage,
  /// prefillSeconds or decodeSecondsPerToken is their sum plus the
  /// communication that does not overlap).
  PhaseTerms prefillTerms;
  PhaseTerms decodeTerms;
  /// Kernel launches of one micro-batch's decode step over every stage.
  int64_t kernels = 0;
  /// The stages' work summed, per micro-batch.
  PhaseWork prefillWork;
  PhaseWork decodeWork;
  /// Generated tokens per second over the deployment (prompt tokens per
  /// second when outputLen is 0).
  double throughputTokensPerSecond = 0;
  std::vector<StageCost> stages;
  std::vector<CollectiveCost> collectives;
  /// Whether the program multiplies FP8 activations by FP8 weights (W8A8),
  /// which needs FP8 tensor cores.
  bool usesFp8TensorCores() const {
    for (const StageCost &stage : stages)
      if (stage.prefillFp8Flops > 0)
        return true;
    return false;
  }
};

namespace cost {
/// Fills `report`'s times from its stages' seconds per micro-batch and its
/// boundaries' transfer seconds: prefill and decode step through the
/// pipeline plus the step overhead, end-to-end time, bubble, throughput.
void finishTimes(CostReport &report, llvm::ArrayRef<double> prefillStage,
                 llvm::ArrayRef<double> prefillTransfer,
                 llvm::ArrayRef<double> decodeStage,
                 llvm::ArrayRef<double> decodeTransfer, int64_t microbatches,
                 const HardwareSpec &hardware, const Workload &workload);
} // namespace cost

/// Analyses a module produced by the sharding pipeline (or an unsharded
/// one, as a single-GPU plan). Fails when the module is not a sharded llm
/// program (no @forward).
llvm::Expected<CostReport> analyzeShardedModule(mlir::ModuleOp module,
                                                const HardwareSpec &hardware,
                                                const Topology &topology,
                                                const Workload &workload);

/// The grid of a plan (rt::Grid) laid out on nodes: which ranks form the
/// groups of an axis and how many nodes such a group spans.
class GridLayout {
public:
  /// Axes outermost first, as the sharding passes order them.
  explicit GridLayout(const ShardSpec &spec);
  explicit GridLayout(rt::Grid grid);

  int64_t numRanks() const { return grid.numRanks(); }
  llvm::ArrayRef<std::string> axes() const { return grid.axes; }
  llvm::ArrayRef<int64_t> degrees() const { return grid.shape; }
  /// The plan's grid, batch and sequence axes included.
  const rt::Grid &plan() const { return grid; }
  /// Index of a named axis, or -1 when the grid lacks it.
  int64_t axisIndex(llvm::StringRef axis) const { return grid.axisIndex(axis); }
  /// Coordinates of a rank (row-major, outermost axis first).
  std::vector<int64_t> coords(int64_t rank) const {
    return grid.coordinates(rank);
  }
  /// Most nodes any group along `axisIndices` spans.
  int64_t nodesSpanned(llvm::ArrayRef<int64_t> axisIndices,
                       const Topology &topology) const;
  /// Fewest members of one group along `axisIndices` that share a node
  /// (the rank itself included): an all-to-all sends the rest of its peers'
  /// shares over the inter-node network.
  int64_t minGroupMembersOnNode(llvm::ArrayRef<int64_t> axisIndices,
                                const Topology &topology) const;
  /// Nodes spanned by the two ranks of a send along `axis` from coordinate
  /// `from` to `to` (2 when any such pair sits on different nodes).
  int64_t p2pNodesSpanned(int64_t axis, int64_t from, int64_t to,
                          const Topology &topology) const;

private:
  rt::Grid grid;
};

/// Bytes of one element of a float or integer type (bf16: 2).
int64_t elementByteWidth(mlir::Type type);

} // namespace llmc

#endif // LLMC_PLAN_COSTMODEL_H
