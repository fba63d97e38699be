//===- ModelStep.h - the one interface between serving and a model -*- C++ -*-===//
//
// The scheduler decides, each step, which tokens of which sequences run and
// where their keys and values live (block tables over a paged KV cache); a
// ModelStep runs that step and returns the sampled tokens. The compiled
// binary implements it on GPUs, the CPU reference executor on the CPU, and
// test/serve/FakeModel in unit tests; the scheduler, the engine and the
// HTTP server see nothing else of a model. A StepPlan is plain data with a
// flat byte encoding (encodeStepPlan), so rank 0 can broadcast it to every
// other rank of a multi-rank plan, which then runs the same step.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_MODELSTEP_H
#define LLMC_RUNTIME_SERVE_MODELSTEP_H

#include "runtime/abi/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::serve {

using rt::Expected;
using rt::Status;

/// How one sequence picks its next token. The rule is the reference
/// executor's (lib/reference sample(), runtime/kernels sample()): temperature
/// <= 0 is greedy (lowest id on ties); otherwise softmax(logits / T), cut
/// to the topK most likely (0: all), then to the shortest prefix whose
/// renormalised mass reaches topP, and one uniform draw (drawUniform of
/// Sampler.h) picks a token of the kept mass.
struct SamplingParams {
  float temperature = 1.0f;
  float topP = 1.0f;   ///< (0, 1]
  int32_t topK = 0;    ///< 0: the whole vocabulary
  uint64_t seed = 0;   ///< the request's seed (the engine draws one if unset)
  /// -1: no logprobs. 0: the sampled token's logprob only. k > 0: also the
  /// k most likely tokens' (log_softmax of the raw logits, temperature 1).
  int32_t logprobs = -1;

  bool operator==(const SamplingParams &o) const;
};

/// One sequence's share of a step: process `tokens` at positions
/// [startPos, startPos + tokens.size()), reading and writing keys and
/// values through `blockTable`. Positions [0, startPos) are already in the
/// cache. A prefill runs a chunk of the prompt (several tokens), a decode
/// step the last sampled token (one).
struct SequenceStep {
  uint64_t seqId = 0;
  /// The batch replica (dp/ep coordinate) whose ranks run this sequence;
  /// other replicas' ranks skip it. Block ids index that replica's pool.
  int32_t replica = 0;
  int64_t startPos = 0;
  std::vector<int32_t> tokens;
  /// Block b holds positions [b * blockSize, (b + 1) * blockSize); covers
  /// at least startPos + tokens.size() positions. Blocks before
  /// startPos / blockSize may be shared with other sequences (prefix
  /// cache) and must only be read.
  std::vector<int32_t> blockTable;
  /// Sample a token after the last one of `tokens` (the prompt is complete
  /// with this chunk, or this is a decode step).
  bool sample = false;
  SamplingParams sampling;
  /// The per-sequence generator state: the index of the token this draw
  /// produces (tokens generated so far). The draw depends only on
  /// (sampling.seed, drawIndex), never on the batch around the sequence,
  /// so a seeded request gives the same tokens however it is scheduled or
  /// preempted.
  uint64_t drawIndex = 0;

  bool operator==(const SequenceStep &o) const;
};

/// What rank 0 sends every rank each step.
struct StepPlan {
  enum class Kind : uint8_t {
    Forward = 0,  ///< run `sequences` (possibly none on some replicas)
    Shutdown = 1, ///< the server is stopping: leave the step loop
  };
  Kind kind = Kind::Forward;
  /// Increases by one per step (a rank that missed one can tell).
  uint64_t stepIndex = 0;
  std::vector<SequenceStep> sequences;

  /// Tokens processed in this step over every replica.
  int64_t numTokens() const;
  /// Indices into `sequences` of replica `replica`'s share (maybe none).
  std::vector<size_t> replicaShare(int32_t replica) const;
  bool operator==(const StepPlan &o) const;
};

/// A logprob entry: token id and log-probability.
struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
  bool operator==(const TokenLogprob &o) const {
    return token == o.token && logprob == o.logprob;
  }
};

/// The token sampled for one sequence.
struct SampledToken {
  uint64_t seqId = 0;
  int32_t token = 0;
  /// Its logprob (0 when sampling.logprobs < 0: not computed).
  float logprob = 0.0f;
  /// The sampling.logprobs most likely tokens, most likely first (ties:
  /// lower id first); empty when sampling.logprobs <= 0.
  std::vector<TokenLogprob> top;
  bool operator==(const SampledToken &o) const;
};

/// A step's result: one entry per sequence of the plan with `sample` set,
/// in plan order.
struct StepResult {
  std::vector<SampledToken> sampled;
  /// Host milliseconds the model spent issuing its forward calls (kernel
  /// launches, graph replays) on rank 0, where it measures them; 0: not
  /// measured. With the step's time it tells a host-bound step (--step-
  /// trace's issue_ms) from a GPU-bound one. Not compared.
  double issueMs = 0.0;
  bool operator==(const StepResult &o) const { return sampled == o.sampled; }
};

/// What the scheduler must know about the model and its KV cache. Fixed
/// for the life of a ModelStep.
struct ModelFacts {
  std::string name;            ///< served model name (e.g. the checkpoint)
  int64_t vocabSize = 0;
  int32_t blockSize = 16;      ///< tokens per KV block
  /// KV blocks per replica (every rank of a replica holds the same block
  /// ids, each for its own kv heads and layers).
  int64_t numBlocks = 0;
  int64_t maxModelLen = 0;     ///< prompt + generated tokens per sequence
  int32_t replicas = 1;        ///< batch replicas (dp x ep), >= 1
  /// Per replica per step: the most tokens one forward call takes and the
  /// most sequences (the binary's compiled limits; 0: no limit).
  int64_t maxTokensPerStep = 0;
  int64_t maxSeqsPerStep = 0;
  std::vector<int32_t> eosTokenIds;
};

/// Runs steps. Implementations: the GPU binary (paged attention over the
/// block tables, CUDA graphs per batch-size bucket), the CPU reference
/// executor, the test fake. Called from one thread at a time (the engine's).
class ModelStep {
public:
  virtual ~ModelStep() = default;
  virtual const ModelFacts &facts() const = 0;
  /// Runs `plan` (Kind::Forward) and returns one SampledToken per
  /// sequence with `sample` set, in plan order. An error is fatal for the
  /// engine: every request in flight fails and the server reports unhealthy.
  virtual Expected<StepResult> step(const StepPlan &plan) = 0;
};

/// Checks a plan against `facts` before it runs (replica, block ids and
/// coverage, token ids, positions, sampling ranges); the message names the
/// sequence and the rule. Implementations call it on plans they receive.
Status validateStepPlan(const StepPlan &plan, const ModelFacts &facts);

/// The flat little-endian encoding of a plan (docs/serving.md gives the
/// layout), for broadcast to the other ranks.
std::vector<uint8_t> encodeStepPlan(const StepPlan &plan);
/// Decodes encodeStepPlan's bytes; a truncated, oversized or corrupt buffer
/// is an error naming the field, never a crash.
Expected<StepPlan> decodeStepPlan(const uint8_t *data, size_t size);

/// The same for results (from the last pipeline stage back to rank 0).
std::vector<uint8_t> encodeStepResult(const StepResult &result);
Expected<StepResult> decodeStepResult(const uint8_t *data, size_t size);

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_MODELSTEP_H
