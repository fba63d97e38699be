//===- ShardOptions.cpp - the tools' sharding options and --shard=auto ----===//

#include "llmc/Driver/ShardOptions.h"
#include "llmc/Driver/CommandLine.h"

#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Passes.h"
#include "llmc/Plan/Planner.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/Twine.h"

using namespace llvm;
using namespace llmc;

namespace {
Error optionError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

/// How --shard spells `spec`: a one-GPU plan prints as "" but is written
/// (and read by the pass) as "tp1".
std::string specText(const ShardSpec &spec) {
  return spec.numRanks() == 1 && !spec.isAuto ? std::string("tp1") : spec.str();
}
} // namespace

ShardingCommandLine::ShardingCommandLine(cl::OptionCategory &category,
                                         Kind kind)
    : kind(kind),
      gpus("gpus",
           cl::desc(kind == Kind::Plan
                        ? "GPUs to plan for (required)"
                        : "GPUs available; with --shard=auto, the GPUs to "
                          "plan for (default: the product of the plan's "
                          "degrees)"),
           cl::init(0), cl::cat(category)),
      microbatches("microbatches",
                   cl::desc("Pipeline micro-batches per batch (default 1)"),
                   cl::init(1), cl::cat(category)),
      hardware("hardware",
               cl::desc(kind == Kind::Plan
                            ? "GPU model, e.g. h100-sxm, h200, a100-80g "
                              "(--list-hardware shows all)"
                            : "GPU model --shard=auto plans for (h100-sxm, "
                              "h200, a100-80g, ...; llm-plan "
                              "--list-hardware shows all)"),
               cl::value_desc("name"), cl::cat(category)),
      hardwareFile("hardware-file",
                   cl::desc("JSON file adding or overriding hardware entries "
                            "(the format of lib/plan/hardware.json)"),
                   cl::value_desc("file"), cl::cat(category)),
      quantize("quantize",
               cl::desc("Quantize before sharding: a comma list of fp8 (FP8 "
                        "weights), w8a8-fp8 (FP8 weights and activations), "
                        "kv-fp8 (FP8 KV cache), lm-head, or none "
                        "(docs/quantization.md)"),
               cl::value_desc("list"), cl::cat(category)) {
  if (kind == Kind::Shard)
    shard.emplace("shard",
                  cl::desc("Sharding plan: auto, or a comma list of tpN, "
                           "ppN, epN, spN, dpN (e.g. tp4,pp2)"),
                  cl::value_desc("spec"), cl::cat(category));
}

Expected<ShardRequest> ShardingCommandLine::request() const {
  ShardRequest request;
  if (shard && shard->getNumOccurrences()) {
    Expected<ShardSpec> spec = parseShardSpec(*shard);
    if (!spec)
      return spec.takeError();
    request.spec = *spec;
  }
  if (gpus.getNumOccurrences()) {
    if (gpus < 1)
      return optionError("--gpus must be >= 1, got " + Twine(gpus));
    request.gpus = gpus;
  }
  if (microbatches < 1)
    return optionError("--microbatches must be >= 1, got " +
                       Twine(microbatches));
  request.microbatches = microbatches;
  if (quantize.getNumOccurrences()) {
    Expected<QuantizeSpec> spec = parseQuantizeSpec(quantize);
    if (!spec)
      return spec.takeError();
    request.quantize = *spec;
  }
  request.hardware = hardware;
  request.hardwareFile = hardwareFile;
  if (kind == Kind::Shard && !request.isAuto()) {
    // Silently planning nothing would hide a forgotten --shard=auto.
    for (const cl::opt<std::string> *option : {&hardware, &hardwareFile})
      if (option->getNumOccurrences())
        return optionError("--" + option->ArgStr + "=" + option->getValue() +
                           " names hardware for --shard=auto only; pass "
                           "--shard=auto or drop --" +
                           option->ArgStr);
  }
  if (request.isAuto() && !request.gpus)
    return optionError(
        "--shard=auto needs --gpus=N, the number of GPUs to plan for");
  return request;
}

