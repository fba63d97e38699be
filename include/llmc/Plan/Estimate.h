//===- Estimate.h - analytic cost of a plan, without sharding ---*- C++ -*-===//
//
// The planner's fast path. One walk over the unsharded model gathers what
// each decoder layer holds and multiplies (ModelSummary); a plan is then
// priced from that summary with the cost model's own formulas (llmc::cost),
// splitting each part the way the sharding passes split it: projections and
// MLP widths over tp, k/v over min(tp, kv heads), experts over ep, layers
// into byte-balanced pipeline stages, the batch over dp x ep, prompt and
// cache positions over sp. The estimate ranks candidates; the planner then
// shards the few best for real and reports their exact cost.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PLAN_ESTIMATE_H
#define LLMC_PLAN_ESTIMATE_H

#include "llmc/Passes/ShardSpec.h"
#include "llmc/Plan/CostModel.h"
#include "llmc/Plan/Hardware.h"

#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <utility>
#include <vector>

namespace llmc {

/// One decoder layer as the estimate splits it. Bytes are parameter bytes;
/// elements are the parameters one token multiplies with (2 FLOPs each).
struct LayerSummary {
  /// Split over tp: q and o projections, MLP and shared-expert projections.
  double tpSplitBytes = 0, tpSplitElements = 0;
  /// k and v projections: split over min(tp, kv heads), replicated beyond.
  double kvProjBytes = 0, kvProjElements = 0;
  /// On every rank: norms, router, shared-expert gate, scales.
  double replicatedBytes = 0, replicatedElements = 0;
  /// One routed expert (gate + up + down), split over tp.
  double expertBytes = 0, expertElements = 0;
  int64_t experts = 0;
  int64_t topK = 0;
  /// Attention (0 heads: none).
  int64_t heads = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  std::optional<int64_t> window;
  bool cached = false;
  /// Widest dense MLP and routed-expert intermediate (for activations).
  int64_t mlpWidth = 0;
  int64_t expertWidth = 0;
  /// Ops that run as kernels, unsharded.
  int64_t kernels = 0;
};

/// What the estimate needs from an unsharded model, gathered in one walk.
struct ModelSummary {
  std::vector<LayerSummary> layers;
  /// Outside the layers: the embedding table and lm_head (vocab-parallel
  /// over tp), the final norm (replicated).
  double embeddingBytes = 0;
  double lmHeadBytes = 0;
  double lmHeadElements = 0;
  double outerReplicatedBytes = 0;
  /// The lm_head reads the embedding table (one weight, counted once when
  /// both sit on one stage).
  bool tied = false;
  int64_t hidden = 0;
  int64_t vocab = 0;
  /// Bytes of an activation element and of a cached key/value element,
  /// plus the scale bytes per head vector of an FP8 cache.
  int64_t computeBytes = 2;
  int64_t cacheBytes = 2;
  int64_t cacheScaleBytes = 0;
  /// Some linear multiplies FP8 activations by FP8 weights (W8A8).
  bool w8a8 = false;
  /// Ops outside the layers that run as kernels.
  int64_t outerKernels = 0;
};

/// The most nodes a group along a grid axis of `degree` spans, whose members
/// are `stride` ranks apart (the product of the inner axes' degrees), and
/// the fewest members of one group that share a node. Rank r sits on node
/// r / gpusPerNode; the pattern repeats every lcm(degree * stride, GPUs per
/// node) ranks, so one period is scanned, not the whole grid.
std::pair<int64_t, int64_t> groupSpan(int64_t degree, int64_t stride,
                                      const Topology &topology);

/// Walks the unsharded module once. Fails without a @forward.
llvm::Expected<ModelSummary> summarizeModel(mlir::ModuleOp module);

/// Local bytes of each decoder layer on the busiest rank of `spec`, the
/// embedding with layer 0 and the final norm and lm_head with the last
/// layer: the costs the pipeline split balances.
std::vector<double> layerStageBytes(const ModelSummary &model,
                                    const ShardSpec &spec);

/// The estimated cost of `spec`: per-GPU memory of the busiest stage,
/// prefill and decode times, throughput. `stages` and `collectives` are
/// left empty; `activationScale` multiplies the activation estimate (the
/// planner calibrates it on the unsharded model).
CostReport estimatePlan(const ModelSummary &model, const ShardSpec &spec,
                        const HardwareSpec &hardware, const Topology &topology,
                        const Workload &workload, int64_t microbatches,
                        double activationScale = 1.0);

} // namespace llmc

#endif // LLMC_PLAN_ESTIMATE_H
