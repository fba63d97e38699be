//===- TokenizerCodec.cpp - the server's text through runtime/text --------===//

#include "runtime/serve/TokenizerCodec.h"

#include "runtime/text/Unicode.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace llmc::serve {

namespace {

using Ids = rt::Expected<std::vector<int32_t>>;

/// Detokenizes one request's tokens and cuts the text at stop strings.
class TokenizerOutput : public OutputText {
public:
  TokenizerOutput(const text::Tokenizer &tokenizer,
                  std::vector<std::string> stop)
      : decoder_(tokenizer.incrementalDecoder(skipSpecial())),
        stops_(std::move(stop)) {}

  Piece push(int32_t token) override {
    Piece piece;
    if (stops_.stopped())
      return piece;
    // An id the tokenizer does not know (a model vocabulary larger than
    // the tokenizer's) has no text.
    rt::Expected<std::string> text = decoder_.push(token);
    if (text)
      piece.text = stops_.push(*text);
    piece.stopped = stops_.stopped();
    return piece;
  }

  std::string finish() override {
    if (stops_.stopped())
      return "";
    std::string rest = stops_.push(decoder_.finish());
    return stops_.stopped() ? rest : rest + stops_.finish();
  }

private:
  static text::DecodeOptions skipSpecial() {
    text::DecodeOptions o;
    o.skipSpecialTokens = true;
    return o;
  }
  text::IncrementalDecoder decoder_;
  text::StopMatcher stops_;
};

} // namespace

rt::Expected<std::unique_ptr<TokenizerCodec>>
TokenizerCodec::fromDirectory(const std::string &dir) {
  using Result = rt::Expected<std::unique_ptr<TokenizerCodec>>;
  std::unique_ptr<TokenizerCodec> codec(new TokenizerCodec());
  rt::Expected<std::shared_ptr<const text::Tokenizer>> tok =
      text::Tokenizer::fromDirectory(dir);
  if (!tok)
    return Result::fromError(tok.status());
  codec->tokenizer_ = *tok;
  rt::Expected<text::ChatTemplate> chat = text::ChatTemplate::fromDirectory(dir);
  if (chat)
    codec->chat_ = std::move(*chat);
  else
    codec->chatError_ = chat.status().message();
  rt::Expected<text::GenerationConfig> gen =
      text::GenerationConfig::fromDirectory(dir, codec->tokenizer_.get());
  if (!gen)
    return Result::fromError(gen.status());
  codec->generation_ = std::move(*gen);
  return codec;
}

Ids TokenizerCodec::encode(const std::string &text) const {
  text::EncodeOptions o;
  o.addSpecialTokens = true;
  return tokenizer_->encode(text, o);
}

Ids TokenizerCodec::encodeChat(const std::vector<ChatMessage> &messages) const {
  if (!chat_)
    return Ids::fromError(rt::Status::error(chatError_));
  nlohmann::json list = nlohmann::json::array();
  for (const ChatMessage &m : messages)
    list.push_back({{"role", m.role}, {"content", m.content}});
  rt::Expected<std::string> rendered =
      chat_->render(list.dump(), /*addGenerationPrompt=*/true);
  if (!rendered)
    return Ids::fromError(rendered.status());
  return text::encodeChatPrompt(*tokenizer_, *rendered);
}

std::unique_ptr<OutputText>
TokenizerCodec::output(const std::vector<int32_t> &,
                       const std::vector<std::string> &stop) const {
  std::vector<std::string> stops = stop;
  for (const std::string &s : generation_.stopStrings)
    if (!s.empty())
      stops.push_back(s);
  return std::make_unique<TokenizerOutput>(*tokenizer_, std::move(stops));
}

std::string TokenizerCodec::tokenBytes(int32_t token) const {
  // A byte-fallback token is one raw byte, which decoding alone would
  // turn into U+FFFD.
  std::optional<std::string> piece = tokenizer_->idToToken(token);
  unsigned byte = 0;
  if (piece && piece->size() == 6 &&
      std::sscanf(piece->c_str(), "<0x%2X>", &byte) == 1)
    return std::string(1, char(byte));
  // Decoders strip a leading space at the start of a text (Metaspace,
  // Strip), which a token in the middle of an answer keeps: the token's text
  // is what it adds after a copy of itself.
  rt::Expected<std::string> one = tokenizer_->decode({token});
  rt::Expected<std::string> two = tokenizer_->decode({token, token});
  if (one && two && two->size() >= one->size() &&
      two->compare(0, one->size(), *one) == 0)
    return two->substr(one->size());
  return one ? *one : "";
}

std::string TokenizerCodec::tokenText(int32_t token) const {
  std::string bytes = tokenBytes(token);
  if (text::isValidUtf8(bytes))
    return bytes;
  std::string shown = "bytes:";
  for (unsigned char c : bytes) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "\\x%02x", unsigned(c));
    shown += buf;
  }
  return shown;
}

SamplingDefaults TokenizerCodec::samplingDefaults() const {
  SamplingDefaults d;
  if (generation_.temperature)
    d.temperature = *generation_.temperature;
  if (generation_.topP)
    d.topP = *generation_.topP;
  if (generation_.topK)
    d.topK = *generation_.topK;
  return d;
}

} // namespace llmc::serve
