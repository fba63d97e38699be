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

#include "llmc/Reference/Tensor.h"
#include "llmc/Reference/Weights.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
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

/// Runs `module` (unsharded, or sharded with a shard.grid) with `weights`.
/// Errors name the failing rank when there are several.
llvm::Expected<GenerateResult> generate(mlir::ModuleOp module,
                                        const WeightSource &weights,
                                        const GenerateOptions &options);

/// The machine's physical memory in bytes (0 when unknown).
uint64_t physicalMemoryBytes();

} // namespace llmc::ref

#endif // LLMC_REFERENCE_EXECUTOR_H
