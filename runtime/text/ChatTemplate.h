//===- ChatTemplate.h - chat templates of tokenizer_config.json -*- C++ -*-===//
//
// Renders a checkpoint's chat template (tokenizer_config.json's
// chat_template, or chat_template.jinja beside it) for a list of messages,
// with the variables transformers' apply_chat_template passes: messages,
// add_generation_prompt, the special tokens bos_token, eos_token,
// unk_token and pad_token, plus caller-supplied ones (tools,
// enable_thinking, ...).
//
// Prompt ids: a rendered template already holds the special tokens it wants
// (Llama-3 and Llama-2 templates start with BOS), so it is encoded without
// adding special tokens, as transformers and vLLM do; encodeChatPrompt's
// addSpecialTokens option adds the post-processor's tokens except a BOS the
// text already starts with (never two BOS).
//
// Immutable after loading; render() may run on many threads at once.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_CHATTEMPLATE_H
#define LLMC_RUNTIME_TEXT_CHATTEMPLATE_H

#include "runtime/text/Jinja.h"
#include "runtime/text/Tokenizer.h"

#include <string>
#include <string_view>
#include <vector>

namespace llmc::text {

/// A loaded chat template.
class ChatTemplate {
public:
  /// DIR/chat_template.jinja if present, else tokenizer_config.json's
  /// chat_template: a string, or a list of {"name", "template"} (`name`
  /// picks one; empty picks "default").
  static rt::Expected<ChatTemplate> fromDirectory(const std::string &dir,
                                                  const std::string &name = "");
  /// From tokenizer_config.json's text; `configName` names it in errors.
  static rt::Expected<ChatTemplate>
  fromConfigJson(std::string_view configJson, const std::string &configName,
                 const std::string &name = "");
  /// From a template source and the special-token strings it may use
  /// (empty: not passed to the template).
  static rt::Expected<ChatTemplate>
  fromSource(std::string_view source, const std::string &sourceName,
             const SpecialTokens &specials = {});

  /// Renders `messagesJson` (a JSON array of {"role", "content", ...}).
  /// `extraVarsJson` is a JSON object of further variables (may be empty).
  /// Errors name the template position; a template's raise_exception
  /// message is quoted.
  rt::Expected<std::string> render(std::string_view messagesJson,
                                   bool addGenerationPrompt,
                                   std::string_view extraVarsJson = {}) const;

  /// Renders a conversation given as one JSON document: either the array
  /// of messages, or an object with "messages" whose other members (tools,
  /// enable_thinking, ...) become template variables (the shape of an
  /// OpenAI-style chat request body).
  rt::Expected<std::string> renderConversation(std::string_view json,
                                               bool addGenerationPrompt) const;

  /// The template text.
  const std::string &source() const { return source_; }
  /// The special tokens it is rendered with.
  const SpecialTokens &specialTokens() const { return specials_; }

private:
  jinja::Template template_;
  std::string source_;
  std::string sourceName_;
  SpecialTokens specials_;
};

/// Token ids of a rendered chat prompt: encoded without special tokens; with
/// `addSpecialTokens`, the post-processor's tokens are added but a BOS the
/// text already starts with is not doubled.
std::vector<int32_t> encodeChatPrompt(const Tokenizer &tokenizer,
                                      std::string_view rendered,
                                      bool addSpecialTokens = false);

} // namespace llmc::text

#endif // LLMC_RUNTIME_TEXT_CHATTEMPLATE_H
