//===- Executor.cpp - greedy generation over all ranks of a plan ----------===//

#include "llmc/Reference/Executor.h"

#include "llmc/Reference/Communicator.h"
#include "llmc/Reference/Interpreter.h"
#include "llmc/Reference/Kernels.h"

#include "runtime/model/Options.h"
#include "runtime/weights/RandomWeights.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <memory>
#include <set>
#include <thread>
#include <tuple>

#include <unistd.h>

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// The roles of @forward's arguments.
enum class ArgRole { InputIds, Positions, Cache, Seed };

Expected<std::vector<ArgRole>> argumentRoles(mlir::func::FuncOp forward) {
  std::vector<ArgRole> roles;
  bool sawIds = false, sawPositions = false;
  for (auto [i, arg] : llvm::enumerate(forward.getArguments())) {
    mlir::Type type = arg.getType();
    auto name = forward.getArgAttrOfType<mlir::StringAttr>(
        i, llm::LlmDialect::kArgNameAttrName);
    if (llvm::isa<llm::KVCacheType>(type)) {
      roles.push_back(ArgRole::Cache);
    } else if (llvm::isa<mlir::IntegerType>(type)) {
      roles.push_back(ArgRole::Seed);
    } else if (auto t = llvm::dyn_cast<mlir::RankedTensorType>(type);
               t && llvm::isa<mlir::IntegerType>(t.getElementType())) {
      bool positions = name ? name.getValue() == "positions"
                            : (sawIds && !sawPositions);
      if (positions && !sawPositions) {
        roles.push_back(ArgRole::Positions);
        sawPositions = true;
      } else if (!positions && !sawIds) {
        roles.push_back(ArgRole::InputIds);
        sawIds = true;
      } else {
        return createStringError("@forward argument #%zu: a third integer "
                                 "tensor argument is not supported",
                                 i);
      }
    } else {
      std::string s;
      llvm::raw_string_ostream os(s);
      type.print(os);
      return createStringError("@forward argument #%zu of type %s is not "
                               "supported by the reference executor",
                               i, s.c_str());
    }
  }
  if (!sawIds)
    return createStringError("@forward has no input_ids argument");
  return roles;
}

/// The full vocabulary size, from the first embedding's table weight.
std::optional<int64_t> vocabSize(const Program &program) {
  std::optional<int64_t> vocab;
  mlir::func::FuncOp forward = program.forward;
  forward.walk([&](llm::EmbeddingOp op) {
    mlir::Value v = op.getTable();
    while (v && !vocab) {
      if (auto param = v.getDefiningOp<llm::ParamOp>()) {
        auto it = program.weights.find(param.getName());
        if (it == program.weights.end())
          break;
        llm::WeightOp w = it->second;
        vocab = w.getSlice() ? w.getSlice()->getFullShape()[0]
                             : w.getType().getShape()[0];
        break;
      }
      auto arg = llvm::dyn_cast<mlir::BlockArgument>(v);
      if (!arg)
        break;
      mlir::Operation *parent = arg.getOwner()->getParentOp();
      if (!parent || arg.getArgNumber() >= parent->getNumOperands() ||
          llvm::isa<mlir::func::FuncOp>(parent))
        break;
      v = parent->getOperand(arg.getArgNumber());
    }
    return vocab ? mlir::WalkResult::interrupt() : mlir::WalkResult::advance();
  });
  return vocab;
}

//===----------------------------------------------------------------------===//
// Memory needs, checked before anything is allocated
//===----------------------------------------------------------------------===//

/// Bytes a run allocates over all ranks, estimated from the IR (in doubles:
/// absurd models must not overflow the estimate itself). Weights count as
/// fp32 once per rank that can load them: every rank of the stages whose
/// code names them, divided by the owner axis for expert weights. The KV
/// cache counts every rank's share of the layer slots in full.
struct MemoryNeeds {
  double weights = 0, cache = 0;
  double total() const { return weights + cache; }
};

