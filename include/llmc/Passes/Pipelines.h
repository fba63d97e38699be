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
  /// The plan (e.g. "tp4,pp2"), concrete: the tools resolve --shard=auto
  /// before building the pipeline (llmc/Driver/ShardOptions.h). Parsed by
  /// the first pass, so a malformed spec is a diagnostic on the module.
  std::string spec;
  /// GPUs available; 0 means the product of the spec's degrees.
  int64_t gpus = 0;
  /// Pipeline micro-batches per batch.
  int64_t microbatches = 1;
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
