//===- llm-compile.cpp - llm dialect to a deployable CUDA binary ----------===//
//
// llm-compile in.mlir --shard=SPEC [--quantize=LIST] [--gpus=N] [--microbatches=M]
//             --target=h100|h200|a100|sm_XX -o DIR
//             [--max-batch=B] [--max-seq=S] [--max-tokens-per-step=T]
//             [--tp-reduce=fp32|bf16] [--no-build] [--nvcc=PATH]
//             [--emit=emitc] [--tokenizer=DIR]
//
// Shards the model graph for SPEC (as llm-opt does; an input that is
// already sharded is taken as is), lowers the per-rank program to C++ that
// calls the runtime, and writes DIR/src/model.cu, DIR/manifest.json and,
// unless --no-build, DIR/llm-model built by nvcc. docs/codegen.md. The
// tokenizer files of --tokenizer=DIR (or of the input's folder) are copied
// into DIR too (docs/text.md).
//
//===----------------------------------------------------------------------===//

#include "llmc/Codegen/Codegen.h"
#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Pipelines.h"
#include "llmc/Plan/Planner.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("llm-compile options");

static cl::opt<std::string> inputFile(cl::Positional, cl::init("-"),
                                      cl::desc("<input .mlir>"),
                                      cl::cat(category));
static cl::opt<std::string>
    shardSpec("shard",
              cl::desc("Sharding plan: a comma list of tpN, ppN, epN, dpN "
                       "(e.g. tp2,pp2), or auto; omit for an input that is "
                       "already sharded (default: one GPU)"),
              cl::value_desc("spec"), cl::cat(category));
static cl::opt<std::string> quantizeSpec("quantize",
                                         cl::desc(llmc::kQuantizeOptionHelp),
                                         cl::value_desc("list"),
                                         cl::cat(category));
static cl::opt<int64_t> gpus("gpus",
                             cl::desc("GPUs available (default: the product "
                                      "of the degrees)"),
                             cl::init(0), cl::cat(category));
static cl::opt<int64_t>
    microbatches("microbatches",
                 cl::desc("Pipeline micro-batches per batch (default 1)"),
                 cl::init(1), cl::cat(category));
static cl::opt<std::string>
    target("target",
           cl::desc("GPU to build for: h100, h200 (sm_90a), a100 (sm_80) or "
                    "an architecture sm_XX"),
           cl::init("h100"), cl::cat(category));
static cl::opt<std::string> outputDir("o", cl::desc("Output directory"),
                                      cl::value_desc("DIR"), cl::cat(category));
static cl::opt<int64_t>
    maxBatch("max-batch",
             cl::desc("Largest batch of prompts the binary serves (default 1)"),
             cl::init(0), cl::cat(category));
static cl::opt<int64_t>
    maxSeq("max-seq",
           cl::desc("Longest prompt + generation (default: the model's "
                    "max_position_embeddings, at most 4096)"),
           cl::init(0), cl::cat(category));
static cl::opt<int64_t> maxTokensPerStep(
    "max-tokens-per-step",
    cl::desc("Most rows of one forward call on one rank, which sizes the "
             "scratch arena (default: local batch x max-seq)"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> noBuild("no-build",
                             cl::desc("Write the sources and manifest.json "
                                      "only; do not run nvcc"),
                             cl::cat(category));
static cl::opt<std::string> nvcc("nvcc", cl::desc("nvcc to build with"),
                                 cl::value_desc("path"), cl::cat(category));
static cl::opt<std::string>
    hardware("hardware",
             cl::desc("GPU model --shard=auto plans for (default: the "
                      "--target name)"),
             cl::value_desc("name"), cl::cat(category));
static cl::opt<std::string> tpReduce(
    "tp-reduce",
    cl::desc("Precision of the all-reduce after a row-parallel linear "
             "(o_proj, down_proj under tp): fp32 (default: fp32 partial "
             "sums rounded once to bf16, as the unsharded linear) or bf16 "
             "(bf16 partials: half the bytes on the wire, two more "
             "roundings)"),
    cl::init("fp32"), cl::value_desc("fp32|bf16"), cl::cat(category));
static cl::opt<bool> explain(
    "explain",
    cl::desc("Print the decode kernel plan (which kernels each batch size "
             "uses, as manifest.json's \"decode\" records) and why"),
    cl::cat(category));
enum class Emit { Binary, EmitC };
static cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::Binary),
    cl::values(clEnumValN(Emit::Binary, "binary",
                          "sources, manifest.json and llm-model in -o DIR"),
               clEnumValN(Emit::EmitC, "emitc",
                          "print the lowered emitc module; write nothing")),
    cl::cat(category));

