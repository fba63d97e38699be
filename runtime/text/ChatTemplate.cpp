//===- ChatTemplate.cpp - chat templates of tokenizer_config.json ---------===//

#include "runtime/text/ChatTemplate.h"

#include "runtime/text/FileUtil.h"

#include <nlohmann/json.hpp>

namespace llmc::text {

using rt::Expected;
using rt::Status;
using Json = nlohmann::json;

namespace {

/// A special-token entry: "text" or {"content": "text", ...}.
std::string tokenText(const Json &config, const char *key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null())
    return "";
  if (it->is_string())
    return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return "";
}

} // namespace

Expected<ChatTemplate> ChatTemplate::fromSource(std::string_view source,
                                                const std::string &sourceName,
                                                const SpecialTokens &specials) {
  Expected<jinja::Template> t = jinja::Template::parse(source, sourceName);
  if (!t)
    return Expected<ChatTemplate>::fromError(t.status());
  ChatTemplate c;
  c.template_ = std::move(*t);
  c.source_ = std::string(source);
  c.sourceName_ = sourceName;
  c.specials_ = specials;
  return c;
}

Expected<ChatTemplate> ChatTemplate::fromConfigJson(std::string_view configJson,
                                                    const std::string &configName,
                                                    const std::string &name) {
  using Result = Expected<ChatTemplate>;
  Json config = Json::parse(configJson.begin(), configJson.end(), nullptr,
                            /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object())
    return Result::fromError(
        Status::error(configName + ": not a valid JSON object"));
  SpecialTokens specials;
  specials.bos = tokenText(config, "bos_token");
  specials.eos = tokenText(config, "eos_token");
  specials.unk = tokenText(config, "unk_token");
  specials.pad = tokenText(config, "pad_token");
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null())
    return Result::fromError(Status::error(
        configName + ": field 'chat_template' is missing (the checkpoint has "
                     "no chat template; send plain text instead)"));
  std::string wanted = name.empty() ? "default" : name;
  if (it->is_string())
    return fromSource(it->get<std::string>(),
                      configName + " (chat_template)", specials);
  if (it->is_array()) {
    std::string names;
    for (const Json &entry : *it) {
      if (!entry.is_object() || !entry.contains("name") ||
          !entry["name"].is_string() || !entry.contains("template") ||
          !entry["template"].is_string())
        return Result::fromError(Status::error(
            configName + ": field 'chat_template': a list entry must be "
                         "{\"name\": string, \"template\": string}"));
      std::string n = entry["name"];
      names += (names.empty() ? "" : ", ") + n;
      if (n == wanted)
        return fromSource(entry["template"].get<std::string>(),
                          configName + " (chat_template '" + n + "')",
                          specials);
    }
    return Result::fromError(Status::error(
        configName + ": field 'chat_template' has no template named '" +
        wanted + "' (it has: " + names + ")"));
  }
  return Result::fromError(Status::error(
      configName + ": field 'chat_template' must be a string or a list of "
                   "named templates"));
}

Expected<ChatTemplate> ChatTemplate::fromDirectory(const std::string &dir,
                                                   const std::string &name) {
  using Result = Expected<ChatTemplate>;
  std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  std::string configPath = base + "tokenizer_config.json";
  std::string config;
  if (fileExists(configPath)) {
    Expected<std::string> c = readFile(configPath);
    if (!c)
      return Result::fromError(c.status());
    config = std::move(*c);
  }
  std::string jinjaPath = base + "chat_template.jinja";
  if (fileExists(jinjaPath) && name.empty()) {
    Expected<std::string> src = readFile(jinjaPath);
    if (!src)
      return Result::fromError(src.status());
    SpecialTokens specials;
    if (!config.empty()) {
      Json j = Json::parse(config, nullptr, false);
      if (j.is_object()) {
        specials.bos = tokenText(j, "bos_token");
        specials.eos = tokenText(j, "eos_token");
        specials.unk = tokenText(j, "unk_token");
        specials.pad = tokenText(j, "pad_token");
      }
    }
    return fromSource(*src, jinjaPath, specials);
  }
  if (config.empty())
    return Result::fromError(Status::error(
        configPath + ": cannot open the file (and there is no " + jinjaPath +
        "); a chat template is needed to render messages"));
  return fromConfigJson(config, configPath, name);
}