MemoryNeeds estimateMemory(const Program &program, int64_t localBatch,
                           int64_t maxSeq) {
  MemoryNeeds needs;
  const Grid &grid = program.grid;
  double ranks = double(grid.numRanks());
  // Which pipeline stages name each weight (-1: code outside any stage).
  llvm::StringMap<std::set<int64_t>> stagesOf;
  int64_t numStages = 1;
  mlir::func::FuncOp(program.forward).walk([&](llm::ParamOp op) {
    auto stage = op->getParentOfType<dist::StageOp>();
    int64_t index = stage ? int64_t(stage.getStage()) : -1;
    numStages = std::max(numStages, index + 1);
    stagesOf[op.getName()].insert(index);
  });
  double ranksPerStage = ranks / double(numStages);
  for (const auto &entry : program.weights) {
    auto it = stagesOf.find(entry.getKey());
    if (it == stagesOf.end())
      continue;
    llm::WeightOp weight = entry.getValue();
    double elements = 1;
    for (int64_t d : weight.getTensorType().getShape())
      elements *= double(d);
    double users = it->second.count(-1)
                       ? ranks
                       : ranksPerStage * double(it->second.size());
    if (std::optional<llm::OwnerAttr> owner = weight.getOwner())
      users /= double(std::max<int64_t>(grid.degree(owner->getAxis()), 1));
    needs.weights += elements * 4.0 * users;
  }
  for (mlir::Type type : mlir::func::FuncOp(program.forward).getArgumentTypes())
    if (auto cache = llvm::dyn_cast<llm::KVCacheType>(type)) {
      double slots = std::ceil(double(cache.getNumLayers()) / double(numStages));
      // Keys and values in fp32, plus one byte per position.
      double perSlot = double(localBatch) * double(maxSeq) *
                       (double(cache.getNumKvHeads()) *
                            double(cache.getHeadDim()) * 8.0 +
                        1.0);
      needs.cache += ranks * slots * perSlot;
    }
  return needs;
}

std::string bytesString(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 6) {
    bytes /= 1024.0;
    ++u;
  }
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format(u == 0 ? "%.0f " : "%.1f ", bytes) << units[u];
  return s;
}

} // namespace

uint64_t physicalMemoryBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || pageSize <= 0)
    return 0;
  return uint64_t(pages) * uint64_t(pageSize);
}

namespace {

IntTensor rowsOf(const IntTensor &t, int64_t start, int64_t count) {
  return sliceAlong(t, 0, start, count);
}

/// The result value of @forward gathered over the data-parallel groups.
Expected<RtValue> gatherResult(const std::vector<std::vector<RtValue>> &perRank,
                               const std::vector<int> &sourceRanks,
                               unsigned index) {
  std::vector<Tensor> floats;
  std::vector<IntTensor> ints;
  for (int r : sourceRanks) {
    const RtValue &v = perRank[r][index];
    if (auto *t = std::get_if<Tensor>(&v))
      floats.push_back(*t);
    else if (auto *t = std::get_if<IntTensor>(&v))
      ints.push_back(*t);
    else
      return createStringError("@forward result #%u of rank %d is not a "
                               "tensor",
                               index, r);
  }
  if (!floats.empty() && !ints.empty())
    return createStringError("@forward result #%u has different element "
                             "kinds on different ranks",
                             index);
  if (!floats.empty()) {
    Expected<Tensor> t = concatAlong<float>(floats, 0);
    if (!t)
      return t.takeError();
    return RtValue(std::move(*t));
  }
  Expected<IntTensor> t = concatAlong<int64_t>(ints, 0);
  if (!t)
    return t.takeError();
  return RtValue(std::move(*t));
}

} // namespace

//===----------------------------------------------------------------------===//
// Prompts
//===----------------------------------------------------------------------===//

Expected<std::vector<std::vector<int64_t>>> parsePrompts(llvm::StringRef text) {
  // The runtime's grammar, so llm-run and llm-model accept the same prompts.
  rt::Expected<std::vector<std::vector<int64_t>>> parsed =
      rt::parsePromptList(text.str());
  if (!parsed)
    return createStringError("%s", parsed.status().message().c_str());
  return std::move(*parsed);
}

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

//===----------------------------------------------------------------------===//
// PlanRunner
//===----------------------------------------------------------------------===//

PlanRunner::~PlanRunner() = default;

