//===- llm-plan.cpp - rank the sharding plans of a model ------------------===//
//
//   llm-plan model.mlir --gpus=N --hardware=NAME [--nodes=K] [--batch=B]
//            [--seq-len=S] [--output-len=O] [--microbatches=M]
//            [--objective=latency|throughput] [--format=text|json]
//            [--svg=FILE] [--detail=SPEC] [--hardware-file=FILE]
//            [--quantize=LIST] [--exhaustive] [-o FILE]
//
// Ranks every combination of tp, pp, ep, sp and dp whose product is N for
// the model (from llm-import; quantized first with --quantize): the rules
// refuse what they can, an analytic estimate ranks the rest, and the best
// few are sharded and priced by the cost model (--exhaustive shards all).
// Prints the ranked plans and why the others were rejected. Exits 1 when
// nothing fits. docs/planner.md explains the formulas and the report.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/Quantize.h"
#include "llmc/Plan/Hardware.h"
#include "llmc/Plan/Planner.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;

enum class Format { Text, Json };

static cl::OptionCategory planCategory("llm-plan options");
static cl::opt<std::string> inputFile(cl::Positional, cl::init("-"),
                                      cl::desc("<model.mlir from llm-import>"),
                                      cl::cat(planCategory));
static cl::opt<std::string>
    outputFile("o", cl::init("-"), cl::desc("Report file (default: stdout)"),
               cl::value_desc("file"), cl::cat(planCategory));
static cl::opt<int64_t> gpus("gpus", cl::desc("GPUs to plan for (required)"),
                             cl::init(0), cl::cat(planCategory));
static cl::opt<std::string>
    hardwareName("hardware",
                 cl::desc("GPU model, e.g. h100-sxm, h200, a100-80g "
                          "(--list-hardware shows all)"),
                 cl::value_desc("name"), cl::cat(planCategory));
static cl::opt<std::string>
    hardwareFile("hardware-file",
                 cl::desc("JSON file adding or overriding hardware entries "
                          "(format of lib/plan/hardware.json)"),
                 cl::value_desc("file"), cl::cat(planCategory));
static cl::opt<bool> listHardware("list-hardware",
                                  cl::desc("Print the known hardware and exit"),
                                  cl::cat(planCategory));
static cl::opt<int64_t> nodes("nodes",
                              cl::desc("Nodes the GPUs sit on (default: full "
                                       "nodes of the hardware's size)"),
                              cl::init(0), cl::cat(planCategory));
static cl::opt<int64_t> batch("batch",
                              cl::desc("Concurrent sequences (default 1)"),
                              cl::init(1), cl::cat(planCategory));
static cl::opt<int64_t> seqLen("seq-len",
                               cl::desc("Prompt tokens per sequence (default "
                                        "2048)"),
                               cl::init(2048), cl::cat(planCategory));
static cl::opt<int64_t> outputLen("output-len",
                                  cl::desc("Generated tokens per sequence "
                                           "(default 256)"),
                                  cl::init(256), cl::cat(planCategory));
static cl::opt<int64_t>
    microbatches("microbatches",
                 cl::desc("Pipeline micro-batches per batch (default 1)"),
                 cl::init(1), cl::cat(planCategory));
static cl::opt<llmc::Objective> objective(
    "objective", cl::desc("What to rank plans by"),
    cl::values(clEnumValN(llmc::Objective::Latency, "latency",
                          "shortest request (prefill + decode), default"),
               clEnumValN(llmc::Objective::Throughput, "throughput",
                          "most generated tokens per second")),
    cl::init(llmc::Objective::Latency), cl::cat(planCategory));
static cl::opt<Format>
    reportFormat("format", cl::desc("Report format"),
                 cl::values(clEnumValN(Format::Text, "text", "table (default)"),
                            clEnumValN(Format::Json, "json", "JSON")),
                 cl::init(Format::Text), cl::cat(planCategory));
static cl::opt<std::string>
    detailSpec("detail",
               cl::desc("Break down this plan (e.g. tp4,pp2) instead of the "
                        "best one in the text report"),
               cl::value_desc("spec"), cl::cat(planCategory));
static cl::opt<std::string> quantizeSpec("quantize",
                                         cl::desc(llmc::kQuantizeOptionHelp),
                                         cl::value_desc("list"),
                                         cl::cat(planCategory));
