//===- Planner.h - choose a sharding plan for N GPUs ------------*- C++ -*-===//
//
// The planner enumerates every combination of tp, pp, ep, sp and dp whose
// product is the GPU count, shards a clone of the model with each through
// the real sharding pipeline (a refused plan's diagnostic is its rejection
// reason), prices the resulting per-rank program with the cost model, rejects
// plans that split tensor parallelism across nodes, cannot give every replica
// a sequence, or do not fit in memory, and ranks the rest by the objective.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PLAN_PLANNER_H
#define LLMC_PLAN_PLANNER_H

#include "llmc/Passes/ShardSpec.h"
#include "llmc/Plan/CostModel.h"
#include "llmc/Plan/Hardware.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace llmc {

/// What the ranking optimises.
enum class Objective {
  /// Shortest request: prefill + output-len decode steps.
  Latency,
  /// Most generated tokens per second over the deployment.
  Throughput,
};

/// "latency" or "throughput".
llvm::StringRef objectiveName(Objective objective);

/// The most GPUs the planner plans for: a 2^16-rank grid has 4,845
/// factorisations into five axes, which the analytic search ranks in well
/// under a second; beyond that a plan is one replica's share times dp.
constexpr int64_t kMaxPlannerGpus = 65536;

/// What to plan for.
struct PlannerOptions {
  /// A plan to shard and price even when the analytic search would only
  /// estimate it (llm-plan --detail).
  std::optional<ShardSpec> alsoShard;
  /// GPUs the plan's degrees multiply to.
  int64_t gpus = 0;
  /// Nodes they sit on; 0 fills nodes of the hardware's gpus_per_node.
  int64_t nodes = 0;
  Workload workload;
  /// Pipeline micro-batches per batch (used by plans with pp > 1).
  int64_t microbatches = 1;
  Objective objective = Objective::Latency;
  /// Shard and price every candidate through the real pipeline instead of
  /// estimating them all and sharding the best few. Slow on large models
  /// and clusters; the analytic search is tested against it.
  bool exhaustive = false;
};

/// One candidate plan and the verdict on it.
struct PlanCandidate {
  ShardSpec spec;
  /// True when the plan is valid and fits in memory.
  bool fits = false;
  /// Why the plan was rejected; empty when it fits.
  std::string reason;
  /// The cost of the sharded program; absent when the plan breaks a rule
  /// of the sharding passes (or a deployment rule that needs no cost).
  std::optional<CostReport> cost;
  /// True when `cost` is the analytic estimate (include/llmc/Plan/
  /// Estimate.h): the analytic search ranked the plan below the ones it
  /// sharded, or its estimate is far out of memory. Such a plan never fits.
  bool estimated = false;
};

/// The ranked candidates.
struct PlanResult {
  HardwareSpec hardware;
  Topology topology;
  PlannerOptions options;
  /// The model's architecture (llm.architecture), for reports.
  std::string model;
  /// Fitting plans best first, then the rejected ones in enumeration order.
  std::vector<PlanCandidate> plans;

  /// The best plan, or null when nothing fits.
  const PlanCandidate *best() const {
    return !plans.empty() && plans.front().fits ? &plans.front() : nullptr;
  }
};

/// The model's llm.max_position_embeddings, when the importer recorded it.
std::optional<int64_t> maxPositions(mlir::ModuleOp model);

/// llm-plan's default workload (batch 1, 2048-token prompt, 256 generated
/// tokens), with the prompt shortened to fit the model's positions.
Workload defaultWorkload(mlir::ModuleOp model);

/// Every ShardSpec whose degrees multiply to `gpus`, in a fixed order.
std::vector<ShardSpec> enumerateSpecs(int64_t gpus);

/// Places `gpus` GPUs on `nodes` nodes (0: as few nodes of the hardware's
/// size as hold them). Fails when the GPUs do not split evenly or a node
/// would hold more than the hardware's gpus_per_node.
llvm::Expected<Topology> makeTopology(const HardwareSpec &hardware,
                                      int64_t gpus, int64_t nodes);

/// Plans `model`, an unsharded module from llm-import. The module is not
/// modified (each candidate is sharded on a clone). Unless
/// `options.exhaustive`, candidates that break a rule are refused without
/// sharding, the rest are estimated analytically, and only the best few by
/// estimate are sharded and priced by the cost model; the best plan is the
/// exhaustive search's (test/unit/CostModelTest.cpp checks it). Fails only on
/// bad options or an unsuitable module; that nothing fits is a result with no
/// best plan.
llvm::Expected<PlanResult> planSharding(mlir::ModuleOp model,
                                        const HardwareSpec &hardware,
                                        const PlannerOptions &options);

/// One line saying why nothing fits, e.g. for --shard=auto's error.
std::string summarizeNoFit(const PlanResult &result);

/// The report as a table (best plan, ranked plans, rejected plans) followed
/// by the per-stage and per-collective breakdown of `detail` (a plan in
/// `result`; the best plan when null).
void printPlanText(const PlanResult &result, llvm::raw_ostream &os,
                   const PlanCandidate *detail = nullptr);

/// The report as JSON: {"best": SPEC or null, "plans": [{"spec", "fits",
/// "reason", "weights_bytes_per_gpu", "kv_cache_bytes_per_gpu",
/// "activation_bytes_per_gpu", "total_bytes_per_gpu", "comm_bytes_per_token",
/// "prefill_ms", "decode_ms_per_token", "bubble", "throughput_tokens_per_s"}]}
/// in the order of `result.plans`; the numbers are null for plans the
/// sharding pipeline refused.
void printPlanJson(const PlanResult &result, llvm::raw_ostream &os);

/// An SVG picture of `plan`'s grid: GPUs by node, tensor-parallel groups,
/// pipeline stages with their layer ranges.
void writePlanSvg(const PlanResult &result, const PlanCandidate &plan,
                  llvm::raw_ostream &os);

} // namespace llmc

#endif // LLMC_PLAN_PLANNER_H
