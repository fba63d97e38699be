//===- OpenAI.h - OpenAI API request checks and response bodies -*- C++ -*-===//
//
// The JSON side of /v1/completions and /v1/chat/completions, apart from
// HTTP so it is unit-tested directly: parseApiRequest validates a body the
// way the OpenAI API does (a 400 naming the field, a 404 for another
// model, context_length_exceeded for a prompt that does not fit), and
// ResponseWriter renders the streaming chunks and whole responses in the
// OpenAI shapes (text_completion, chat.completion[.chunk], usage,
// logprobs).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_OPENAI_H
#define LLMC_RUNTIME_SERVE_OPENAI_H

#include "runtime/serve/Engine.h"
#include "runtime/serve/Text.h"

#include <string>
#include <vector>

namespace llmc::serve {

/// An OpenAI-style error: HTTP status and the "error" object's fields.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  ///< "" renders as null
  std::string code;   ///< "" renders as null
};

/// {"error": {"message", "type", "param", "code"}}.
std::string errorBody(const ApiError &e);

enum class Endpoint { Completions, Chat };

/// What the server serves, for checking requests.
struct ApiContext {
  const TextCodec *codec = nullptr;
  std::string modelName;
  int64_t maxModelLen = 0;
  int64_t vocabSize = 0;
};

/// A checked request.
struct ApiRequest {
  Endpoint endpoint = Endpoint::Completions;
  /// The prompt's ids, sampling (logprobs: what the engine must compute),
  /// max_tokens, ignore_eos, stop_token_ids.
  SequenceSpec spec;
  bool seeded = false;       ///< "seed" was given
  std::vector<std::string> stop;
  bool stream = false;
  bool includeUsage = false; ///< stream_options.include_usage
  /// Logprobs in the response: completions' "logprobs": N (-1: none);
  /// chat's "logprobs": true (wantLogprobs) with "top_logprobs": N.
  bool wantLogprobs = false;
  int32_t topLogprobs = 0;
};

/// Parses and checks a request body. False with `error` set on a bad one.
bool parseApiRequest(const std::string &body, Endpoint endpoint,
                     const ApiContext &ctx, ApiRequest &out, ApiError &error);

/// GET /v1/models.
std::string modelsBody(const std::string &model, int64_t maxModelLen,
                       int64_t created);

/// Usage counts of a finished request.
struct Usage {
  int64_t promptTokens = 0, completionTokens = 0, cachedTokens = 0;
};

/// Renders one request's responses. Tokens given to chunk()/response()
/// are those whose text the call carries (for logprobs).
class ResponseWriter {
public:
  ResponseWriter(const ApiRequest &request, const TextCodec &codec,
                 std::string model, std::string id, int64_t created);

  /// One SSE event's JSON (without "data: "): `text` and the logprobs of
  /// `tokens`; `finishReason` "" while running. The first chat chunk
  /// also carries the assistant role.
  std::string chunk(const std::string &text,
                    const std::vector<TokenEvent> &tokens,
                    const std::string &finishReason);
  /// The last streamed event when stream_options.include_usage is set:
  /// no choices, the usage.
  std::string usageChunk(const Usage &usage) const;
  /// The whole non-streaming response.
  std::string response(const std::string &text,
                       const std::vector<TokenEvent> &tokens,
                       const std::string &finishReason,
                       const Usage &usage);
  const std::string &id() const { return id_; }

private:
  const ApiRequest &request_;
  const TextCodec &codec_;
  std::string model_, id_;
  int64_t created_;
  bool sentRole_ = false;
  int64_t textOffset_ = 0;
};

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_OPENAI_H
