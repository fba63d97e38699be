//===- AutoPlan.h - how --shard=auto reaches the planner --------*- C++ -*-===//
//
// The planner shards candidate plans by running the sharding pipeline, and
// the pipeline's first pass (llm-shard-create-grid) resolves --shard=auto by
// asking the planner. To keep the libraries acyclic (LLMCPasses must not
// link the planner that links it), the pass calls the planner through this
// hook: tools that offer --shard=auto call llmc::registerAutoPlanner()
// (include/llmc/Plan/Planner.h) once at start-up.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_AUTOPLAN_H
#define LLMC_PASSES_AUTOPLAN_H

#include "llmc/Passes/ShardSpec.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <string>

namespace llmc {

/// What --shard=auto was given.
struct AutoPlanRequest {
  /// GPUs to plan for (the plan's degrees multiply to this).
  int64_t gpus = 0;
  /// Hardware name or alias (see lib/plan/hardware.json).
  std::string hardware;
  /// Optional file adding hardware entries.
  std::string hardwareFile;
  /// Pipeline micro-batches per batch.
  int64_t microbatches = 1;
};

/// Chooses a plan for the unsharded `module`; the error says why none can be
/// chosen (nothing fits, unknown hardware, ...).
using AutoPlanner = std::function<llvm::Expected<ShardSpec>(
    mlir::ModuleOp module, const AutoPlanRequest &request)>;

/// Installs the planner --shard=auto uses (replacing any earlier one).
void setAutoPlanner(AutoPlanner planner);

/// The installed planner; empty when the tool did not install one.
const AutoPlanner &getAutoPlanner();

} // namespace llmc

#endif // LLMC_PASSES_AUTOPLAN_H