static cl::opt<std::string> tokenizerDir(
    "tokenizer",
    cl::desc("Copy this folder's tokenizer files into -o DIR (default: the "
             "input's folder when it holds tokenizer.json)"),
    cl::value_desc("DIR"), cl::cat(category));

static int fail(const Twine &message) {
  WithColor::error(errs(), "llm-compile") << message << "\n";
  return 1;
}

/// The files runtime/text reads at run time (docs/text.md), copied beside
/// the binary so that `llm-model --text` and `llm-model serve` need no
/// other folder. tokenizer.json is required when --tokenizer is given.
static Error copyTokenizerFiles(StringRef from, StringRef to, bool explicitDir) {
  SmallString<256> probe(from);
  sys::path::append(probe, "tokenizer.json");
  if (!sys::fs::exists(probe)) {
    if (!explicitDir)
      return Error::success();
    return createStringError("--tokenizer=" + from +
                             ": the folder has no tokenizer.json");
  }
  for (StringRef name : {"tokenizer.json", "tokenizer_config.json",
                         "generation_config.json", "chat_template.jinja"}) {
    SmallString<256> src(from), dst(to);
    sys::path::append(src, name);
    sys::path::append(dst, name);
    if (!sys::fs::exists(src))
      continue;
    if (std::error_code ec = sys::fs::copy_file(src, dst))
      return createStringError("cannot copy " + src + " to " + dst + ": " +
                               ec.message());
  }
  return Error::success();
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "llm-compile: shard an llm-dialect model, lower it to CUDA C++ and "
      "build the deployable binary\n");

  mlir::DialectRegistry registry;
  llmc::registerLlmcDialects(registry);
  registry.insert<mlir::emitc::EmitCDialect>();
  llmc::registerAutoPlanner();
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics name the op; the whole function would bury the message.
  context.printOpOnDiagnostic(false);

  std::string error;
  std::unique_ptr<MemoryBuffer> buffer = mlir::openInputFile(inputFile, &error);
  if (!buffer)
    return fail(error);
  SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), SMLoc());
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  llmc::CompileOptions options;
  bool sharded = llmc::findGrid(*module).has_value();
  if (sharded && shardSpec.getNumOccurrences())
    return fail("'" + inputFile + "' is already sharded (it has a "
                "shard.grid); drop --shard or pass the unsharded model");
  options.shard = !sharded;
  Expected<llmc::QuantizeSpec> quantize =
      llmc::parseQuantizeOption(quantizeSpec);
  if (!quantize)
    return fail(toString(quantize.takeError()));
  options.quantize = *quantize;
  options.sharding.spec = shardSpec.empty() ? std::string("tp1") : shardSpec;
  options.sharding.gpus = gpus;
  options.sharding.microbatches = microbatches;
  if (shardSpec == "auto" && hardware.empty() &&
      StringRef(target).starts_with("sm_"))
    return fail("--shard=auto plans for a GPU model, and --target=" + target +
                " names only an architecture; pass --hardware=NAME (e.g. "
                "h100) or --target=h100|h200|a100");
  options.sharding.hardware = hardware.empty() ? target.getValue() : hardware;
  options.target = target;
  options.outputDir = outputDir;
  options.maxBatch = maxBatch;
  options.maxSeq = maxSeq;
  options.maxTokensPerStep = maxTokensPerStep;
  if (tpReduce != "fp32" && tpReduce != "bf16")
    return fail("--tp-reduce must be fp32 or bf16, not '" + tpReduce + "'");
  options.tpReduce = tpReduce;
  options.build = !noBuild;
  options.nvcc = nvcc;
  if (explain)
    options.explainOutput = &outs();
  if (emit == Emit::EmitC)
    options.emitcOutput = &outs();
  else if (outputDir.empty())
    return fail("no output directory; pass -o DIR");

  if (Error e = llmc::compileModel(*module, options)) {
    int rc = 1;
    handleAllErrors(
        std::move(e), [](const llmc::DiagnosedError &) {},
        [&](const ErrorInfoBase &info) { rc = fail(info.message()); });
    return rc;
  }
  if (emit == Emit::Binary) {
    StringRef from = tokenizerDir;
    if (from.empty() && inputFile != "-")
      from = sys::path::parent_path(inputFile);
    if (from.empty() && inputFile != "-")
      from = ".";
    if (!from.empty())
      if (Error e = copyTokenizerFiles(from, outputDir,
                                       tokenizerDir.getNumOccurrences()))
        return fail(toString(std::move(e)));
  }
  return 0;
}
