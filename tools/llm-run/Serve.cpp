//===- Serve.cpp - llm-run serve: the reference executor as a server ------===//
//
// llm-run serve in.mlir --weights=DIR|random[:SEED] [--tokenizer=DIR]
//         [--shard=SPEC] [--gpus=N] [--microbatches=M] [--quantize=LIST]
//         [--num-kv-blocks=N] [--memory-limit=BYTES] [serve flags]
//
// The HTTP server, engine, scheduler and paged KV block pool of
// runtime/serve (the same as `llm-model serve`, docs/serving.md) in front
// of ReferenceModelStep: every rank of the (sharded) plan runs in process
// on the CPU in fp32, its KV cache addressed through the scheduler's block
// tables, and tokens are sampled with the per-request seed exactly as the
// GPU samples them. The flags, the input file and the tokenizer folder are
// checked first; then the server listens before the model is loaded
// (/health answers 503 until then), prints "llmc serve: listening on
// http://HOST:PORT" and "llmc serve: ready", and drains on SIGTERM.
//
//===----------------------------------------------------------------------===//

#include "Serve.h"

#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/Quantize.h"
#include "llmc/Driver/ShardOptions.h"
#include "llmc/Passes/Grid.h"
#include "llmc/Passes/ShardSpec.h"
#include "llmc/Reference/ServeStep.h"

#include "llmc/Dialect/Dist/DistDialect.h"
#include "llmc/Dialect/Llm/LlmDialect.h"

#include "runtime/serve/ServeMain.h"
#include "runtime/serve/ServeOptions.h"
#include "runtime/serve/TokenizerCodec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"


using namespace llvm;
namespace serve = llmc::serve;
namespace rt = llmc::rt;

