//===- Pipelines.h - llmc pass pipelines ------------------------*- C++ -*-===//
//
// The sharding pipeline behind `--shard=SPEC`, shared by llm-opt, llm-run,
// llm-plan and llm-compile so every tool shards a model the same way.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_PIPELINES_H
#define LLMC_PASSES_PIPELINES_H

#include "llmc/Passes/ShardSpec.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

namespace llmc {

/// What `--shard`, `--gpus` and `--microbatches` ask for.
struct ShardingOptions {
  /// The --shard text (e.g. "tp4,pp2"); parsed by the first pass so that a
  /// malformed spec is a diagnostic on the module like any other refusal.
  std::string spec;
  /// GPUs available; 0 means the product of the spec's degrees.
  int64_t gpus = 0;
  /// Pipeline micro-batches per batch.
  int64_t microbatches = 1;
  /// Allow tensor parallelism whose degree does not divide the head count by
  /// padding heads (opt-in, see docs/sharding.md).
  bool padHeads = false;
  /// For spec "auto": the GPU model the planner plans for and an optional
  /// file adding hardware entries (docs/planner.md).
  std::string hardware;
  std::string hardwareFile;
};

/// Adds the passes that turn the whole-model graph into the per-rank program
/// for `options.spec`. Diagnostics for impossible plans are emitted by the
/// passes on the module, so a failed run names the offending value.
void buildShardingPipeline(mlir::OpPassManager &pm,
                           const ShardingOptions &options);

/// Registers every llmc pass (and the `llm-shard` pipeline) with the global
/// pass registry, for llm-opt.
void registerLlmcPasses();

/// Dialects the llmc tools parse and produce.
void registerLlmcDialects(mlir::DialectRegistry &registry);

} // namespace llmc

#endif // LLMC_PASSES_PIPELINES_H
