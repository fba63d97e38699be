//===- llm-run.cpp - CPU reference executor of llm IR ---------------------===//
//
// llm-run in.mlir [--quantize=LIST] [--shard=SPEC] [--gpus=N] [--microbatches=M]
//         [--shard=auto --gpus=N --hardware=NAME [--hardware-file=FILE]]
//         --weights=DIR|random[:SEED] --prompt=IDS --max-new-tokens=N
//         (or --tokenizer=DIR --text=TEXT | --chat=JSON|@FILE [--temperature=T])
// llm-run serve in.mlir --weights=... [--tokenizer=DIR] [serve flags]
//         [--check] [--tolerance=1e-4] [--print-logits] [--no-cache]
//         [--rank-stats] [--seed=S] [--memory-limit=BYTES]
//
// Runs the model in fp32 on the CPU, every rank of the plan as a thread, and
// prints one `tokens: ...` line per prompt. --quantize runs llm-quantize
// first (FP8 rounds exactly as the GPU does, docs/quantization.md), so
// --check compares the sharded FP8 program with the unsharded FP8 program.
// With --shard the module is first
// sharded by the same pipeline as llm-opt (--shard=auto: the planner's plan;
// an already sharded module runs as is, and refuses a --shard); --check also
// runs the unsharded module and compares the logits of every step
// (`max_abs_diff=... max_rel_diff=...`, `tokens_match=yes|no`), exiting 1 past
// tolerance. --no-cache recomputes the whole sequence at every step;
// --rank-stats prints what each rank loaded and cached. A run whose fp32
// weights and KV caches would not fit in memory (the machine's, or
// --memory-limit) is refused before anything is loaded.
//
//===----------------------------------------------------------------------===//

#include "Serve.h"
#include "TextGeneration.h"

#include "llmc/Driver/CommandLine.h"
#include "llmc/Driver/ShardOptions.h"
#include "llmc/Driver/ToolSupport.h"
#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/Quantize.h"
#include "llmc/Reference/Executor.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace llvm;

static cl::OptionCategory runCategory("llm-run options");
static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<input .mlir>"),
                                      cl::cat(runCategory));
// --shard, --gpus, --microbatches, --hardware, --hardware-file, --quantize.
static llmc::ShardingCommandLine sharding(runCategory);
static cl::opt<std::string>
    weightsSpec("weights", cl::Required,
                cl::desc("A checkpoint folder, or random[:SEED] for "
                         "deterministic random weights"),
                cl::value_desc("DIR|random[:SEED]"), cl::cat(runCategory));
static cl::opt<std::string>
    promptText("prompt",
               cl::desc("Token ids, comma-separated; ';' separates the "
                        "prompts of a batch (e.g. '1,2,3;4,5,6')"),
               cl::value_desc("ids"), cl::cat(runCategory));
static cl::opt<int64_t> maxNewTokens("max-new-tokens",
                                     cl::desc("Tokens to generate per prompt"),
                                     cl::init(1), cl::cat(runCategory));
static cl::opt<bool>
    check("check",
          cl::desc("Also run the unsharded module and compare the "
                   "logits of every step"),
          cl::cat(runCategory));
static cl::opt<double>
    tolerance("tolerance",
              cl::desc("--check: largest max|a-b| / max|ref| accepted"),
              cl::init(1e-4), cl::cat(runCategory));
static cl::opt<bool> printLogits("print-logits",
                                 cl::desc("Print the logits of every step"),
                                 cl::cat(runCategory));
static cl::opt<bool>
    noCache("no-cache",
            cl::desc("Recompute the whole sequence at every step with an "
                     "empty KV cache (to check the cache)"),
            cl::cat(runCategory));
static cl::opt<bool>
    printStats("rank-stats",
               cl::desc("Print each rank's loaded weights count and "
                        "KV cache slots"),
               cl::cat(runCategory));