namespace {

/// The checks transformers leaves to the template, done here so a bad
/// request gets one clear message.
Status checkMessages(const jinja::Value &messages) {
  if (!messages.isList())
    return Status::error("messages: expected a JSON array of "
                         "{\"role\": ..., \"content\": ...} objects, got " +
                         messages.typeName());
  for (size_t i = 0; i < messages.list().size(); ++i) {
    const jinja::Value &m = messages.list()[i];
    std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.isDict())
      return Status::error(where + ": expected an object, got " + m.typeName());
    const jinja::Value *role = m.dict().find("role");
    if (!role || !role->isString())
      return Status::error(where + ": field 'role' must be a string");
  }
  return Status::ok();
}

} // namespace

Expected<std::string> ChatTemplate::render(std::string_view messagesJson,
                                           bool addGenerationPrompt,
                                           std::string_view extraVarsJson) const {
  using Result = Expected<std::string>;
  Expected<jinja::Value> messages = jinja::Value::fromJson(messagesJson);
  if (!messages)
    return Result::fromError(
        Status::error("messages: " + messages.status().message()));
  if (Status s = checkMessages(*messages); !s)
    return Result::fromError(s);
  auto vars = std::make_shared<jinja::Dict>();
  auto setToken = [&](const char *key, const std::string &v) {
    if (!v.empty())
      vars->set(key, jinja::Value(v));
  };
  setToken("bos_token", specials_.bos);
  setToken("eos_token", specials_.eos);
  setToken("unk_token", specials_.unk);
  setToken("pad_token", specials_.pad);
  vars->set("messages", *messages);
  vars->set("add_generation_prompt", jinja::Value(addGenerationPrompt));
  if (!extraVarsJson.empty()) {
    Expected<jinja::Value> extra = jinja::Value::fromJson(extraVarsJson);
    if (!extra)
      return Result::fromError(
          Status::error("template variables: " + extra.status().message()));
    if (!extra->isDict())
      return Result::fromError(Status::error(
          "template variables: expected a JSON object, got " +
          extra->typeName()));
    for (const auto &[k, v] : extra->dict().entries)
      vars->set(k, v);
  }
  return template_.render(jinja::Value(std::move(vars)));
}

Expected<std::string>
ChatTemplate::renderConversation(std::string_view json,
                                 bool addGenerationPrompt) const {
  using Result = Expected<std::string>;
  using OJson = nlohmann::ordered_json;
  OJson doc = OJson::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded())
    return Result::fromError(Status::error(
        "conversation: not valid JSON (truncated or malformed)"));
  if (doc.is_array())
    return render(json, addGenerationPrompt);
  if (!doc.is_object() || !doc.contains("messages"))
    return Result::fromError(Status::error(
        "conversation: expected a JSON array of messages or an object with "
        "\"messages\""));
  OJson messages = doc["messages"];
  doc.erase("messages");
  return render(messages.dump(), addGenerationPrompt, doc.dump());
}

std::vector<int32_t> encodeChatPrompt(const Tokenizer &tokenizer,
                                      std::string_view rendered,
                                      bool addSpecialTokens) {
  EncodeOptions plain;
  std::vector<int32_t> ids = tokenizer.encode(rendered, plain);
  if (!addSpecialTokens)
    return ids;
  EncodeOptions special;
  special.addSpecialTokens = true;
  std::vector<int32_t> withSpecial = tokenizer.encode(rendered, special);
  // The post-processor only adds tokens around the text: find its prefix.
  size_t prefix = 0;
  while (prefix < withSpecial.size() &&
         !(withSpecial.size() - prefix >= ids.size() &&
           std::equal(ids.begin(), ids.end(), withSpecial.begin() + prefix)))
    ++prefix;
  int32_t bos = tokenizer.specialTokens().bosId;
  if (prefix > 0 && bos >= 0 && withSpecial[prefix - 1] == bos &&
      !ids.empty() && ids.front() == bos)
    withSpecial.erase(withSpecial.begin() + (prefix - 1));
  return withSpecial;
}

} // namespace llmc::text
