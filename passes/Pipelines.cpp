//===- Pipelines.cpp - the llmc sharding pipeline and registration --------===//

#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

namespace llmc {

void buildShardingPipeline(OpPassManager &pm, const ShardingOptions &options) {
  CreateGridOptions grid;
  grid.spec = options.spec;
  grid.gpus = options.gpus;
  grid.microbatches = options.microbatches;
  pm.addPass(createCreateGrid(grid));
  pm.addPass(createExpertParallel());
  pm.addPass(createTensorParallel());
  pm.addPass(createSequenceParallel());
  pm.addPass(createPipelineSplit());
  pm.addPass(createDataParallel());
}

namespace {
/// `llm-shard` pipeline options (`--llm-shard=spec=tp4,pp2 gpus=8`).
struct ShardPipelineOptions
    : public PassPipelineOptions<ShardPipelineOptions> {
  Option<std::string> spec{*this, "spec", llvm::cl::desc("Sharding plan")};
  Option<int64_t> gpus{*this, "gpus", llvm::cl::desc("GPUs available"),
                       llvm::cl::init(0)};
  Option<int64_t> microbatches{*this, "microbatches",
                               llvm::cl::desc("Pipeline micro-batches"),
                               llvm::cl::init(1)};
};
} // namespace

void registerLlmcPasses() {
  registerShardingPasses();
  registerPipelinePasses();
  registerQuantizePasses();
  PassPipelineRegistration<ShardPipelineOptions>(
      "llm-shard", "Shard the model graph into the per-rank program",
      [](OpPassManager &pm, const ShardPipelineOptions &opts) {
        buildShardingPipeline(pm, {opts.spec, opts.gpus, opts.microbatches});
      });
}

void registerLlmcDialects(DialectRegistry &registry) {
  registry.insert<llm::LlmDialect, dist::DistDialect, func::FuncDialect,
                  arith::ArithDialect, tensor::TensorDialect,
                  shard::ShardDialect>();
}

} // namespace llmc