namespace {

cl::SubCommand serveCommand("serve",
                            "Serve the model over an OpenAI-compatible HTTP "
                            "API (docs/serving.md)");
cl::opt<std::string> input(cl::Positional, cl::Required,
                           cl::desc("<input .mlir>"), cl::sub(serveCommand));
cl::opt<std::string>
    weightsSpec("weights", cl::Required, cl::sub(serveCommand),
                cl::desc("A checkpoint folder, or random[:SEED]"),
                cl::value_desc("DIR|random[:SEED]"));
cl::opt<std::string>
    tokenizerDir("tokenizer", cl::sub(serveCommand),
                 cl::desc("Folder of tokenizer.json, tokenizer_config.json "
                          "and generation_config.json (default: --weights "
                          "when it is a folder)"),
                 cl::value_desc("DIR"));
cl::opt<std::string> shardSpec("shard", cl::sub(serveCommand),
                               cl::desc("Shard the module first (tpN, ppN, "
                                        "epN, spN, dpN; e.g. tp2,dp2)"),
                               cl::value_desc("spec"));
cl::opt<int64_t> gpus("gpus", cl::sub(serveCommand), cl::init(0),
                      cl::desc("GPUs the plan may use (default: the product "
                               "of the degrees)"));
cl::opt<int64_t> microbatches("microbatches", cl::sub(serveCommand),
                              cl::init(1),
                              cl::desc("Pipeline micro-batches (default 1)"));
cl::opt<std::string> quantizeSpec("quantize", cl::sub(serveCommand),
                                  cl::desc("Quantize before sharding, as llm-run "
                                           "--quantize (docs/quantization.md)"),
                                  cl::value_desc("list"));
cl::opt<int64_t>
    numKvBlocks("num-kv-blocks", cl::sub(serveCommand), cl::init(0),
                cl::desc("KV blocks per batch replica (default: 16 "
                         "sequences of --max-model-len)"));
cl::opt<uint64_t>
    memoryLimit("memory-limit", cl::sub(serveCommand), cl::init(0),
                cl::desc("Refuse to start when the fp32 weights and KV "
                         "caches of all ranks need more bytes (default: the "
                         "machine's memory)"));

int fail(const Twine &message) {
  WithColor::error(errs(), "llm-run serve") << message << "\n";
  return 1;
}

/// Everything the server serves, built on the loader thread.
struct Loaded {
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<llmc::ref::WeightSource> weights;
  std::unique_ptr<serve::TokenizerCodec> codec;
  std::unique_ptr<llmc::ref::ReferenceModelStep> model;
  std::unique_ptr<serve::Engine> engine;
  std::string name;
};

/// What the flags say before anything is loaded: checked before the
/// server binds its port, so a wrong flag, a missing input file or a
/// missing tokenizer is the command's one error line, without a
/// "listening on" line before it.
struct Inputs {
  llmc::ShardRequest request;
  llmc::ref::WeightSource weights;
  std::string textDir;
};

Expected<Inputs> checkInputs() {
  llmc::ShardRequest request;
  request.gpus = gpus;
  request.microbatches = microbatches;
  if (quantizeSpec.getNumOccurrences()) {
    Expected<llmc::QuantizeSpec> quantize =
        llmc::parseQuantizeSpec(quantizeSpec);
    if (!quantize)
      return quantize.takeError();
    request.quantize = *quantize;
  }
  if (shardSpec.getNumOccurrences()) {
    Expected<llmc::ShardSpec> parsed = llmc::parseShardSpec(shardSpec);
    if (!parsed)
      return parsed.takeError();
    request.spec = *parsed;
  }
  // Only a missing file here; any other read error comes from the load,
  // with the reader's own message.
  if (input != "-" && !sys::fs::exists(input.getValue()))
    return createStringError(inconvertibleErrorCode(),
                             "cannot open input file '" + input +
                                 "': no such file");
  Expected<llmc::ref::WeightSource> weights =
      llmc::ref::WeightSource::parse(weightsSpec);
  if (!weights)
    return weights.takeError();
  std::string textDir = tokenizerDir;
  if (textDir.empty() && sys::fs::is_directory(weightsSpec.getValue()))
    textDir = weightsSpec;
  if (textDir.empty())
    return createStringError(inconvertibleErrorCode(),
                             "--tokenizer=DIR is required with "
                             "--weights=" +
                                 weightsSpec +
                                 " (the server turns text into tokens)");
  return Inputs{request, *weights, textDir};
}

/// Parses, quantizes and shards the module, loads the tokenizer and builds
/// the model step and the engine; the message names what failed.
Expected<std::unique_ptr<Loaded>> load(const serve::ServeOptions &options,
                                       const Inputs &inputs) {
  auto loaded = std::make_unique<Loaded>();
  const llmc::ShardRequest &request = inputs.request;

  mlir::DialectRegistry registry;
  registry.insert<llmc::llm::LlmDialect, llmc::dist::DistDialect,
                  mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::tensor::TensorDialect, mlir::shard::ShardDialect>();
  llmc::registerLlmcDialects(registry);
  loaded->context = std::make_unique<mlir::MLIRContext>(registry);
  mlir::MLIRContext &context = *loaded->context;
  context.loadAllAvailableDialects();

  std::string error;
  std::unique_ptr<MemoryBuffer> buffer = mlir::openInputFile(input, &error);
  if (!buffer)
    return createStringError(inconvertibleErrorCode(), error);
  SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), SMLoc());
  std::string diagnostics;
  {
    raw_string_ostream os(diagnostics);
    mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, os);
    loaded->module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
    if (!loaded->module)
      return createStringError(inconvertibleErrorCode(),
                               StringRef(diagnostics).trim());
    mlir::ModuleOp module = *loaded->module;
    if (failed(llmc::quantizeModule(module, request.quantize)))
      return createStringError(inconvertibleErrorCode(),
                               "--quantize failed: " +
                                   StringRef(diagnostics).trim());
    // The driver's rules (resolveShardSpec, checkShardSpec), with the
    // refusal returned as this command's one error line.
    if (request.spec) {
      if (llmc::findGrid(module))
        return createStringError(inconvertibleErrorCode(),
                                 "--shard=" + shardSpec + ": " + input +
                                     " is already sharded; serve the "
                                     "unsharded model with --shard");
      Expected<llmc::ShardSpec> resolved =
          llmc::resolveShardSpec(module, request);
      if (!resolved)
        return createStringError(inconvertibleErrorCode(),
                                 "--shard=" + shardSpec + ": " +
                                     toString(resolved.takeError()));
      if (Error refused = llmc::checkShardSpec(module, *resolved, request))
        return createStringError(inconvertibleErrorCode(),
                                 "--shard=" + shardSpec + ": " +
                                     toString(std::move(refused)));
      mlir::PassManager pm(&context);
      llmc::buildShardingPipeline(pm,
                                  llmc::pipelineOptions(*resolved, request));
      if (failed(pm.run(module)))
        return createStringError(inconvertibleErrorCode(),
                                 "--shard=" + shardSpec + ": " +
                                     StringRef(diagnostics).trim());
    }
  }
  mlir::ModuleOp module = *loaded->module;

  loaded->weights = std::make_unique<llmc::ref::WeightSource>(inputs.weights);
  const std::string &textDir = inputs.textDir;
  rt::Expected<std::unique_ptr<serve::TokenizerCodec>> codec =
      serve::TokenizerCodec::fromDirectory(textDir);
  if (!codec)
    return createStringError(inconvertibleErrorCode(),
                             "--tokenizer=" + textDir + ": " +
                                 codec.status().message());
  loaded->codec = std::move(*codec);

  serve::ModelFacts facts;
  facts.name = options.servedModelName.empty()
                   ? sys::path::stem(input).str()
                   : options.servedModelName;
  facts.blockSize = options.blockSize;
  auto maxPos =
      module->getAttrOfType<mlir::IntegerAttr>("llm.max_position_embeddings");
  facts.maxModelLen = options.maxModelLen.value_or(maxPos ? maxPos.getInt() : 0);
  if (maxPos && facts.maxModelLen > maxPos.getInt())
    return createStringError(
        inconvertibleErrorCode(),
        "--max-model-len=" + Twine(facts.maxModelLen) +
            " is more than the model's " + Twine(maxPos.getInt()) +
            " positions (max_position_embeddings)");
  if (facts.maxModelLen < 1)
    return createStringError(inconvertibleErrorCode(),
                             "the module has no llm.max_position_embeddings; "
                             "pass --max-model-len");
  int64_t perSequence =
      (facts.maxModelLen + facts.blockSize - 1) / facts.blockSize;
  facts.numBlocks = numKvBlocks ? int64_t(numKvBlocks) : 16 * perSequence;
  if (facts.numBlocks < perSequence)
    return createStringError(
        inconvertibleErrorCode(),
        "--num-kv-blocks=" + Twine(facts.numBlocks) + " holds " +
            Twine(facts.numBlocks * facts.blockSize) +
            " tokens per replica, fewer than one sequence of the max model "
            "length " +
            Twine(facts.maxModelLen) +
            "; raise --num-kv-blocks or lower --max-model-len");
  facts.eosTokenIds = loaded->codec->eosTokenIds();
  loaded->name = facts.name;

  Expected<std::unique_ptr<llmc::ref::ReferenceModelStep>> model =
      llmc::ref::ReferenceModelStep::create(module, *loaded->weights, facts,
                                            memoryLimit);
  if (!model)
    return model.takeError();
  loaded->model = std::move(*model);
  if (int64_t tokVocab = loaded->codec->tokenizer().vocabSize();
      tokVocab > loaded->model->facts().vocabSize)
    return createStringError(
        inconvertibleErrorCode(),
        "the tokenizer has " + Twine(tokVocab) +
            " tokens but the model's vocabulary only " +
            Twine(loaded->model->facts().vocabSize));

  rt::Expected<serve::EngineConfig> config =
      serve::engineConfigFor(options, loaded->model->facts());
  if (!config)
    return createStringError(inconvertibleErrorCode(),
                             config.status().message());
  rt::Expected<std::unique_ptr<serve::Engine>> engine =
      serve::Engine::create(*loaded->model, *config);
  if (!engine)
    return createStringError(inconvertibleErrorCode(),
                             engine.status().message());
  loaded->engine = std::move(*engine);
  return loaded;
}

} // namespace

