//===- Scheduler.h - continuous batching over a paged KV cache --*- C++ -*-===//
//
// Decides each step's work (vLLM v1's policy): first the running sequences
// in admission order - a decode token each, or the next chunk of a prompt
// being prefilled - then waiting sequences in arrival order, each routed to
// a batch replica and given a prefill chunk, all under a token budget per
// replica (max_num_batched_tokens) and at most max_num_seqs running per
// replica. A step that carries decode tokens has the smaller budget
// decode_step_tokens (Sarathi-Serve's stall-free batching): prompt chunks
// fill what the decode tokens leave of it, so a long prompt is spread over
// several steps instead of stalling every running sequence behind one
// long forward (on an H100, 8B: inter-token p99 55 -> 27 ms at the same
// throughput). A waiting sequence starts after the longest prefix the
// prefix cache holds. When a running sequence needs a block and none is free,
// the newest running sequence of its replica is preempted: its blocks are
// released and it waits at the front of the queue to be recomputed
// (prompt and generated tokens) later; no other sequence's blocks are
// touched. After a step, update() appends the sampled tokens, commits
// newly full blocks to the prefix cache and ends sequences that hit a stop
// condition (EOS, stop token ids, max_tokens, the max model length); they,
// and cancelled ones, release their blocks at once.
//
// Not thread-safe: the engine's thread owns it.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_SCHEDULER_H
#define LLMC_RUNTIME_SERVE_SCHEDULER_H

#include "runtime/serve/BlockPool.h"
#include "runtime/serve/ModelStep.h"

#include <deque>
#include <memory>
#include <unordered_map>

namespace llmc::serve {

/// Limits of the scheduler; per replica where it says so.
struct SchedulerConfig {
  int32_t blockSize = 16;
  int64_t numBlocks = 0;            ///< per replica
  int32_t replicas = 1;
  int64_t maxModelLen = 0;
  int64_t vocabSize = 0;
  int64_t maxNumSeqs = 256;         ///< running sequences per replica
  int64_t maxNumBatchedTokens = 2048; ///< tokens per step per replica
  /// Tokens per step per replica when the step carries a decode token
  /// (at least the decode tokens themselves, at most maxNumBatchedTokens);
  /// 0: maxNumBatchedTokens.
  int64_t decodeStepTokens = 512;
  bool prefixCaching = true;
  std::vector<int32_t> eosTokenIds;
};

/// The model's part of a SchedulerConfig: block size and count, replicas,
/// max model length, vocabulary, EOS ids (the limits keep their defaults).
SchedulerConfig schedulerConfigFor(const ModelFacts &facts);

/// Checks the limits against each other (the message names the flag).
Status validateSchedulerConfig(const SchedulerConfig &c);

/// Why a sequence ended.
enum class FinishReason : uint8_t {
  None = 0,   ///< still running
  Stop,       ///< EOS, a stop token id, or a stop string (the text layer)
  Length,     ///< max_tokens or the max model length
  Cancelled,  ///< the client went away or the server is stopping
  Error,      ///< the model step failed
};
/// "stop", "length", "cancelled", "error" ("" for None).
const char *finishReasonName(FinishReason r);

/// A request as the scheduler sees it.
struct SequenceSpec {
  uint64_t id = 0;
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int64_t maxTokens = 16;            ///< >= 1
  bool ignoreEos = false;
  std::vector<int32_t> stopTokenIds; ///< end the sequence besides EOS
};

/// Checks a sequence against the limits (what add() refuses, naming the
/// rule): an empty prompt, a prompt of max_model_len tokens or more, an id
/// outside the vocabulary, max_tokens < 1, sampling parameters out of
/// range.
Status checkSequence(const SchedulerConfig &config, const SequenceSpec &spec);

/// One sampled token, as update() reports it.
struct TokenUpdate {
  uint64_t seqId = 0;
  SampledToken sampled;
  int64_t index = 0;                 ///< 0 for the first generated token
  FinishReason finish = FinishReason::None; ///< the sequence ended here
};

/// Counters and gauges for metrics (cumulative since construction).
struct SchedulerStats {
  int64_t running = 0, waiting = 0;
  int64_t blocksUsed = 0, blocksTotal = 0, blocksCachedFree = 0;
  int64_t preemptions = 0;
  int64_t promptTokens = 0;       ///< prompt tokens of added sequences
  int64_t generatedTokens = 0;
  int64_t prefixQueryTokens = 0;  ///< prompt tokens looked up at admission
  int64_t prefixHitTokens = 0;    ///< of those, found in the cache
  int64_t steps = 0;
};

class Scheduler {
public:
  /// `config` must pass validateSchedulerConfig.
  explicit Scheduler(SchedulerConfig config);
  ~Scheduler();

  const SchedulerConfig &config() const { return config_; }

  /// Queues a sequence. Errors: an id already present, or what
  /// checkSequence refuses.
  Status add(SequenceSpec spec);
  /// Ends a sequence now (FinishReason::Cancelled or a Stop decided by the
  /// text layer) and releases its blocks; false when it is not here.
  bool finish(uint64_t id);
  bool contains(uint64_t id) const;

  /// The next step's plan; empty when there is nothing to run.
  StepPlan schedule();
  /// Applies a step's result to the sequences of `plan` (those finished
  /// or cancelled since schedule() are skipped). Errors when `result`
  /// does not answer `plan`.
  Expected<std::vector<TokenUpdate>> update(const StepPlan &plan,
                                            const StepResult &result);

  /// No sequence is running or waiting.
  bool idle() const { return sequences_.empty(); }
  SchedulerStats stats() const;
  /// Prompt tokens served from the prefix cache at the sequence's first
  /// admission.
  int64_t cachedPromptTokens(uint64_t id) const;

  /// For tests: the pool of `replica`, and a full check that the blocks
  /// referenced by the sequences' tables are exactly what the pools count,
  /// that only committed blocks are shared and that no table holds a
  /// block twice.
  const BlockPool &pool(int32_t replica) const;
  Status checkInvariants() const;

private:
  struct Sequence;
  Sequence *find(uint64_t id);
  void preempt(Sequence &s);
  void release(Sequence &s);
  void commitFullBlocks(Sequence &s);
  bool tryAdmit(Sequence &s, std::vector<int64_t> &budget,
                const std::vector<bool> &blocked, StepPlan &plan);
  void appendStep(Sequence &s, int64_t count, StepPlan &plan);

  SchedulerConfig config_;
  std::vector<std::unique_ptr<BlockPool>> pools_;
  std::unordered_map<uint64_t, std::unique_ptr<Sequence>> sequences_;
  std::deque<Sequence *> waiting_;
  std::vector<std::vector<Sequence *>> running_; ///< per replica
  uint64_t nextArrival_ = 0, nextStep_ = 0;
  SchedulerStats counters_;
};

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_SCHEDULER_H
