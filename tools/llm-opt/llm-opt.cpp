//===- llm-opt.cpp - the llmc optimizer driver ----------------------------===//
//
// mlir-opt with the llm and dist dialects, the upstream shard, func, tensor
// and arith dialects and llmc's passes, plus the sharding front door:
//
//   llm-opt model.mlir [--quantize=fp8,kv-fp8] --shard=tp4,pp2 [--gpus=N]
//           [--microbatches=M]
//   llm-opt model.mlir --shard=auto --gpus=N --hardware=NAME
//           [--hardware-file=FILE]
//
// --quantize runs llm-quantize, then --shard the sharding pipeline, both
// before any pass given on the command line; every standard mlir-opt flag
// works as usual. --shard is resolved and checked before any pass runs: the
// input is parsed (and quantized) once more, --shard=auto asks the planner,
// and a plan the model cannot take is one line about --shard.
//
//===----------------------------------------------------------------------===//

#include "llmc/Driver/CommandLine.h"
#include "llmc/Driver/ShardOptions.h"
#include "llmc/Driver/ToolSupport.h"
#include "llmc/Passes/Lowering.h"
#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/Quantize.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace llvm;

static cl::OptionCategory llmcCategory("llmc sharding options");
static llmc::ShardingCommandLine sharding(llmcCategory);

static int fail(const Twine &message) {
  return llmc::reportToolError("llm-opt", message);
}

/// The plan to shard with, resolved and checked on the (quantized) model in
/// `input`, parsed here from a view of the buffer MlirOptMain parses again:
/// --shard=auto becomes the planner's plan, and a plan the model cannot take
/// is refused as one line about --shard (not at a line of the IR).
static Expected<llmc::ShardSpec>
resolveAndCheck(const MemoryBuffer &input, mlir::DialectRegistry &registry,
                const llmc::ShardRequest &request) {
  mlir::MLIRContext context(registry);
  std::unique_ptr<llmc::InputModule> module = llmc::InputModule::parse(
      MemoryBuffer::getMemBuffer(input.getMemBufferRef(), false), context);
  if (!module || failed(llmc::quantizeModule(module->get(), request.quantize)))
    return createStringError("--shard: the input could not be prepared for "
                             "sharding (diagnostics above)");
  Expected<llmc::ShardSpec> spec =
      llmc::resolveShardSpec(module->get(), request);
  if (!spec)
    return spec.takeError();
  if (Error e = llmc::checkShardSpec(module->get(), *spec, request))
    return std::move(e);
  return *spec;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  llmc::registerLlmcDialects(registry);
  mlir::registerTransformsPasses();
  llmc::registerLlmcPasses();
  llmc::registerLoweringPasses();

  std::string helpHeader = mlir::registerCLIOptions("llm-opt", registry);
  llmc::prepareCommandLine(argc, argv);
  auto [inputFile, outputFile] = mlir::parseCLIOptions(argc, argv, helpHeader);
  llmc::rejectGroupedShortHelp(argc, argv);

  Expected<llmc::ShardRequest> request = sharding.request();
  if (!request)
    return fail(toString(request.takeError()));

  // The command line's own pipeline runs after quantization and sharding.
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  if (request->isAuto() && !config.inputSplitMarker().empty())
    return fail("--shard=auto plans one model; it cannot be combined with "
                "-split-input-file");

  std::string error;
  std::unique_ptr<MemoryBuffer> input = mlir::openInputFile(inputFile, &error);
  if (!input)
    return fail(error);

  // Tests of the passes' diagnostics (-verify-diagnostics, or several
  // modules in one file) see the pipeline's own diagnostics; a user's
  // --shard is resolved and checked up front.
  std::optional<llmc::ShardSpec> spec = request->spec;
  if (request->isAuto() ||
      (spec && !config.shouldVerifyDiagnostics() &&
       config.inputSplitMarker().empty())) {
    Expected<llmc::ShardSpec> checked =
        resolveAndCheck(*input, registry, *request);
    if (!checked)
      return fail(toString(checked.takeError()));
    spec = *checked;
  }

  mlir::MlirOptMainConfig cliConfig = config;
  llmc::QuantizeSpec quantize = request->quantize;
  std::optional<llmc::ShardingOptions> options;
  if (spec)
    options = llmc::pipelineOptions(*spec, *request);
  config.setPassPipelineSetupFn([=](mlir::PassManager &pm) {
    llmc::buildQuantizePipeline(pm, quantize);
    if (options)
      llmc::buildShardingPipeline(pm, *options);
    return cliConfig.setupPassPipeline(pm);
  });

  std::unique_ptr<ToolOutputFile> output =
      mlir::openOutputFile(outputFile, &error);
  if (!output)
    return fail(error);
  if (failed(
          mlir::MlirOptMain(output->os(), std::move(input), registry, config)))
    return 1;
  output->keep();
  return 0;
}
