//===- Text.h - what the server needs from the text library -----*- C++ -*-===//
//
// The HTTP layer turns prompts and chat messages into token ids and
// generated ids back into text through this interface only. runtime/text
// (tokenizer.json, chat templates, generation_config.json) implements it
// for real checkpoints; test/serve/ByteCodec implements it with one token
// per byte for the tests and the stub server.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_TEXT_H
#define LLMC_RUNTIME_SERVE_TEXT_H

#include "runtime/abi/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmc::serve {

/// One message of a chat (content already flattened to text).
struct ChatMessage {
  std::string role;    ///< "system", "user", "assistant", "tool", ...
  std::string content;
};

/// The generated text of one request, built token by token: incremental
/// detokenization (text appears once it is final: complete UTF-8, no
/// pending merge) and stop strings (text that could still begin a stop
/// string is held back; a completed stop string ends the request and is not
/// part of the text). Special tokens (EOS) produce no text.
class OutputText {
public:
  virtual ~OutputText() = default;
  struct Piece {
    std::string text;     ///< newly final text (may be empty)
    bool stopped = false; ///< a stop string completed: the request ends
  };
  /// Appends one generated token.
  virtual Piece push(int32_t token) = 0;
  /// The request ended for another reason: the held-back rest.
  virtual std::string finish() = 0;
};

/// The model's sampling defaults (generation_config.json) for the fields a
/// request leaves out; the OpenAI defaults otherwise.
struct SamplingDefaults {
  double temperature = 1.0;
  double topP = 1.0;
  int64_t topK = 0; ///< 0: no cut
};

class TextCodec {
public:
  virtual ~TextCodec() = default;
  /// Defaults for temperature, top_p and top_k.
  virtual SamplingDefaults samplingDefaults() const { return {}; }
  /// A completion prompt's ids (with the BOS token the tokenizer adds).
  virtual rt::Expected<std::vector<int32_t>>
  encode(const std::string &text) const = 0;
  /// A chat rendered with the model's chat template (generation prompt
  /// added) and encoded. Errors (unknown role, template failure) become
  /// HTTP 400 naming "messages".
  virtual rt::Expected<std::vector<int32_t>>
  encodeChat(const std::vector<ChatMessage> &messages) const = 0;
  /// The output of a request with prompt `prompt` and stop strings `stop`.
  virtual std::unique_ptr<OutputText>
  output(const std::vector<int32_t> &prompt,
         const std::vector<std::string> &stop) const = 0;
  /// One token as text, for logprobs ("tokens", "top_logprobs"): valid
  /// UTF-8 (bytes that are not are shown as "bytes:\xNN").
  virtual std::string tokenText(int32_t token) const = 0;
  /// One token's raw bytes (chat logprobs' "bytes").
  virtual std::string tokenBytes(int32_t token) const = 0;
};

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_TEXT_H
