//===- Executor.h - greedy generation over all ranks of a plan --*- C++ -*-===//
//
// The driver behind llm-run: one Interpreter per rank of the module's grid,
// each step run with one thread per rank and a fresh InProcessCommunicator.
// Prefill runs the whole prompt at positions 0..S-1; each decode step feeds
// the previous step's next ids at the following position. Data-parallel
// ranks get their batch rows; outputs are gathered in rank order.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_EXECUTOR_H
#define LLMC_REFERENCE_EXECUTOR_H

#include "llmc/Reference/KVCache.h"
#include "llmc/Reference/Tensor.h"
#include "llmc/Reference/Weights.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llmc::ref {

/// Parses `--prompt`: comma-separated token ids; prompts of equal length
/// separated by ';' form a batch ("1,2,3;4,5,6").
llvm::Expected<std::vector<std::vector<int64_t>>>
parsePrompts(llvm::StringRef text);

/// What to generate.
struct GenerateOptions {
  /// One row of token ids per sequence; all of the same length.
  std::vector<std::vector<int64_t>> prompts;
  /// New tokens per sequence (>= 1).
  int64_t maxNewTokens = 1;
  /// false: every step recomputes the whole sequence from position 0 with
  /// an empty cache (a check of the cache, not a mode for speed).
  bool useCache = true;
  /// Seed for an i64 @forward argument (llm.sample); step t passes
  /// splitmix64(splitmix64(seed) + t), so neighbouring seeds give unrelated
  /// draws at every step.
  uint64_t sampleSeed = 0;
  /// Bytes the run may use over all ranks (fp32 weights and KV caches,
  /// estimated from the IR before anything is allocated); 0: the machine's
  /// physical memory.
  uint64_t memoryLimit = 0;
};

/// Per-rank facts after a run, for --stats and tests.
struct RankStats {
  int rank = 0;
  std::vector<int64_t> coordinates;
  std::vector<std::string> loadedWeights;
  std::vector<int64_t> cacheSlots;
};

/// What a generation produced.
struct GenerateResult {
  /// The new tokens of each sequence.
  std::vector<std::vector<int64_t>> tokens;
  /// @forward's first result (the logits) at every step, gathered over the
  /// data-parallel ranks: [batch, 1, vocab] for the imported models.
  std::vector<Tensor> logits;
  std::vector<RankStats> ranks;
  /// The grid's shape and axis names ("" names when the grid has none).
  std::vector<int64_t> gridShape;
  std::vector<std::string> gridAxes;
};

struct Program;
class Interpreter;

/// Every rank of a program, each with its Interpreter (weights loaded on
/// first use and kept) and its KV cache; forward() runs @forward once on
/// all of them, one thread per rank, over a fresh InProcessCommunicator.
/// Both static generation (generate) and serving (ReferenceModelStep) run
/// steps through it.
class PlanRunner {
public:
  /// Analyzes `module` (unsharded, or sharded with a shard.grid); the
  /// module and `weights` must outlive the runner.
  static llvm::Expected<std::unique_ptr<PlanRunner>>
  create(mlir::ModuleOp module, const WeightSource &weights);
  ~PlanRunner();

  const Program &program() const { return *program_; }
  int numRanks() const { return int(ranks_.size()); }
  /// Batch replicas (the batch axes' degrees multiplied): a batch's rows
  /// are split evenly over them, replica d taking the d-th share.
  int64_t replicas() const;
  /// The full vocabulary, from the embedding table (nullopt: unknown).
  std::optional<int64_t> vocabSize() const;
  /// Fp32 weight and KV cache bytes over all ranks for caches of
  /// `rowsPerRank` rows of `positions` positions (estimated from the IR).
  double estimateBytes(int64_t rowsPerRank, int64_t positions,
                       double *weightBytes = nullptr) const;

  /// Gives every rank a new cache made by `make`.
  void setCaches(const std::function<KVCache()> &make);
  KVCache &cache(int rank) { return *caches_[size_t(rank)]; }

  /// @forward's outputs gathered over the batch replicas.
  struct Output {
    Tensor logits;               ///< the first result, [batch, ...]
    std::optional<IntTensor> next; ///< the second result, if any
  };
  /// One call: `ids` and `positions` [batch, len] (replica d gets rows
  /// [d * batch / replicas, ...)), `seed` for an i64 argument;
  /// `splitSequence`: the sequence axis' ranks take consecutive blocks of
  /// the tokens (prefill under context parallelism). Errors name the rank.
  llvm::Expected<Output> forward(const IntTensor &ids,
                                 const IntTensor &positions, int64_t seed,
                                 bool splitSequence);

  /// What each rank loaded and cached.
  std::vector<RankStats> stats() const;

private:
  PlanRunner() = default;
  std::unique_ptr<Program> program_;
  std::vector<int> roles_;
  std::vector<std::unique_ptr<Interpreter>> ranks_;
  std::vector<std::unique_ptr<KVCache>> caches_;
};

/// Runs `module` (unsharded, or sharded with a shard.grid) with `weights`.
/// Errors name the failing rank when there are several.
llvm::Expected<GenerateResult> generate(mlir::ModuleOp module,
                                        const WeightSource &weights,
                                        const GenerateOptions &options);

/// The machine's physical memory in bytes (0 when unknown).
uint64_t physicalMemoryBytes();

} // namespace llmc::ref

#endif // LLMC_REFERENCE_EXECUTOR_H
