//===- llm-compile.cpp - llm dialect to a deployable CUDA binary ----------===//
//
// llm-compile in.mlir --shard=SPEC [--quantize=LIST] [--gpus=N]
// [--microbatches=M]
//             [--shard=auto --gpus=N [--hardware=NAME] [--hardware-file=FILE]]
//             --target=h100|h200|a100|sm_XX -o DIR
//             [--max-batch=B] [--max-seq=S] [--max-tokens-per-step=T]
//             [--tp-reduce=fp32|bf16] [--no-build] [--nvcc=PATH]
//             [--emit=emitc] [--tokenizer=DIR]
//
// Quantizes and shards the model graph for SPEC (as llm-opt does; without
// --shard, for one GPU; an input that is already sharded is taken as is),
// lowers the per-rank program to C++ that calls the runtime, and writes
// DIR/src/model.cu, DIR/manifest.json and, unless --no-build, DIR/llm-model
// built by nvcc. docs/codegen.md. The
// tokenizer files of --tokenizer=DIR (or of the input's folder) are copied
// into DIR too (docs/text.md).
//
//===----------------------------------------------------------------------===//

#include "llmc/Codegen/Codegen.h"
#include "llmc/Driver/CommandLine.h"
#include "llmc/Driver/ShardOptions.h"
#include "llmc/Driver/ToolSupport.h"
#include "llmc/Passes/Pipelines.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("llm-compile options");

static cl::opt<std::string> inputFile(cl::Positional, cl::init("-"),
                                      cl::desc("<input .mlir>"),
                                      cl::cat(category));
// --shard (default: one GPU), --gpus, --microbatches, --hardware (default:
// the --target name), --hardware-file, --quantize.
static llmc::ShardingCommandLine sharding(category);
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
static cl::opt<std::string> tpReduce(
    "tp-reduce",
    cl::desc("Precision of the all-reduce after a row-parallel linear "
             "(o_proj, down_proj under tp): fp32 (default: fp32 partial "
             "sums rounded once to bf16, as the unsharded linear) or bf16 "
             "(bf16 partials: half the bytes on the wire, two more "
             "roundings)"),
    cl::init("fp32"), cl::value_desc("fp32|bf16"), cl::cat(category));
static cl::opt<bool> qkvViews(
    "qkv-views",
    cl::desc("Write q, k and v (bf16, no bias, read only by attention) as "
             "column views of one buffer with one GEMM (default); "
             "--qkv-views=false: their own buffers, the GEMM into scratch "
             "and a split kernel"),
    cl::init(true), cl::cat(category));
static cl::opt<std::string> residual(
    "residual",
    cl::desc("Precision of the residual stream (the sums between decoder "
             "sublayers): bf16 (default: rounded at every add, as "
             "transformers in bf16) or fp32 (unrounded; the norms read the "
             "fp32 sums; plans without pipeline stages)"),
    cl::init("bf16"), cl::value_desc("bf16|fp32"), cl::cat(category));
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
  return llmc::reportToolError("llm-compile", message);
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
  llmc::parseToolCommandLine(
      argc, argv,
      "llm-compile: shard an llm-dialect model, lower it to CUDA C++ and "
      "build the deployable binary\n",
      {&category});

  Expected<llmc::ShardRequest> request = sharding.request();
  if (!request)
    return fail(toString(request.takeError()));
  if (request->isAuto() && request->hardware.empty()) {
    if (StringRef(target).starts_with("sm_"))
      return fail("--shard=auto plans for a GPU model, and --target=" + target +
                  " names only an architecture; pass --hardware=NAME (e.g. "
                  "h100) or --target=h100|h200|a100");
    request->hardware = target;
  }
  if (tpReduce != "fp32" && tpReduce != "bf16")
    return fail("--tp-reduce must be fp32 or bf16, not '" + tpReduce + "'");
  if (residual != "fp32" && residual != "bf16")
    return fail("--residual must be fp32 or bf16, not '" + residual + "'");
  // Absent limits are 0 (defaults); given ones must be real sizes. The caps
  // keep the products that size the KV cache and the arena inside 64 bits;
  // what fits a GPU is checked once the plan is known.
  struct Limit {
    const cl::opt<int64_t> &option;
    int64_t most;
  };
  for (const Limit &limit :
       {Limit{maxBatch, int64_t(1) << 20}, Limit{maxSeq, int64_t(1) << 24},
        Limit{maxTokensPerStep, int64_t(1) << 32}})
    if (limit.option.getNumOccurrences() &&
        (limit.option < 1 || limit.option > limit.most))
      return fail("--" + limit.option.ArgStr + " must be between 1 and " +
                  Twine(limit.most) + ", got " + Twine(limit.option));
  if (emit != Emit::EmitC && outputDir.empty())
    return fail("no output directory; pass -o DIR");

  mlir::DialectRegistry registry;
  llmc::registerLlmcDialects(registry);
  registry.insert<mlir::emitc::EmitCDialect>();
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics name the op; the whole function would bury the message.
  context.printOpOnDiagnostic(false);
  std::unique_ptr<llmc::InputModule> module =
      llmc::InputModule::parse("llm-compile", inputFile, context);
  if (!module)
    return 1;
  if (failed(llmc::quantizeModule(module->get(), request->quantize)) ||
      failed(llmc::shardModule("llm-compile", inputFile, module->get(),
                               *request, llmc::ShardSpec())))
    return 1;

  llmc::CompileOptions options;
  options.target = target;
  options.outputDir = outputDir;
  options.maxBatch = maxBatch;
  options.maxSeq = maxSeq;
  options.maxTokensPerStep = maxTokensPerStep;
  options.tpReduce = tpReduce;
  options.qkvViews = qkvViews;
  options.residual = residual;
  options.build = !noBuild;
  options.nvcc = nvcc;
  if (explain)
    options.explainOutput = &outs();
  if (emit == Emit::EmitC)
    options.emitcOutput = &outs();

  if (Error e = llmc::compileModel(module->get(), options)) {
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