static cl::opt<bool>
    exhaustive("exhaustive",
               cl::desc("Shard and price every candidate instead of only the "
                        "best few by the analytic estimate (slow on large "
                        "models and clusters)"),
               cl::cat(planCategory));
static cl::opt<std::string> svgFile("svg",
                                    cl::desc("Draw the best plan's grid and "
                                             "stages as SVG into this file"),
                                    cl::value_desc("file"),
                                    cl::cat(planCategory));

static int fail(const Twine &message) {
  WithColor::error(errs(), "llm-plan") << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(planCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "llm-plan: rank the sharding plans of a model "
                              "for N GPUs\n");

  llmc::HardwareDatabase database = llmc::HardwareDatabase::builtin();
  if (!hardwareFile.empty())
    if (Error e = database.addFile(hardwareFile))
      return fail(toString(std::move(e)));
  if (listHardware) {
    for (const llmc::HardwareSpec &hw : database.entries())
      outs() << hw.name << ": " << hw.description << "\n";
    return 0;
  }
  if (gpus < 1)
    return fail("--gpus must be >= 1, got " + Twine(gpus.getValue()));
  if (hardwareName.empty())
    return fail("--hardware=NAME is required; known hardware: " +
                database.knownNames());
  Expected<llmc::HardwareSpec> hardware = database.lookup(hardwareName);
  if (!hardware)
    return fail(toString(hardware.takeError()));

  Expected<llmc::QuantizeSpec> quantize =
      llmc::parseQuantizeOption(quantizeSpec);
  if (!quantize)
    return fail(toString(quantize.takeError()));

  mlir::DialectRegistry registry;
  llmc::registerLlmcDialects(registry);
  mlir::MLIRContext context(registry);
  std::string error;
  std::unique_ptr<MemoryBuffer> input = mlir::openInputFile(inputFile, &error);
  if (!input)
    return fail(error);
  SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), SMLoc());
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  if (failed(llmc::quantizeModule(*module, *quantize)))
    return 1;

  llmc::PlannerOptions options;
  options.gpus = gpus;
  options.nodes = nodes;
  // The default prompt shrinks to fit a model with few positions; given
  // lengths are planned as given (and refused beyond the model's).
  options.workload = llmc::defaultWorkload(*module);
  options.workload.batch = batch;
  if (seqLen.getNumOccurrences())
    options.workload.seqLen = seqLen;
  if (outputLen.getNumOccurrences())
    options.workload.outputLen = outputLen;
  options.microbatches = microbatches;
  options.objective = objective;
  options.exhaustive = exhaustive;
  if (!detailSpec.empty()) {
    Expected<llmc::ShardSpec> wanted = llmc::parseShardSpec(detailSpec);
    if (!wanted)
      return fail(toString(wanted.takeError()));
    options.alsoShard = *wanted;
  }
  Expected<llmc::PlanResult> result =
      llmc::planSharding(*module, *hardware, options);
  if (!result)
    return fail(toString(result.takeError()));

  const llmc::PlanCandidate *detail = nullptr;
  if (!detailSpec.empty()) {
    Expected<llmc::ShardSpec> wanted = llmc::parseShardSpec(detailSpec);
    if (!wanted)
      return fail(toString(wanted.takeError()));
    for (const llmc::PlanCandidate &plan : result->plans)
      if (plan.spec.str() == wanted->str())
        detail = &plan;
    if (!detail || !detail->cost)
      return fail("--detail=" + detailSpec + ": no analysed plan '" +
                  wanted->str() + "' for " + Twine(gpus.getValue()) + " GPUs" +
                  (detail ? " (the sharding pipeline refused it: " +
                                detail->reason + ")"
                          : ""));
  }
  std::unique_ptr<ToolOutputFile> output =
      mlir::openOutputFile(outputFile, &error);
  if (!output)
    return fail(error);
  if (reportFormat == Format::Json)
    llmc::printPlanJson(*result, output->os());
  else
    llmc::printPlanText(*result, output->os(), detail);
  output->keep();
  // The report first, then any error after it.
  output->os().flush();

  const llmc::PlanCandidate *best = result->best();
  if (!best)
    return fail(llmc::summarizeNoFit(*result));
  if (!svgFile.empty()) {
    std::unique_ptr<ToolOutputFile> svg = mlir::openOutputFile(svgFile, &error);
    if (!svg)
      return fail(error);
    llmc::writePlanSvg(*result, *best, svg->os());
    svg->keep();
  }
  return 0;
}
