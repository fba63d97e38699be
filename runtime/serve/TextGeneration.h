//===- TextGeneration.h - one text request through the engine ---*- C++ -*-===//
//
// What `llm-run --text/--chat` (CPU reference) and `llm-model --text/--chat`
// (the compiled GPU binary) share, so the two tools read the same flags
// the same way: the prompt (--text encoded with the tokenizer's BOS, or
// --chat messages rendered with the chat template's generation prompt),
// the new-token budget (--max-new-tokens, else generation_config.json's,
// else the rest of the context), the sampling of --temperature / --seed
// (top_p and top_k from generation_config.json when sampling), and one
// request run on a serving Engine with its text streamed as the
// incremental decoder releases it.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_TEXTGENERATION_H
#define LLMC_RUNTIME_SERVE_TEXTGENERATION_H

#include "runtime/serve/Engine.h"
#include "runtime/serve/TokenizerCodec.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace llmc::serve {

/// The prompt flags: exactly one of them is set.
struct TextPrompt {
  std::optional<std::string> text; ///< --text
  /// --chat: a JSON array of messages (or an object with "messages" and
  /// template variables), or @FILE (@- reads stdin).
  std::optional<std::string> chat;
};

/// The prompt's ids for the tokenizer folder `dir` (named in errors).
/// Errors name the flag: "--text and --chat exclude each other", a --chat
/// file that cannot be read, a folder without a chat template, a template
/// that fails, a prompt that encodes to no tokens.
rt::Expected<std::vector<int32_t>> textPromptIds(const TokenizerCodec &codec,
                                                 const TextPrompt &prompt,
                                                 const std::string &dir);

/// New tokens for a prompt of `promptLen` ids in a context of `context`
/// positions (`contextName` says where that limit comes from, e.g.
/// "max_position_embeddings"): `requested`, or with 0 generation_config's
/// max_new_tokens / max_length, else the rest of the context. A prompt
/// that leaves no room, or a request beyond the context, is refused naming
/// both lengths.
rt::Expected<int64_t> textNewTokens(const TokenizerCodec &codec,
                                    int64_t promptLen, int64_t requested,
                                    int64_t context,
                                    const std::string &contextName);

/// Refuses a tokenizer with more ids than the model's vocabulary.
rt::Status checkTokenizerVocab(const TokenizerCodec &codec, int64_t vocab);

/// --temperature must be in [0, 2] (0: greedy).
rt::Status checkTemperature(double temperature);

/// The sampling of --temperature and --seed: greedy at 0; otherwise the
/// seed's draws with generation_config.json's top_p and top_k.
SamplingParams textSampling(const TokenizerCodec &codec, double temperature,
                            uint64_t seed);

/// Runs one request on `engine` and writes its text to `out` as it is
/// decoded (stop strings cut it), then a newline, and
/// "[N prompt tokens, M generated, finish: REASON]" to `log`. Returns an
/// error for a refused or failed request.
rt::Status streamTextGeneration(Engine &engine, const TokenizerCodec &codec,
                                const std::vector<int32_t> &prompt,
                                int64_t maxNewTokens,
                                const SamplingParams &sampling,
                                std::FILE *out, std::FILE *log);

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_TEXTGENERATION_H
