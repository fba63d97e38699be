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

#include "llmc/Driver/CommandLine.h"
#include "llmc/Driver/ShardOptions.h"
#include "llmc/Driver/ToolSupport.h"
#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/Quantize.h"
#include "llmc/Plan/Hardware.h"
#include "llmc/Plan/Planner.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

using namespace llvm;

enum class Format { Text, Json };

static cl::OptionCategory planCategory("llm-plan options");
static cl::opt<std::string> inputFile(cl::Positional, cl::init("-"),
                                      cl::desc("<model.mlir from llm-import>"),
                                      cl::cat(planCategory));
static cl::opt<std::string>
    outputFile("o", cl::init("-"), cl::desc("Report file (default: stdout)"),
               cl::value_desc("file"), cl::cat(planCategory));
// --gpus, --hardware, --hardware-file, --microbatches, --quantize.
static llmc::ShardingCommandLine
    sharding(planCategory, llmc::ShardingCommandLine::Kind::Plan);
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
  return llmc::reportToolError("llm-plan", message);
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  llmc::parseToolCommandLine(argc, argv,
                             "llm-plan: rank the sharding plans of a model "
                             "for N GPUs\n",
                             {&planCategory});

  Expected<llmc::ShardRequest> request = sharding.request();
  if (!request)
    return fail(toString(request.takeError()));
  Expected<llmc::HardwareDatabase> database = llmc::loadHardware(*request);
  if (!database)
    return fail(toString(database.takeError()));
  if (listHardware) {
    for (const llmc::HardwareSpec &hw : database->entries())
      outs() << hw.name << ": " << hw.description << "\n";
    return 0;
  }
  int64_t gpus = request->gpus;
  if (gpus < 1)
    return fail("--gpus must be >= 1, got " + Twine(gpus));
  if (request->hardware.empty())
    return fail("--hardware=NAME is required; known hardware: " +
                database->knownNames());
  Expected<llmc::HardwareSpec> hardware = database->lookup(request->hardware);
  if (!hardware)
    return fail(toString(hardware.takeError()));

  mlir::DialectRegistry registry;
  llmc::registerLlmcDialects(registry);
  mlir::MLIRContext context(registry);
  std::unique_ptr<llmc::InputModule> module =
      llmc::InputModule::parse("llm-plan", inputFile, context);
  if (!module)
    return 1;
  if (failed(llmc::quantizeModule(module->get(), request->quantize)))
    return 1;

  llmc::PlannerOptions options;
  options.gpus = gpus;
  options.nodes = nodes;
  // The default prompt shrinks to fit a model with few positions; given
  // lengths are planned as given (and refused beyond the model's).
  options.workload = llmc::defaultWorkload(module->get());
  options.workload.batch = batch;
  if (seqLen.getNumOccurrences())
    options.workload.seqLen = seqLen;
  if (outputLen.getNumOccurrences())
    options.workload.outputLen = outputLen;
  options.microbatches = request->microbatches;
  options.objective = objective;
  options.exhaustive = exhaustive;
  if (!detailSpec.empty()) {
    Expected<llmc::ShardSpec> wanted = llmc::parseShardSpec(detailSpec);
    if (!wanted)
      return fail(toString(wanted.takeError()));
    options.alsoShard = *wanted;
  }
  Expected<llmc::PlanResult> result =
      llmc::planSharding(module->get(), *hardware, options);
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
                  wanted->str() + "' for " + Twine(gpus) + " GPUs" +
                  (detail ? " (the sharding pipeline refused it: " +
                                detail->reason + ")"
                          : ""));
  }
  // The report first (also when nothing fits), then any error after it.
  if (Error e = llmc::writeOutputFile(outputFile, [&](raw_ostream &os) {
        if (reportFormat == Format::Json)
          llmc::printPlanJson(*result, os);
        else
          llmc::printPlanText(*result, os, detail);
        os.flush();
        return Error::success();
      }))
    return fail(toString(std::move(e)));

  const llmc::PlanCandidate *best = result->best();
  if (!best)
    return fail(llmc::summarizeNoFit(*result));
  if (!svgFile.empty())
    if (Error e = llmc::writeOutputFile(svgFile, [&](raw_ostream &os) {
          llmc::writePlanSvg(*result, *best, os);
          return Error::success();
        }))
      return fail(toString(std::move(e)));
  return 0;
}
