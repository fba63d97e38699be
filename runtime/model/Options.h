//===- Options.h - command line of a compiled model binary ------*- C++ -*-===//
//
// DIR/llm-model's flags, the --prompt syntax, and the checks of a request
// against the manifest that must refuse a run before any GPU work (id out of
// the vocabulary, too long, a batch the plan cannot split). Plain C++17, no
// CUDA, so every refusal is unit-tested on machines without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_MODEL_OPTIONS_H
#define LLMC_RUNTIME_MODEL_OPTIONS_H

#include "runtime/abi/Status.h"
#include "runtime/model/Manifest.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmc::rt {

/// Where weights come from.
struct WeightsSpec {
  bool random = false;
  uint64_t seed = 0;       ///< for random
  std::string checkpoint;  ///< folder or file, when not random
};

/// Everything on llm-model's command line.
struct ModelOptions {
  std::optional<WeightsSpec> weights;
  std::vector<std::vector<int64_t>> prompts;
  bool havePrompt = false;
  int64_t maxNewTokens = 16;
  bool emulateRanks = false;
  std::string dumpLogits;  ///< "" = none
  bool bench = false;
  /// --force-tokens: per prompt, the ids fed back after each step instead
  /// of the model's own choice (teacher forcing; tokens and logits are
  /// still the model's).
  std::vector<std::vector<int64_t>> forceTokens;
  /// Decode steps replay a captured CUDA graph where the plan allows it.
  bool cudaGraphs = true;
  std::string manifest;    ///< "" = manifest.json next to the executable
  /// --tune-gemms: time cuBLASLt's answers per GEMM shape (gemm::setTuning).
  bool tuneGemms = false;
  /// --gemm-tuning=FILE: a table of GEMM choices to use ("" none); with
  /// tuneGemms the run's table is written back to it.
  std::string gemmTuning;
  bool help = false;
  /// `llm-model serve ...`: the OpenAI server (runtime/generate/Serve.cpp)
  /// instead of one generation; its serve flags are taken out before
  /// parsing (runtime/serve/ServeOptions.h).
  bool serve = false;
  /// --tokenizer=DIR of --text/--chat and serve ("" = the binary's folder;
  /// serve without a tokenizer.json there serves token ids).
  std::string tokenizer;
  /// --text / --chat (--chat's JSON or @FILE): the prompt as text, encoded
  /// with the tokenizer and generated through the serving engine with its
  /// text streamed (runtime/serve/TextGeneration.h, as llm-run --text).
  std::optional<std::string> text, chat;
  /// --temperature (0: greedy) and --seed of --text/--chat sampling.
  double temperature = 0.0;
  uint64_t seed = 0;
  /// --max-new-tokens was given (--text/--chat default to
  /// generation_config.json's limit, else the rest of limits.max_seq).
  bool haveMaxNewTokens = false;
  bool textMode() const { return text.has_value() || chat.has_value(); }

  // --bench sizes (issue 8). --bench without --prompt runs `benchBatch`
  // synthetic prompts of `benchPromptLen` ids (syntheticPrompts, made once
  // checkRequest has accepted the sizes); --gen-len is --max-new-tokens
  // under its benchmark name and sets maxNewTokens.
  int64_t benchBatch = 0;     ///< --batch (default 1)
  int64_t benchPromptLen = 0; ///< --prompt-len (default 128)
  bool usesSyntheticPrompts() const { return bench && !havePrompt; }
};

/// Defaults of --batch and --prompt-len for --bench without --prompt.
constexpr int64_t kDefaultBenchBatch = 1;
constexpr int64_t kDefaultBenchPromptLen = 128;

/// Usage text for --help.
std::string modelUsage(const std::string &program);

/// Parses `--weights=DIR|random[:SEED]`.
Expected<WeightsSpec> parseWeightsSpec(const std::string &text);

/// Parses `--prompt` (or another flag of its syntax, named `flag` in the
/// errors: --force-tokens): comma-separated ids, ';' between the prompts of
/// a batch, all prompts of one length (as llm-run).
Expected<std::vector<std::vector<int64_t>>>
parsePromptList(const std::string &text, const std::string &flag = "--prompt");

/// Parses argv (flags as --name=value or --name value; booleans bare).
Expected<ModelOptions> parseModelOptions(const std::vector<std::string> &args);

/// How one run's batch maps onto the plan.
struct RunShape {
  int64_t batch = 0;       ///< prompts
  int64_t promptLen = 0;
  int64_t maxNewTokens = 0;
  int64_t replicas = 1;    ///< batch replicas (dp, ep)
  int64_t localBatch = 0;  ///< prompts per replica
  int64_t spDegree = 1;    ///< ranks splitting the prompt (sequence axis)
};

/// Checks a request against the manifest: ids < vocab, prompt + new tokens
/// <= limits.max_seq, batch <= limits.max_batch and divisible by the batch
/// replicas and the micro-batches, prefill tokens per rank <=
/// limits.max_tokens_per_step, prompt long enough for the sequence axis.
/// For --bench without --prompt it checks the --batch and --prompt-len
/// sizes (o.prompts is empty until syntheticPrompts fills it).
Expected<RunShape> checkRequest(const Manifest &m, const ModelOptions &o);

/// The prompts of --bench without --prompt: `batch` rows of `len` ids in
/// [0, vocab), the same on every run and every rank (splitmix64 of a fixed
/// seed; special ids are not avoided).
std::vector<std::vector<int64_t>> syntheticPrompts(int64_t batch, int64_t len,
                                                   int64_t vocab);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_MODEL_OPTIONS_H