static cl::opt<uint64_t> sampleSeed("seed",
                                    cl::desc("Seed of llm.sample (each step "
                                             "draws from a hash of seed and "
                                             "step)"),
                                    cl::init(0), cl::cat(runCategory));

static cl::opt<std::string> memoryLimit(
    "memory-limit",
    cl::desc("Refuse runs whose weights and KV caches (fp32, all ranks) need "
             "more than this many bytes; K, M, G, T suffixes are powers of "
             "1024 (default: the machine's physical memory)"),
    cl::value_desc("bytes"), cl::cat(runCategory));

static int fail(const Twine &message) {
  return llmc::reportToolError("llm-run", message);
}

/// "512M", "2G", "1048576" -> bytes; nullopt for anything else.
static std::optional<uint64_t> parseBytes(StringRef text) {
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (toUpper(text.back())) {
    case 'K':
      scale = uint64_t(1) << 10;
      break;
    case 'M':
      scale = uint64_t(1) << 20;
      break;
    case 'G':
      scale = uint64_t(1) << 30;
      break;
    case 'T':
      scale = uint64_t(1) << 40;
      break;
    }
    if (scale != 1)
      text = text.drop_back();
  }
  uint64_t value;
  if (text.empty() || !llvm::all_of(text, isDigit) ||
      text.getAsInteger(10, value) || value == 0 || value > UINT64_MAX / scale)
    return std::nullopt;
  return value * scale;
}

static void printTokens(const llmc::ref::GenerateResult &result) {
  for (const std::vector<int64_t> &row : result.tokens) {
    outs() << "tokens:";
    for (int64_t id : row)
      outs() << " " << id;
    outs() << "\n";
  }
}

static void printLogitValues(const llmc::ref::GenerateResult &result,
                             StringRef label) {
  for (auto [step, logits] : llvm::enumerate(result.logits)) {
    int64_t batch = logits.dim(0);
    int64_t perRow = logits.numElements() / batch;
    for (int64_t b = 0; b < batch; ++b) {
      outs() << label << "logits step=" << step << " prompt=" << b << ":";
      for (int64_t i = 0; i < perRow; ++i)
        outs() << " " << format("%.6g", logits.data[b * perRow + i]);
      outs() << "\n";
    }
  }
}

