//===- llm-opt.cpp - the llmc optimizer driver ----------------------------===//
//
// mlir-opt with the llm and dist dialects, the upstream shard, func, tensor
// and arith dialects and llmc's passes, plus the sharding front door:
//
//   llm-opt model.mlir [--quantize=fp8,kv-fp8] --shard=tp4,pp2 [--gpus=N]
//           [--microbatches=M]
//
// --quantize runs llm-quantize, then --shard the sharding pipeline, both
// before any pass given on the command line; every standard mlir-opt flag
// works as usual.
//
//===----------------------------------------------------------------------===//

#include "llmc/Dialect/Llm/LlmDialect.h"
#include "llmc/Passes/Lowering.h"
#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/Quantize.h"
#include "llmc/Plan/Planner.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;

static cl::OptionCategory llmcCategory("llmc sharding options");
static cl::opt<std::string>
    shardSpec("shard",
              cl::desc("Sharding plan: auto, or a comma list of tpN, ppN, "
                       "epN, spN, dpN (e.g. tp4,pp2)"),
              cl::value_desc("spec"), cl::cat(llmcCategory));
static cl::opt<std::string> quantizeSpec("quantize",
                                         cl::desc(llmc::kQuantizeOptionHelp),
                                         cl::value_desc("list"),
                                         cl::cat(llmcCategory));
static cl::opt<int64_t> gpus("gpus",
                             cl::desc("GPUs available (default: the product "
                                      "of the spec's degrees)"),
                             cl::init(0), cl::cat(llmcCategory));
// Registered for llm-opt's --help; the value travels in ShardingOptions.
static cl::opt<int64_t>
    microbatches("microbatches",
                 cl::desc("Pipeline micro-batches per batch (default 1)"),
                 cl::init(1), cl::cat(llmcCategory));

static cl::opt<std::string>
    hardware("hardware",
             cl::desc("GPU model --shard=auto plans for (h100-sxm, h200, "
                      "a100-80g, ...; see llm-plan --list-hardware)"),
             cl::value_desc("name"), cl::cat(llmcCategory));
static cl::opt<std::string>
    hardwareFile("hardware-file",
                 cl::desc("JSON file adding hardware entries for --shard=auto"),
                 cl::value_desc("file"), cl::cat(llmcCategory));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  llmc::registerLlmcDialects(registry);
  mlir::registerTransformsPasses();
  llmc::registerLlmcPasses();
  llmc::registerLoweringPasses();
  llmc::registerAutoPlanner();

  std::string helpHeader = mlir::registerCLIOptions("llm-opt", registry);
  auto [inputFile, outputFile] =
      mlir::parseCLIOptions(argc, argv, helpHeader);

  if (gpus.getNumOccurrences() && gpus < 1) {
    WithColor::error(errs(), "llm-opt")
        << "--gpus must be >= 1, got " << gpus << "\n";
    return 1;
  }
  if (microbatches < 1) {
    WithColor::error(errs(), "llm-opt")
        << "--microbatches must be >= 1, got " << microbatches << "\n";
    return 1;
  }

  Expected<llmc::QuantizeSpec> parsedQuantize =
      llmc::parseQuantizeOption(quantizeSpec);
  if (!parsedQuantize) {
    WithColor::error(errs(), "llm-opt")
        << toString(parsedQuantize.takeError()) << "\n";
    return 1;
  }
  llmc::QuantizeSpec quantize = *parsedQuantize;

  // The command line's own pipeline runs after quantization and sharding.
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  mlir::MlirOptMainConfig cliConfig = config;
  bool shard = shardSpec.getNumOccurrences() > 0;
  llmc::ShardingOptions options{shardSpec, gpus, microbatches};
  options.hardware = hardware;
  options.hardwareFile = hardwareFile;
  config.setPassPipelineSetupFn([=](mlir::PassManager &pm) {
    llmc::buildQuantizePipeline(pm, quantize);
    // A malformed spec is reported by the first pass, at the module.
    if (shard)
      llmc::buildShardingPipeline(pm, options);
    return cliConfig.setupPassPipeline(pm);
  });

  std::string error;
  std::unique_ptr<MemoryBuffer> input = mlir::openInputFile(inputFile, &error);
  if (!input) {
    WithColor::error(errs(), "llm-opt") << error << "\n";
    return 1;
  }
  std::unique_ptr<ToolOutputFile> output =
      mlir::openOutputFile(outputFile, &error);
  if (!output) {
    WithColor::error(errs(), "llm-opt") << error << "\n";
    return 1;
  }
  if (failed(mlir::MlirOptMain(output->os(), std::move(input), registry,
                               config)))
    return 1;
  output->keep();
  return 0;
}