int llmc::runServe(int argc, char **argv) {
  serve::blockTerminationSignals();
  InitLLVM init(argc, argv);
  std::vector<std::string> rest(argv + 2, argv + argc);
  rt::Expected<serve::ServeOptions> options = serve::extractServeOptions(rest);
  if (!options)
    return fail(options.status().message());
  std::vector<const char *> args{argv[0], "serve"};
  for (const std::string &a : rest)
    args.push_back(a.c_str());
  std::string overview =
      "llm-run serve: the CPU reference executor behind an OpenAI-compatible "
      "server\n\nServe flags:\n" +
      serve::serveUsage();
  if (!cl::ParseCommandLineOptions(int(args.size()), args.data(), overview,
                                   &errs()))
    return 1;
  if (gpus.getNumOccurrences() && gpus < 1)
    return fail("--gpus must be >= 1, got " + Twine(gpus));
  if (microbatches < 1)
    return fail("--microbatches must be >= 1, got " + Twine(microbatches));
  if (numKvBlocks < 0)
    return fail("--num-kv-blocks must be >= 1, got " + Twine(numKvBlocks));
  Expected<Inputs> inputs = checkInputs();
  if (!inputs)
    return fail(toString(inputs.takeError()));

  // The server listens before loading, so its worker count cannot wait
  // for the engine's limits: the defaults' count, or --http-threads.
  serve::EngineConfig defaults;
  defaults.scheduler.maxNumSeqs =
      options->maxNumSeqs.value_or(serve::kDefaultMaxNumSeqs);
  defaults.maxQueuedRequests = options->maxQueuedRequests;
  std::unique_ptr<Loaded> loaded;
  return serve::serveMain(
      "llm-run serve", *options, serve::httpThreadsFor(*options, defaults),
      [&](const std::function<bool()> &) -> rt::Expected<serve::LoadedServer> {
        Expected<std::unique_ptr<Loaded>> l = load(*options, *inputs);
        if (!l)
          return rt::Expected<serve::LoadedServer>::fromError(
              rt::Status::error(toString(l.takeError())));
        loaded = std::move(*l);
        const serve::ModelFacts &facts = loaded->model->facts();
        std::string note = loaded->name + ", " +
                           std::to_string(facts.replicas) + " replica" +
                           (facts.replicas == 1 ? "" : "s") + ", " +
                           std::to_string(facts.numBlocks) +
                           " KV blocks of " + std::to_string(facts.blockSize) +
                           " tokens per replica";
        return serve::LoadedServer{loaded->engine.get(), loaded->codec.get(),
                                   loaded->name, note};
      });
}