static void printRankStats(const llmc::ref::GenerateResult &result) {
  for (const llmc::ref::RankStats &r : result.ranks) {
    outs() << "rank " << r.rank << " (";
    for (auto [i, c] : llvm::enumerate(r.coordinates))
      outs() << (i ? "," : "")
             << (i < result.gridAxes.size() ? result.gridAxes[i]
                                            : "axis" + std::to_string(i))
             << "=" << c;
    outs() << "): " << r.loadedWeights.size() << " weights, kv slots [";
    for (auto [i, s] : llvm::enumerate(r.cacheSlots))
      outs() << (i ? ", " : "") << s;
    outs() << "]\n";
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && StringRef(argv[1]) == "serve")
    return llmc::runServe(argc, argv);
  InitLLVM init(argc, argv);
  llmc::parseToolCommandLine(argc, argv,
                             "llm-run: CPU reference executor of llm IR\n",
                             {&runCategory, &llmc::textOptionCategory()});

  Expected<llmc::ShardRequest> request = sharding.request();
  if (!request)
    return fail(toString(request.takeError()));
  if (!(tolerance >= 0.0))
    return fail("--tolerance must be >= 0");
  std::optional<uint64_t> memoryLimitBytes;
  if (memoryLimit.getNumOccurrences() &&
      !(memoryLimitBytes = parseBytes(memoryLimit)))
    return fail("--memory-limit must be a positive byte count with an "
                "optional K, M, G or T suffix, got '" +
                memoryLimit + "'");

  bool text = llmc::textRequested();
  if (text == bool(promptText.getNumOccurrences()))
    return fail(text ? "--prompt excludes --text and --chat"
                     : "give the prompt as --prompt=IDS, --text or --chat");
  if (text && check)
    return fail("--check compares token ids; use --prompt=IDS");
  Expected<std::vector<std::vector<int64_t>>> prompts =
      llmc::ref::parsePrompts(text ? std::string("0") : promptText.getValue());
  if (!prompts)
    return fail(toString(prompts.takeError()));

  mlir::DialectRegistry registry;
  llmc::registerLlmcDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::unique_ptr<llmc::InputModule> module =
      llmc::InputModule::parse("llm-run", inputFile, context);
  if (!module)
    return 1;

  if (check && llmc::findGrid(module->get()))
    return fail("--check needs an unsharded input with --shard; " + inputFile +
                " is already sharded (it has a shard.grid)");
  // Quantize before the clone: --check compares FP8 with FP8.
  if (failed(llmc::quantizeModule(module->get(), request->quantize)))
    return 1;
  mlir::OwningOpRef<mlir::ModuleOp> reference;
  if (check)
    reference = module->get().clone();
  if (failed(llmc::shardModule("llm-run", inputFile, module->get(), *request)))
    return 1;

  Expected<llmc::ref::WeightSource> weights =
      llmc::ref::WeightSource::parse(weightsSpec);
  if (!weights)
    return fail(toString(weights.takeError()));

  if (text)
    return llmc::runTextGeneration(
        module->get(), *weights, weightsSpec,
        maxNewTokens.getNumOccurrences() ? int64_t(maxNewTokens) : 0,
        sampleSeed, memoryLimitBytes.value_or(0));

  llmc::ref::GenerateOptions options;
  options.prompts = *prompts;
  options.maxNewTokens = maxNewTokens;
  options.useCache = !noCache;
  options.sampleSeed = sampleSeed;
  options.memoryLimit = memoryLimitBytes.value_or(0);

  Expected<llmc::ref::GenerateResult> result =
      llmc::ref::generate(module->get(), *weights, options);
  if (!result)
    return fail(toString(result.takeError()));
  printTokens(*result);
  if (printLogits)
    printLogitValues(*result, "");
  if (printStats)
    printRankStats(*result);
  if (!check)
    return 0;

  Expected<llmc::ref::GenerateResult> expected =
      llmc::ref::generate(*reference, *weights, options);
  if (!expected)
    return fail("--check: the unsharded run failed: " +
                toString(expected.takeError()));
  if (printLogits)
    printLogitValues(*expected, "reference ");
  double maxAbs = 0.0, maxRef = 0.0;
  for (auto [step, pair] :
       llvm::enumerate(llvm::zip(result->logits, expected->logits))) {
    const auto &[got, want] = pair;
    if (got.shape != want.shape)
      return fail("--check: step " + Twine(step) + " logits are " +
                  llmc::ref::shapeString(got.shape) +
                  " but the unsharded run's are " +
                  llmc::ref::shapeString(want.shape));
    for (size_t i = 0; i < got.data.size(); ++i) {
      double diff = std::fabs(double(got.data[i]) - double(want.data[i]));
      // A NaN anywhere must fail the check, not vanish in max().
      if (std::isnan(diff))
        diff = INFINITY;
      maxAbs = std::max(maxAbs, diff);
      maxRef = std::max(maxRef, std::fabs(double(want.data[i])));
    }
  }
  double maxRel =
      maxRef > 0.0 ? maxAbs / maxRef : (maxAbs > 0.0 ? INFINITY : 0.0);
  bool tokensMatch = result->tokens == expected->tokens;
  outs() << "max_abs_diff=" << format("%g", maxAbs)
         << " max_rel_diff=" << format("%g", maxRel) << "\n";
  outs() << "tokens_match=" << (tokensMatch ? "yes" : "no") << "\n";
  if (!tokensMatch) {
    outs() << "reference ";
    printTokens(*expected);
  }
  return maxRel <= tolerance && tokensMatch ? 0 : 1;
}