Expected<std::unique_ptr<PlanRunner>>
PlanRunner::create(mlir::ModuleOp module, const WeightSource &weights) {
  Expected<Program> analyzed = Program::analyze(module);
  if (!analyzed)
    return analyzed.takeError();
  std::unique_ptr<PlanRunner> runner(new PlanRunner());
  runner->program_ = std::make_unique<Program>(std::move(*analyzed));
  Expected<std::vector<ArgRole>> roles = argumentRoles(runner->program_->forward);
  if (!roles)
    return roles.takeError();
  for (ArgRole role : *roles)
    runner->roles_.push_back(int(role));
  if (mlir::func::FuncOp(runner->program_->forward).getNumResults() == 0)
    return createStringError("@forward returns nothing");
  int numRanks = int(runner->program_->grid.numRanks());
  for (int r = 0; r < numRanks; ++r)
    runner->ranks_.push_back(
        std::make_unique<Interpreter>(*runner->program_, r, weights));
  return runner;
}

int64_t PlanRunner::replicas() const { return program_->grid.numReplicas(); }

std::optional<int64_t> PlanRunner::vocabSize() const {
  return ref::vocabSize(*program_);
}

double PlanRunner::estimateBytes(int64_t rowsPerRank, int64_t positions,
                                 double *weightBytes) const {
  MemoryNeeds needs = estimateMemory(*program_, rowsPerRank, positions);
  if (weightBytes)
    *weightBytes = needs.weights;
  return needs.total();
}

void PlanRunner::setCaches(const std::function<KVCache()> &make) {
  caches_.clear();
  for (size_t r = 0; r < ranks_.size(); ++r)
    caches_.push_back(std::make_unique<KVCache>(make()));
}

Expected<PlanRunner::Output> PlanRunner::forward(const IntTensor &ids,
                                                 const IntTensor &positions,
                                                 int64_t seed,
                                                 bool splitSequence) {
  const Program &program = *program_;
  const Grid &grid = program.grid;
  int numRanks = this->numRanks();
  int64_t batch = ids.dim(0), len = ids.dim(1);
  int64_t replicas = grid.numReplicas();
  int64_t localBatch = batch / replicas;
  int64_t spDegree = grid.sequenceDegree();

  InProcessCommunicator comm(numRanks);
  std::vector<std::vector<RtValue>> outputs(numRanks);
  std::vector<std::string> errors(numRanks);
  auto runRank = [&](int r) {
    int64_t d = grid.replicaOf(r);
    int64_t seqStart = 0, seqLen = len;
    if (splitSequence) {
      std::tie(seqStart, seqLen) = rt::sequenceBlock(
          len, spDegree, grid.coordinate(r, *grid.sequenceAxis));
    }
    auto local = [&](const IntTensor &t) {
      return sliceAlong(rowsOf(t, d * localBatch, localBatch), 1, seqStart,
                        seqLen);
    };
    std::vector<RtValue> args;
    for (int role : roles_) {
      switch (ArgRole(role)) {
      case ArgRole::InputIds:
        args.push_back(local(ids));
        break;
      case ArgRole::Positions:
        args.push_back(local(positions));
        break;
      case ArgRole::Cache:
        args.push_back(CacheRef{caches_[r].get(), 0, localBatch});
        break;
      case ArgRole::Seed:
        args.push_back(seed);
        break;
      }
    }
    Expected<std::vector<RtValue>> out =
        ranks_[r]->run(std::move(args), comm, splitSequence);
    if (out) {
      outputs[r] = std::move(*out);
    } else {
      errors[r] = llvm::toString(out.takeError());
      comm.fail(r, errors[r]);
    }
    comm.finish(r);
  };
  if (numRanks == 1) {
    runRank(0);
  } else {
    std::vector<std::thread> threads;
    for (int r = 0; r < numRanks; ++r)
      threads.emplace_back(runRank, r);
    for (std::thread &t : threads)
      t.join();
  }
  if (auto failure = comm.firstFailure()) {
    if (numRanks == 1)
      return createStringError("%s", failure->second.c_str());
    std::string coords = grid.coordinateString(failure->first);
    return createStringError("rank %d (%s) failed: %s", failure->first,
                             coords.c_str(), failure->second.c_str());
  }

  // Gather: per batch replica, the lowest rank holding every result.
  unsigned numResults = mlir::func::FuncOp(program.forward).getNumResults();
  std::vector<int> sources;
  for (int64_t d = 0; d < replicas; ++d) {
    int found = -1;
    for (int r = 0; r < numRanks && found < 0; ++r)
      if (grid.replicaOf(r) == d && llvm::none_of(outputs[r], isAbsent))
        found = r;
    if (found < 0)
      return createStringError("no rank of batch replica %lld holds every "
                               "result of @forward",
                               (long long)d);
    sources.push_back(found);
  }
  Expected<RtValue> logits = gatherResult(outputs, sources, 0);
  if (!logits)
    return logits.takeError();
  const Tensor *logitsTensor = std::get_if<Tensor>(&*logits);
  if (!logitsTensor || logitsTensor->rank() < 1 ||
      logitsTensor->dim(0) != batch)
    return createStringError("@forward's first result is not a float "
                             "tensor with %lld batch rows",
                             (long long)batch);
  Output result;
  result.logits = std::move(*logitsTensor);
  if (numResults >= 2) {
    Expected<RtValue> nextIds = gatherResult(outputs, sources, 1);
    if (!nextIds)
      return nextIds.takeError();
    const IntTensor *t = std::get_if<IntTensor>(&*nextIds);
    if (!t || t->rank() < 1 || t->dim(0) != batch)
      return createStringError("@forward's second result is not an integer "
                               "tensor with %lld batch rows",
                               (long long)batch);
    result.next = *t;
  }
  return result;
}

