//===- TextGeneration.cpp - one text request through the engine -----------===//

#include "runtime/serve/TextGeneration.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <sstream>

namespace llmc::serve {

namespace {

using Ids = rt::Expected<std::vector<int32_t>>;

/// --chat's value: the JSON itself, or the contents of @FILE (@- stdin).
rt::Expected<std::string> chatJson(const std::string &value) {
  if (value.empty() || value[0] != '@')
    return value;
  std::string path = value.substr(1);
  if (path == "-")
    return std::string(std::istreambuf_iterator<char>(std::cin),
                       std::istreambuf_iterator<char>());
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return rt::Expected<std::string>::fromError(rt::Status::error(
        "--chat=" + value + ": cannot open the file (" +
        std::strerror(errno) + ")"));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

Ids textPromptIds(const TokenizerCodec &codec, const TextPrompt &prompt,
                  const std::string &dir) {
  if (prompt.text && prompt.chat)
    return Ids::fromError(
        rt::Status::error("--text and --chat exclude each other"));
  std::vector<int32_t> ids;
  if (prompt.text) {
    Ids encoded = codec.encode(*prompt.text);
    if (!encoded)
      return Ids::fromError(
          rt::Status::error("--text: " + encoded.status().message()));
    ids = std::move(*encoded);
  } else if (prompt.chat) {
    rt::Expected<std::string> json = chatJson(*prompt.chat);
    if (!json)
      return Ids::fromError(json.status());
    if (!codec.chatTemplate())
      return Ids::fromError(rt::Status::error(
          "--chat: " + dir +
          " has no chat template (chat_template.jinja or "
          "tokenizer_config.json's chat_template); use --text"));
    rt::Expected<std::string> rendered =
        codec.chatTemplate()->renderConversation(*json, true);
    if (!rendered)
      return Ids::fromError(
          rt::Status::error("--chat: " + rendered.status().message()));
    ids = text::encodeChatPrompt(codec.tokenizer(), *rendered);
  } else {
    return Ids::fromError(rt::Status::error("give --text or --chat"));
  }
  if (ids.empty())
    return Ids::fromError(rt::Status::error("the prompt encodes to no tokens"));
  return ids;
}

rt::Expected<int64_t> textNewTokens(const TokenizerCodec &codec,
                                    int64_t promptLen, int64_t requested,
                                    int64_t context,
                                    const std::string &contextName) {
  using E = rt::Expected<int64_t>;
  if (promptLen >= context)
    return E::fromError(rt::Status::error(
        "the prompt is " + std::to_string(promptLen) +
        " tokens; the model's context is " + std::to_string(context) + " (" +
        contextName + "), which leaves no room to generate"));
  int64_t n = requested;
  if (n == 0)
    n = codec.generationConfig().newTokenLimit(promptLen).value_or(
        context - promptLen);
  n = std::max<int64_t>(n, 1);
  if (n > context - promptLen)
    return E::fromError(rt::Status::error(
        "the prompt's " + std::to_string(promptLen) + " tokens plus " +
        std::to_string(n) + " new ones need " + std::to_string(promptLen + n) +
        " positions; the model's context is " + std::to_string(context) +
        " (" + contextName + ")"));
  return n;
}

rt::Status checkTokenizerVocab(const TokenizerCodec &codec, int64_t vocab) {
  int64_t tokens = codec.tokenizer().vocabSize();
  if (tokens > vocab)
    return rt::Status::error("the tokenizer has " + std::to_string(tokens) +
                             " tokens but the model's vocabulary only " +
                             std::to_string(vocab));
  return rt::Status::ok();
}

rt::Status checkTemperature(double temperature) {
  if (!(temperature >= 0.0 && temperature <= 2.0))
    return rt::Status::error("--temperature must be in [0, 2], got " +
                             std::to_string(temperature));
  return rt::Status::ok();
}

SamplingParams textSampling(const TokenizerCodec &codec, double temperature,
                            uint64_t seed) {
  SamplingParams p;
  p.temperature = float(temperature);
  p.seed = seed;
  if (temperature > 0.0) {
    SamplingDefaults d = codec.samplingDefaults();
    p.topP = float(d.topP);
    p.topK = int32_t(d.topK);
  }
  return p;
}

rt::Status streamTextGeneration(Engine &engine, const TokenizerCodec &codec,
                                const std::vector<int32_t> &prompt,
                                int64_t maxNewTokens,
                                const SamplingParams &sampling,
                                std::FILE *out, std::FILE *log) {
  std::unique_ptr<OutputText> text = codec.output(prompt, {});
  auto write = [out](const std::string &s) {
    if (s.empty())
      return;
    std::fwrite(s.data(), 1, s.size(), out);
    std::fflush(out);
  };
  std::promise<FinishEvent> finished;
  GenerationRequest request;
  request.spec.prompt = prompt;
  request.spec.maxTokens = maxNewTokens;
  request.spec.sampling = sampling;
  request.seeded = true;
  request.onToken = [&](const TokenEvent &event) {
    OutputText::Piece piece = text->push(event.token);
    write(piece.text);
    return !piece.stopped;
  };
  request.onFinish = [&](const FinishEvent &event) {
    finished.set_value(event);
  };
  SubmitResult submitted = engine.submit(std::move(request));
  if (submitted.code != SubmitResult::Code::Ok)
    return rt::Status::error(submitted.message);
  FinishEvent end = finished.get_future().get();
  write(text->finish() + "\n");
  if (end.reason == FinishReason::Error)
    return rt::Status::error(end.error);
  std::fprintf(log, "[%lld prompt tokens, %lld generated, finish: %s]\n",
               (long long)end.promptTokens, (long long)end.completionTokens,
               finishReasonName(end.reason));
  std::fflush(log);
  return rt::Status::ok();
}

} // namespace llmc::serve
