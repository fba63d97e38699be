//===- TokenizerCodec.h - the server's text through runtime/text -*- C++ -*-===//
//
// The TextCodec of real checkpoints: a tokenizer folder's tokenizer.json
// and tokenizer_config.json (runtime/text Tokenizer), its chat template
// (chat_template.jinja or tokenizer_config.json's), and
// generation_config.json (stop ids, stop strings, sampling defaults).
// Both `llm-run serve` and `llm-model serve` serve through it.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_TOKENIZERCODEC_H
#define LLMC_RUNTIME_SERVE_TOKENIZERCODEC_H

#include "runtime/serve/Text.h"
#include "runtime/text/ChatTemplate.h"
#include "runtime/text/GenerationConfig.h"
#include "runtime/text/Tokenizer.h"

#include <memory>
#include <optional>

namespace llmc::serve {

class TokenizerCodec : public TextCodec {
public:
  /// Loads DIR/tokenizer.json (required), tokenizer_config.json, the chat
  /// template and generation_config.json / config.json (each optional; a
  /// chat request to a folder without a template is refused with a 400).
  static rt::Expected<std::unique_ptr<TokenizerCodec>>
  fromDirectory(const std::string &dir);

  /// Completion prompts get the tokenizer's special tokens (BOS), as
  /// transformers' encode() and vLLM do.
  rt::Expected<std::vector<int32_t>>
  encode(const std::string &text) const override;
  /// Rendered with the generation prompt and encoded without adding
  /// special tokens (the template writes them), as apply_chat_template.
  rt::Expected<std::vector<int32_t>>
  encodeChat(const std::vector<ChatMessage> &messages) const override;
  /// Incremental detokenization (special tokens skipped) cut by the
  /// request's stop strings and generation_config.json's.
  std::unique_ptr<OutputText>
  output(const std::vector<int32_t> &prompt,
         const std::vector<std::string> &stop) const override;
  std::string tokenText(int32_t token) const override;
  std::string tokenBytes(int32_t token) const override;
  /// generation_config.json's temperature, top_p and top_k where given
  /// (as vLLM's --generation-config auto: do_sample is not consulted).
  SamplingDefaults samplingDefaults() const override;

  /// The stop ids: generation_config.json's and config.json's
  /// eos_token_id and the tokenizer's eos token.
  const std::vector<int32_t> &eosTokenIds() const {
    return generation_.eosTokenIds;
  }
  const text::Tokenizer &tokenizer() const { return *tokenizer_; }
  const text::GenerationConfig &generationConfig() const { return generation_; }
  /// The chat template, if the folder has one.
  const text::ChatTemplate *chatTemplate() const {
    return chat_ ? &*chat_ : nullptr;
  }

private:
  TokenizerCodec() = default;
  std::shared_ptr<const text::Tokenizer> tokenizer_;
  std::optional<text::ChatTemplate> chat_;
  std::string chatError_; ///< why there is no template
  text::GenerationConfig generation_;
};

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_TOKENIZERCODEC_H
