//===- GenerationConfig.h - generation_config.json and stop strings -*- C++ -*-===//
//
// The generation defaults a checkpoint ships: stop token ids (the union of
// generation_config.json's and config.json's eos_token_id and the
// tokenizer's eos token), temperature / top_p / top_k / do_sample,
// max_new_tokens and max_length, stop strings; and StopMatcher, which cuts
// generated text at the first stop string and says how much text is safe to
// show while a stop string may still be forming.
//
// Sampling itself (seeded, reproducible) is the runtime's: Sampling.cu and
// the CPU reference executor take the parameters resolved here.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_GENERATIONCONFIG_H
#define LLMC_RUNTIME_TEXT_GENERATIONCONFIG_H

#include "runtime/abi/Status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmc::text {

class Tokenizer;

/// Sampling parameters with transformers' defaults applied.
struct SamplingDefaults {
  /// 0 means greedy (do_sample false or absent, as transformers).
  double temperature = 0.0;
  double topP = 1.0;
  /// 0 means no top-k cut.
  int64_t topK = 0;
};

/// What generation_config.json (and config.json) say.
struct GenerationConfig {
  /// Stop token ids, in first-seen order without repeats.
  std::vector<int32_t> eosTokenIds;
  std::optional<int32_t> bosTokenId, padTokenId;
  std::optional<bool> doSample;
  std::optional<double> temperature, topP, repetitionPenalty;
  std::optional<int64_t> topK, maxNewTokens, maxLength;
  std::vector<std::string> stopStrings;

  /// DIR/generation_config.json and DIR/config.json, each optional; the
  /// tokenizer's eos token (if given) joins the stop ids.
  static rt::Expected<GenerationConfig>
  fromDirectory(const std::string &dir, const Tokenizer *tokenizer = nullptr);
  /// From file contents (either may be empty); the names are for errors.
  static rt::Expected<GenerationConfig>
  fromJson(std::string_view generationJson, std::string_view configJson,
           const std::string &generationName = "generation_config.json",
           const std::string &configName = "config.json");

  /// True for a stop token id.
  bool isStopToken(int32_t id) const;
  /// Adds a stop id unless present.
  void addStopToken(int32_t id);
  /// transformers' reading: sampling only with do_sample true; then
  /// temperature 1.0, top_p 1.0 and top_k 50 unless the file says otherwise.
  SamplingDefaults sampling() const;
  /// New tokens allowed for a prompt of `promptLen` ids: max_new_tokens, or
  /// max_length - promptLen, or nullopt when neither is set.
  std::optional<int64_t> newTokenLimit(int64_t promptLen) const;
};

/// Cuts streamed text at the first occurrence of any stop string.
/// push() returns the text that is safe to show: everything except a tail
/// that is the start of some stop string. Once a stop string has appeared,
/// stopped() is true, the text before it has been returned, and the stop
/// string itself and everything after are dropped (as vLLM without
/// include_stop_str_in_output). Not thread-safe; one per stream.
class StopMatcher {
public:
  explicit StopMatcher(std::vector<std::string> stops);

  /// Feeds newly generated text; returns the text now safe to emit.
  std::string push(std::string_view text);
  /// End of the stream: the held-back tail (empty after a stop).
  std::string finish();
  bool stopped() const { return stopped_; }
  /// The stop string that ended the stream.
  const std::string &matched() const { return matched_; }
  /// Bytes currently held back because a stop string may be forming.
  size_t heldBack() const { return pending_.size(); }

private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
  std::string matched_;
};

} // namespace llmc::text

#endif // LLMC_RUNTIME_TEXT_GENERATIONCONFIG_H
