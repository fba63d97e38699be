//===- Tokenizer.h - Hugging Face tokenizer.json in C++ ---------*- C++ -*-===//
//
// Encodes text to token ids and decodes ids to text exactly as the Hugging
// Face `tokenizers` library does for the tokenizer.json of a checkpoint
// (byte-level BPE of Llama-3 and Qwen, BPE with byte fallback and the
// Metaspace/Prepend handling of Llama-2, Mistral and TinyLlama), plus the
// tokenizer_config.json settings transformers applies on top of it (special
// token names, add_bos_token/add_eos_token of Llama-style tokenizers,
// clean_up_tokenization_spaces). docs/text.md lists what is supported.
//
// A Tokenizer is immutable once loaded: every const method may be called
// from many threads at once. IncrementalDecoder is per stream.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_TOKENIZER_H
#define LLMC_RUNTIME_TEXT_TOKENIZER_H

#include "runtime/abi/Status.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmc::text {

namespace detail {
class DecodeStage;
} // namespace detail

/// Options of Tokenizer::encode.
struct EncodeOptions {
  /// Add what the post-processor adds around a sequence (BOS, EOS), as
  /// transformers' add_special_tokens=True. Off by default: prompts
  /// rendered by a chat template already carry their special tokens.
  bool addSpecialTokens = false;
  /// Text equal to a special token becomes that token (the tokenizers
  /// library's default). Off: special tokens are encoded as plain text, as
  /// transformers' split_special_tokens=True (a guard against special-token
  /// injection through user content).
  bool parseSpecialTokens = true;
};

/// Options of Tokenizer::decode and IncrementalDecoder.
struct DecodeOptions {
  /// Leave out tokens marked `special` in tokenizer.json's added_tokens.
  bool skipSpecialTokens = false;
  /// transformers' clean_up_tokenization_spaces (" ." -> "." and nine
  /// more); unset: off, whatever tokenizer_config.json says, as
  /// transformers 5 does for BPE models (the clean-up is WordPiece's).
  std::optional<bool> cleanUpTokenizationSpaces;
};

/// The special tokens tokenizer_config.json names, with their ids (-1 when
/// unset or not in the vocabulary).
struct SpecialTokens {
  std::string bos, eos, pad, unk;
  int32_t bosId = -1, eosId = -1, padId = -1, unkId = -1;
};

class IncrementalDecoder;

/// A loaded tokenizer.
class Tokenizer : public std::enable_shared_from_this<Tokenizer> {
public:
  /// Loads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json.
  static rt::Expected<std::shared_ptr<const Tokenizer>>
  fromDirectory(const std::string &dir);
  /// Loads the two files (`configPath` may be empty).
  static rt::Expected<std::shared_ptr<const Tokenizer>>
  fromFiles(const std::string &tokenizerPath, const std::string &configPath);
  /// Builds from file contents; `tokenizerName` and `configName` name the
  /// sources in error messages. `configJson` may be empty.
  static rt::Expected<std::shared_ptr<const Tokenizer>>
  fromJson(std::string_view tokenizerJson, std::string_view configJson,
           const std::string &tokenizerName = "tokenizer.json",
           const std::string &configName = "tokenizer_config.json");

  ~Tokenizer();

  /// Token ids of `text`. Ill-formed UTF-8 in `text` is first replaced by
  /// U+FFFD per maximal subpart (what a Python or JavaScript caller's
  /// decoding of the same bytes produces).
  std::vector<int32_t> encode(std::string_view text,
                              const EncodeOptions &options = {}) const;
  /// Text of `ids`; an id outside the vocabulary is an error.
  rt::Expected<std::string> decode(const std::vector<int32_t> &ids,
                                   const DecodeOptions &options = {}) const;
  /// A decoder for one stream of generated ids.
  IncrementalDecoder incrementalDecoder(const DecodeOptions &options = {}) const;

  /// One past the largest id of the model vocabulary and added tokens.
  int32_t vocabSize() const;
  /// The token string of `id` (added tokens included), if any.
  std::optional<std::string> idToToken(int32_t id) const;
  /// The id of a token string (added tokens first), if any.
  std::optional<int32_t> tokenToId(std::string_view token) const;
  /// True for added tokens marked `special`.
  bool isSpecial(int32_t id) const;
  /// Special tokens from tokenizer_config.json.
  const SpecialTokens &specialTokens() const;
  /// Where this tokenizer was read from (for messages).
  const std::string &source() const;

  struct Impl;
  const Impl &impl() const { return *impl_; }

private:
  Tokenizer();
  std::unique_ptr<Impl> impl_;
};

/// Turns generated ids into text while they arrive: push() returns the text
/// that no later id can change (UTF-8 sequences completed, byte-fallback
/// runs closed, spaces the decoder may still strip held back), and the
/// concatenation of every push() and finish() equals Tokenizer::decode of
/// all ids with the same options. Not thread-safe; one per stream. Keeps
/// the tokenizer alive.
class IncrementalDecoder {
public:
  IncrementalDecoder(std::shared_ptr<const Tokenizer> tokenizer,
                     const DecodeOptions &options);
  IncrementalDecoder(IncrementalDecoder &&) noexcept;
  IncrementalDecoder &operator=(IncrementalDecoder &&) noexcept;
  ~IncrementalDecoder();

  /// Feeds one id; the text that became final. An id outside the
  /// vocabulary is an error (the decoder is unchanged).
  rt::Expected<std::string> push(int32_t id);
  /// Ends the stream: the text still held back. The decoder is then reset
  /// for a new stream.
  std::string finish();

private:
  void reset();
  std::shared_ptr<const Tokenizer> tokenizer_;
  DecodeOptions options_;
  bool cleanUp_ = false;
  std::unique_ptr<detail::DecodeStage> stage_;
  std::unique_ptr<detail::DecodeStage> cleanup_;
};

} // namespace llmc::text

#endif // LLMC_RUNTIME_TEXT_TOKENIZER_H
