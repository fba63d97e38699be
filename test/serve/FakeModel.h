//===- FakeModel.h - a ModelStep whose output depends on its KV blocks -*- C++ -*-===//
//
// The test double of a model for the scheduler and the server. It keeps a
// real paged KV store (one entry per position of every block of every
// replica) and computes like attention does: each processed token writes
// an entry chained from the entry of the position before it, read back
// through the block table, and the logits of a sampled position are a
// function of every entry of the sequence, read through the block table.
// So a block shared wrongly, overwritten by another sequence, recycled
// while in use or claimed computed without being written changes the
// tokens (or is refused outright), and reference() - the same arithmetic
// on the token list alone, no cache, no batching - is the oracle a
// scheduled run must equal token for token.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_SERVE_FAKEMODEL_H
#define LLMC_TEST_SERVE_FAKEMODEL_H

#include "runtime/serve/ModelStep.h"
#include "runtime/serve/Scheduler.h"

#include <atomic>
#include <functional>

namespace llmc::serve::test {

struct FakeModelConfig {
  std::string name = "fake";
  int64_t vocabSize = 64;
  int32_t blockSize = 4;
  int64_t numBlocks = 64;
  int64_t maxModelLen = 128;
  int32_t replicas = 1;
  std::vector<int32_t> eosTokenIds = {0};
  int64_t maxTokensPerStep = 0;
  int64_t maxSeqsPerStep = 0;
  /// Sleep per step (the stub server's pacing).
  double stepSeconds = 0;
  /// Logits are in [0, logitScale): larger is peakier.
  float logitScale = 6.0f;
};

class FakeModel : public ModelStep {
public:
  explicit FakeModel(FakeModelConfig config);

  const ModelFacts &facts() const override { return facts_; }
  Expected<StepResult> step(const StepPlan &plan) override;

  /// The tokens `spec` generates run alone: what any scheduling must give.
  /// Ends like the scheduler: EOS (unless ignoreEos), a stop token id,
  /// max_tokens, the max model length.
  std::vector<SampledToken> reference(const SequenceSpec &spec) const;

  /// Called before every KV write (replica, block): tests check the block
  /// is the writer's alone.
  std::function<void(int32_t, int32_t)> onWrite;
  /// Makes the next step fail (the engine's error path).
  std::atomic<bool> failNextStep{false};

  int64_t steps() const { return steps_; }
  int64_t tokensProcessed() const { return tokensProcessed_; }

private:
  struct Entry {
    uint64_t state = 0;
    int64_t pos = -1; ///< -1: never written
  };
  Entry &entry(int32_t replica, const std::vector<int32_t> &table,
               int64_t pos);

  FakeModelConfig config_;
  ModelFacts facts_;
  std::vector<std::vector<Entry>> kv_; ///< per replica, [blocks * blockSize]
  int64_t steps_ = 0, tokensProcessed_ = 0;
};

} // namespace llmc::serve::test

#endif // LLMC_TEST_SERVE_FAKEMODEL_H