Expected<HardwareDatabase> llmc::loadHardware(const ShardRequest &request) {
  HardwareDatabase database = HardwareDatabase::builtin();
  if (!request.hardwareFile.empty())
    if (Error e = database.addFile(request.hardwareFile))
      return std::move(e);
  return database;
}

Expected<ShardSpec> llmc::resolveShardSpec(mlir::ModuleOp module,
                                           const ShardRequest &request) {
  if (!request.spec)
    return optionError("no --shard given");
  if (!request.isAuto())
    return *request.spec;
  auto autoError = [](Error e) {
    return optionError("--shard=auto: " + toString(std::move(e)));
  };
  Expected<HardwareDatabase> database = loadHardware(request);
  if (!database)
    return autoError(database.takeError());
  if (request.hardware.empty())
    return optionError("--shard=auto: no hardware given; pass "
                       "--hardware=NAME (known hardware: " +
                       database->knownNames() + ")");
  Expected<HardwareSpec> hardware = database->lookup(request.hardware);
  if (!hardware)
    return autoError(hardware.takeError());
  PlannerOptions options;
  options.workload = defaultWorkload(module);
  options.gpus = request.gpus;
  options.microbatches = request.microbatches;
  Expected<PlanResult> result = planSharding(module, *hardware, options);
  if (!result)
    return autoError(result.takeError());
  if (const PlanCandidate *best = result->best())
    return best->spec;
  return optionError("--shard=auto: " + summarizeNoFit(*result) +
                     "; run llm-plan for the full report");
}

Error llmc::checkShardSpec(mlir::ModuleOp module, const ShardSpec &spec,
                          const ShardRequest &request) {
  mlir::OwningOpRef<mlir::ModuleOp> clone = module.clone();
  std::string first;
  mlir::ScopedDiagnosticHandler capture(
      module.getContext(), [&](mlir::Diagnostic &diag) {
        if (diag.getSeverity() == mlir::DiagnosticSeverity::Error &&
            first.empty())
          first = diag.str();
        return mlir::success();
      });
  ShardingOptions options = pipelineOptions(spec, request);
  CreateGridOptions grid;
  grid.spec = options.spec;
  grid.gpus = options.gpus;
  grid.microbatches = options.microbatches;
  mlir::PassManager pm(module.getContext());
  pm.addPass(createCreateGrid(grid));
  if (succeeded(pm.run(*clone)))
    return Error::success();
  return optionError(first);
}

ShardingOptions llmc::pipelineOptions(const ShardSpec &spec,
                                      const ShardRequest &request) {
  ShardingOptions options;
  options.spec = specText(spec);
  options.gpus = request.gpus;
  options.microbatches = request.microbatches;
  return options;
}

mlir::LogicalResult llmc::shardModule(StringRef tool, StringRef inputName,
                                      mlir::ModuleOp module,
                                      const ShardRequest &request,
                                      std::optional<ShardSpec> defaultSpec) {
  if (findGrid(module)) {
    if (!request.spec)
      return mlir::success();
    reportToolError(tool, "'" + inputName +
                              "' is already sharded (it has a shard.grid), "
                              "so --shard=" +
                              specText(*request.spec) +
                              " cannot apply; drop --shard or pass the "
                              "unsharded model from llm-import");
    return mlir::failure();
  }
  std::optional<ShardSpec> wanted = request.spec;
  if (!wanted)
    wanted = defaultSpec;
  if (!wanted)
    return mlir::success();
  ShardRequest resolved = request;
  resolved.spec = wanted;
  Expected<ShardSpec> spec = resolveShardSpec(module, resolved);
  if (!spec) {
    reportToolError(tool, toString(spec.takeError()));
    return mlir::failure();
  }
  if (Error e = checkShardSpec(module, *spec, request)) {
    reportToolError(tool, toString(std::move(e)));
    return mlir::failure();
  }
  mlir::PassManager pm(module.getContext());
  buildShardingPipeline(pm, pipelineOptions(*spec, request));
  return pm.run(module);
}