std::vector<RankStats> PlanRunner::stats() const {
  std::vector<RankStats> out;
  for (int r = 0; r < numRanks(); ++r)
    out.push_back(RankStats{r, program_->grid.coordinates(r),
                            ranks_[r]->loadedWeights(),
                            caches_.empty() ? std::vector<int64_t>()
                                            : caches_[r]->allocatedSlots()});
  return out;
}

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

Expected<GenerateResult> generate(mlir::ModuleOp module,
                                  const WeightSource &weights,
                                  const GenerateOptions &options) {
  Expected<std::unique_ptr<PlanRunner>> created =
      PlanRunner::create(module, weights);
  if (!created)
    return created.takeError();
  PlanRunner &runner = **created;
  const Program &program = runner.program();

  // Validate the request.
  const auto &prompts = options.prompts;
  if (prompts.empty() || prompts.front().empty())
    return createStringError("--prompt is empty");
  if (options.maxNewTokens < 1)
    return createStringError("--max-new-tokens must be >= 1, got %lld",
                             (long long)options.maxNewTokens);
  int64_t batch = int64_t(prompts.size());
  int64_t promptLen = int64_t(prompts.front().size());
  int64_t maxSeq = promptLen + options.maxNewTokens;
  if (auto maxPos = module->getAttrOfType<mlir::IntegerAttr>(
          llm::LlmDialect::kMaxPositionEmbeddingsAttrName);
      maxPos && maxSeq > maxPos.getInt())
    return createStringError("a prompt of %lld tokens plus %lld new tokens "
                             "needs %lld positions; the model has %lld "
                             "(max_position_embeddings)",
                             (long long)promptLen,
                             (long long)options.maxNewTokens,
                             (long long)maxSeq, (long long)maxPos.getInt());
  if (std::optional<int64_t> vocab = runner.vocabSize())
    for (auto [p, ids] : llvm::enumerate(prompts))
      for (int64_t id : ids)
        if (id >= *vocab)
          return createStringError("token id %lld in prompt %zu is out of "
                                   "range: the vocabulary has %lld tokens",
                                   (long long)id, p, (long long)*vocab);

  const Grid &grid = program.grid;
  int numRanks = runner.numRanks();
  // Context parallelism: prefill splits the sequence into consecutive
  // blocks over the sequence axis (rt::sequenceBlock, the runtime's rule);
  // decode gives every rank the new tokens.
  int64_t spDegree = grid.sequenceDegree();
  if (spDegree > 1 && promptLen < spDegree)
    return createStringError("a prompt of %lld tokens cannot be split over "
                             "%lld sequence-parallel ranks (axis '%s'); each "
                             "needs at least one token",
                             (long long)promptLen, (long long)spDegree,
                             grid.sequenceAxis->c_str());
  // Ranks of different batch replicas (dp, and ep for the dense part of an
  // expert-parallel model) get different rows of the batch.
  int64_t replicas = grid.numReplicas();
  std::string axesText;
  for (const std::string &axis : grid.batchAxes)
    axesText += (axesText.empty() ? "" : ", ") + axis;
  if (batch % replicas != 0)
    return createStringError("a batch of %lld prompts cannot be split "
                             "evenly over %lld batch replicas (axes %s); "
                             "pass a multiple of %lld prompts",
                             (long long)batch, (long long)replicas,
                             axesText.c_str(), (long long)replicas);
  int64_t localBatch = batch / replicas;
  std::optional<int64_t> badMicrobatches;
  mlir::func::FuncOp(program.forward).walk([&](dist::PipelineOp op) {
    if (localBatch % int64_t(op.getMicrobatches()) != 0)
      badMicrobatches = int64_t(op.getMicrobatches());
  });
  if (badMicrobatches)
    return createStringError(
        "a batch of %lld prompts (%lld per batch replica) cannot be split "
        "into %lld pipeline micro-batches; pass a multiple of %lld prompts",
        (long long)batch, (long long)localBatch, (long long)*badMicrobatches,
        (long long)(*badMicrobatches * replicas));

  // Refuse a run that cannot fit before allocating any of it: a model
  // imported from a huge config would otherwise die in the allocator (or
  // the OOM killer) half-way through loading.
  uint64_t limit =
      options.memoryLimit ? options.memoryLimit : physicalMemoryBytes();
  MemoryNeeds needs = estimateMemory(program, localBatch, maxSeq);
  if (limit && needs.total() > double(limit))
    return createStringError(
        "the run needs about %s (fp32 weights %s over %d rank%s, KV cache "
        "%s for %lld prompts of %lld positions) but the memory limit is %s "
        "(%s); use a smaller model, plan, batch or --max-new-tokens",
        bytesString(needs.total()).c_str(), bytesString(needs.weights).c_str(),
        numRanks, numRanks == 1 ? "" : "s", bytesString(needs.cache).c_str(),
        (long long)batch, (long long)maxSeq, bytesString(double(limit)).c_str(),
        options.memoryLimit ? "--memory-limit" : "this machine's memory");

  runner.setCaches([&] { return KVCache(localBatch, maxSeq); });

  GenerateResult result;
  result.tokens.assign(size_t(batch), {});
  std::vector<std::vector<int64_t>> sequences = prompts;
  for (int64_t step = 0; step < options.maxNewTokens; ++step) {
    // This step's input: the prompt (prefill), the last new token (decode),
    // or the whole sequence so far without a cache.
    int64_t start = 0, len = promptLen;
    if (!options.useCache) {
      len = int64_t(sequences.front().size());
      runner.setCaches([&] { return KVCache(localBatch, maxSeq); });
    } else if (step > 0) {
      start = promptLen + step - 1;
      len = 1;
    }
    IntTensor ids({batch, len}), positions({batch, len});
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < len; ++s) {
        ids.data[b * len + s] = sequences[b][start + s];
        positions.data[b * len + s] = start + s;
      }
    bool splitSequence = spDegree > 1 && (!options.useCache || step == 0);
    int64_t seed = int64_t(
        rt::splitmix64(rt::splitmix64(options.sampleSeed) + uint64_t(step)));
    Expected<PlanRunner::Output> out =
        runner.forward(ids, positions, seed, splitSequence);
    if (!out)
      return out.takeError();
    IntTensor next;
    if (out->next) {
      next = std::move(*out->next);
    } else {
      Expected<IntTensor> t = argmax(out->logits);
      if (!t)
        return t.takeError();
      next = std::move(*t);
    }
    int64_t perRow = next.numElements() / batch;
    for (int64_t b = 0; b < batch; ++b) {
      int64_t id = next.data[(b + 1) * perRow - 1];
      result.tokens[b].push_back(id);
      sequences[b].push_back(id);
    }
    result.logits.push_back(std::move(out->logits));
  }

  result.gridShape = grid.shape;
  result.gridAxes = grid.axes;
  result.ranks = runner.stats();
  return result;
}

} // namespace llmc::ref
