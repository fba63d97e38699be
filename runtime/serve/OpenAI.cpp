//===- OpenAI.cpp - OpenAI API request checks and response bodies ---------===//
//
// Field rules follow the OpenAI API reference (and vLLM's extensions:
// top_k, ignore_eos, stop_token_ids). What this server cannot do (n > 1,
// echo, penalties, logit_bias, tools) is refused by name rather than
// ignored, so a client never silently gets something else.
//
//===----------------------------------------------------------------------===//

#include "runtime/serve/OpenAI.h"

#include <nlohmann/json.hpp>

#include <climits>
#include <cmath>
#include <cstdio>

namespace llmc::serve {

using json = nlohmann::json;

namespace {

std::string dump(const json &j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// Typed access to the fields of a request object; the first failure
/// sticks in `error`, naming the field.
class Fields {
public:
  Fields(const json &body, ApiError &error) : body_(body), error_(error) {}

  bool failed() const { return failed_; }
  bool fail(const std::string &param, const std::string &message,
            const std::string &code = "") {
    if (!failed_) {
      failed_ = true;
      error_ = ApiError();
      error_.param = param;
      error_.message = message;
      error_.code = code;
    }
    return false;
  }
  /// The field, or nullptr when absent or null.
  const json *get(const char *name) const {
    auto it = body_.find(name);
    if (it == body_.end() || it->is_null())
      return nullptr;
    return &*it;
  }
  bool number(const char *name, double &out, double min, double max,
              bool minOpen = false) {
    const json *v = get(name);
    if (!v || failed_)
      return v != nullptr && !failed_;
    if (!v->is_number())
      return fail(name, std::string("'") + name + "' must be a number, got " +
                            v->type_name());
    double d = v->get<double>();
    if (!std::isfinite(d) || d < min || d > max || (minOpen && d == min))
      return fail(name, std::string("'") + name + "' is " + dump(*v) +
                            "; it must be in " + (minOpen ? "(" : "[") +
                            num(min) + ", " + num(max) + "]");
    out = d;
    return true;
  }
  bool integer(const char *name, int64_t &out, int64_t min, int64_t max) {
    const json *v = get(name);
    if (!v || failed_)
      return v != nullptr && !failed_;
    if (!v->is_number_integer())
      return fail(name, std::string("'") + name + "' must be an integer, got " +
                            dump(*v));
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
      return fail(name, std::string("'") + name + "' is too large");
    int64_t i = v->get<int64_t>();
    if (i < min || i > max)
      return fail(name, std::string("'") + name + "' is " + std::to_string(i) +
                            "; it must be in [" + std::to_string(min) + ", " +
                            std::to_string(max) + "]");
    out = i;
    return true;
  }
  bool boolean(const char *name, bool &out) {
    const json *v = get(name);
    if (!v || failed_)
      return v != nullptr && !failed_;
    if (!v->is_boolean())
      return fail(name, std::string("'") + name + "' must be true or false, got " +
                            dump(*v));
    out = v->get<bool>();
    return true;
  }
  /// Refuses a field this server does not implement unless it has its
  /// neutral value.
  void unsupported(const char *name, const json &neutral,
                   const std::string &why) {
    const json *v = get(name);
    if (!v || failed_ || *v == neutral)
      return;
    if (neutral.is_object() && v->is_object() && v->empty())
      return;
    if (neutral.is_array() && v->is_array() && v->empty())
      return;
    fail(name, std::string("'") + name + "' is not supported by this server: " +
                   why);
  }

private:
  static std::string num(double d) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", d);
    return buf;
  }
  const json &body_;
  ApiError &error_;
  bool failed_ = false;
};

bool tokenIds(const json &arr, const char *param, int64_t vocab,
              std::vector<int32_t> &out, Fields &f) {
  for (size_t i = 0; i < arr.size(); ++i) {
    const json &t = arr[i];
    if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
        t.get<int64_t>() >= vocab)
      return f.fail(param, std::string("'") + param + "[" + std::to_string(i) +
                               "]' is " + dump(t) +
                               "; token ids must be integers in [0, " +
                               std::to_string(vocab) + ")");
    out.push_back(int32_t(t.get<int64_t>()));
  }
  return true;
}

bool parsePrompt(const json &body, const ApiContext &ctx, ApiRequest &out,
                 Fields &f) {
  const json *p = f.get("prompt");
  if (!p)
    return f.fail("prompt", "'prompt' is required");
  const json *one = p;
  if (p->is_array() && !p->empty() && !(*p)[0].is_number()) {
    if (p->size() != 1)
      return f.fail("prompt", "'prompt' holds " + std::to_string(p->size()) +
                                  " prompts; this server takes one per "
                                  "request");
    one = &(*p)[0];
  }
  if (one->is_string()) {
    rt::Expected<std::vector<int32_t>> ids =
        ctx.codec->encode(one->get<std::string>());
    if (!ids)
      return f.fail("prompt", "'prompt' cannot be tokenized: " +
                                  ids.status().message());
    out.spec.prompt = std::move(*ids);
  } else if (one->is_array()) {
    if (!tokenIds(*one, "prompt", ctx.vocabSize, out.spec.prompt, f))
      return false;
  } else {
    return f.fail("prompt", "'prompt' must be a string, an array of token "
                            "ids, or an array of one of those");
  }
  if (out.spec.prompt.empty())
    return f.fail("prompt", "'prompt' is empty");
  return true;
}

bool parseMessages(const json &body, const ApiContext &ctx, ApiRequest &out,
                   Fields &f) {
  const json *m = f.get("messages");
  if (!m)
    return f.fail("messages", "'messages' is required");
  if (!m->is_array() || m->empty())
    return f.fail("messages", "'messages' must be a non-empty array");
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < m->size(); ++i) {
    const json &msg = (*m)[i];
    std::string at = "messages[" + std::to_string(i) + "]";
    if (!msg.is_object())
      return f.fail(at, "'" + at + "' must be an object");
    auto role = msg.find("role");
    if (role == msg.end() || !role->is_string())
      return f.fail(at + ".role", "'" + at + ".role' must be a string");
    ChatMessage cm;
    cm.role = role->get<std::string>();
    auto content = msg.find("content");
    if (content == msg.end() || content->is_null()) {
      // An assistant turn may carry no text.
    } else if (content->is_string()) {
      cm.content = content->get<std::string>();
    } else if (content->is_array()) {
      for (size_t j = 0; j < content->size(); ++j) {
        const json &part = (*content)[j];
        std::string pat = at + ".content[" + std::to_string(j) + "]";
        auto type = part.is_object() ? part.find("type") : part.end();
        auto text = part.is_object() ? part.find("text") : part.end();
        if (type == part.end() || *type != "text" || text == part.end() ||
            !text->is_string())
          return f.fail(pat, "'" + pat +
                                 "' must be {\"type\": \"text\", \"text\": "
                                 "...}; this server takes text only");
        cm.content += text->get<std::string>();
      }
    } else {
      return f.fail(at + ".content",
                    "'" + at + ".content' must be a string or an array of "
                               "text parts");
    }
    messages.push_back(std::move(cm));
  }
  rt::Expected<std::vector<int32_t>> ids = ctx.codec->encodeChat(messages);
  if (!ids)
    return f.fail("messages", "'messages' cannot be rendered: " +
                                  ids.status().message());
  out.spec.prompt = std::move(*ids);
  if (out.spec.prompt.empty())
    return f.fail("messages", "'messages' renders to an empty prompt");
  return true;
}

bool parseStop(const json &body, ApiRequest &out, Fields &f) {
  const json *s = f.get("stop");
  if (!s)
    return true;
  std::vector<json> items;
  if (s->is_string())
    items.push_back(*s);
  else if (s->is_array())
    items.assign(s->begin(), s->end());
  else
    return f.fail("stop", "'stop' must be a string or an array of strings");
  for (const json &i : items) {
    if (!i.is_string() || i.get<std::string>().empty())
      return f.fail("stop", "'stop' entries must be non-empty strings, got " +
                                dump(i));
    out.stop.push_back(i.get<std::string>());
  }
  return true;
}

} // namespace

std::string errorBody(const ApiError &e) {
  json err = {{"message", e.message},
              {"type", e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
  return dump(json{{"error", err}});
}

bool parseApiRequest(const std::string &text, Endpoint endpoint,
                     const ApiContext &ctx, ApiRequest &out, ApiError &error) {
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    error = ApiError();
    error.message = "the request body is not valid JSON";
    return false;
  }
  Fields f(body, error);
  if (!body.is_object())
    return f.fail("", "the request body must be a JSON object");
  out = ApiRequest();
  out.endpoint = endpoint;
  bool chat = endpoint == Endpoint::Chat;

  if (const json *m = f.get("model")) {
    if (!m->is_string())
      return f.fail("model", "'model' must be a string");
    if (m->get<std::string>() != ctx.modelName) {
      f.fail("model",
             "The model `" + m->get<std::string>() +
                 "` does not exist; this server serves `" + ctx.modelName + "`",
             "model_not_found");
      error.status = 404;
      error.param = "model";
      return false;
    }
  }

  int64_t n = 1;
  if (f.integer("n", n, INT64_MIN, INT64_MAX) && n != 1)
    return f.fail("n", "'n' is " + std::to_string(n) +
                           "; this server generates one choice per request "
                           "(n = 1)");
  int64_t bestOf = 1;
  if (!chat && f.integer("best_of", bestOf, INT64_MIN, INT64_MAX) &&
      bestOf != 1)
    return f.fail("best_of", "'best_of' must be 1 on this server");
  f.unsupported("presence_penalty", 0, "only 0 is accepted");
  f.unsupported("frequency_penalty", 0, "only 0 is accepted");
  f.unsupported("repetition_penalty", 1, "only 1 is accepted");
  f.unsupported("logit_bias", json::object(), "only {} is accepted");
  if (chat) {
    f.unsupported("tools", json::array(), "no tool calling");
    f.unsupported("functions", json::array(), "no function calling");
    if (const json *rf = f.get("response_format"))
      if (!rf->is_object() || !rf->contains("type") || (*rf)["type"] != "text")
        f.fail("response_format", "'response_format' is not supported by "
                                  "this server: only {\"type\": \"text\"}");
  } else {
    f.unsupported("echo", false, "the prompt is never echoed");
    f.unsupported("suffix", json(nullptr), "no suffix insertion");
  }
  if (f.failed())
    return false;

  if (!(chat ? parseMessages(body, ctx, out, f) : parsePrompt(body, ctx, out, f)))
    return false;

  SamplingDefaults defaults =
      ctx.codec ? ctx.codec->samplingDefaults() : SamplingDefaults();
  double temperature = defaults.temperature, topP = defaults.topP;
  f.number("temperature", temperature, 0.0, 2.0);
  f.number("top_p", topP, 0.0, 1.0, /*minOpen=*/true);
  int64_t topK = defaults.topK;
  if (f.integer("top_k", topK, -1, INT32_MAX) && topK < 0)
    topK = 0;
  int64_t seed = 0;
  out.seeded = f.integer("seed", seed, INT64_MIN, INT64_MAX);
  f.boolean("stream", out.stream);
  f.boolean("ignore_eos", out.spec.ignoreEos);
  if (const json *so = f.get("stream_options")) {
    if (!so->is_object())
      f.fail("stream_options", "'stream_options' must be an object");
    else if (auto iu = so->find("include_usage"); iu != so->end()) {
      if (!iu->is_boolean())
        f.fail("stream_options.include_usage",
               "'stream_options.include_usage' must be true or false");
      else
        out.includeUsage = iu->get<bool>();
    }
  }
  if (const json *ids = f.get("stop_token_ids")) {
    if (!ids->is_array())
      f.fail("stop_token_ids", "'stop_token_ids' must be an array of ids");
    else
      tokenIds(*ids, "stop_token_ids", ctx.vocabSize, out.spec.stopTokenIds, f);
  }
  parseStop(body, out, f);

  constexpr int64_t kMaxLogprobs = 20;
  if (chat) {
    f.boolean("logprobs", out.wantLogprobs);
    int64_t top = 0;
    if (f.integer("top_logprobs", top, 0, kMaxLogprobs)) {
      if (!out.wantLogprobs && top > 0)
        f.fail("top_logprobs", "'top_logprobs' needs 'logprobs': true");
      out.topLogprobs = int32_t(top);
    }
  } else {
    int64_t lp = 0;
    if (f.integer("logprobs", lp, 0, kMaxLogprobs)) {
      out.wantLogprobs = true;
      out.topLogprobs = int32_t(lp);
    }
  }

  int64_t promptLen = int64_t(out.spec.prompt.size());
  const char *promptParam = chat ? "messages" : "prompt";
  const char *maxParam = "max_tokens";
  int64_t maxTokens = -1;
  if (chat && f.get("max_completion_tokens"))
    maxParam = "max_completion_tokens";
  f.integer(maxParam, maxTokens, 1, INT64_MAX);
  if (f.failed())
    return false;
  if (promptLen >= ctx.maxModelLen)
    return f.fail(promptParam,
                  "This model's maximum context length is " +
                      std::to_string(ctx.maxModelLen) +
                      " tokens. However, your " + promptParam + " has " +
                      std::to_string(promptLen) +
                      " tokens, which leaves no room for a completion. "
                      "Please reduce the length of the " +
                      promptParam + ".",
                  "context_length_exceeded");
  int64_t room = ctx.maxModelLen - promptLen;
  if (maxTokens > room)
    return f.fail(maxParam,
                  "This model's maximum context length is " +
                      std::to_string(ctx.maxModelLen) +
                      " tokens. However, you requested " +
                      // Both are non-negative here; the sum of two int64s fits a
                      // uint64 (max_tokens may be near INT64_MAX).
                      std::to_string(uint64_t(promptLen) +
                                     uint64_t(maxTokens)) +
                      " tokens (" +
                      std::to_string(promptLen) + " in the " + promptParam +
                      ", " + std::to_string(maxTokens) +
                      " in the completion). Please reduce the length of the " +
                      promptParam + " or completion.",
                  "context_length_exceeded");
  // OpenAI's defaults: 16 for completions, the rest of the context for chat.
  out.spec.maxTokens = maxTokens > 0 ? maxTokens
                                : (chat ? room : std::min<int64_t>(16, room));

  out.spec.sampling.temperature = float(temperature);
  out.spec.sampling.topP = float(topP);
  out.spec.sampling.topK = int32_t(topK);
  out.spec.sampling.seed = uint64_t(seed);
  out.spec.sampling.logprobs = out.wantLogprobs ? out.topLogprobs : -1;
  return true;
}

std::string modelsBody(const std::string &model, int64_t maxModelLen,
                       int64_t created) {
  json m = {{"id", model},
            {"object", "model"},
            {"created", created},
            {"owned_by", "llmc"},
            {"max_model_len", maxModelLen}};
  return dump(json{{"object", "list"}, {"data", json::array({m})}});
}

//===----------------------------------------------------------------------===//
// Responses
//===----------------------------------------------------------------------===//

ResponseWriter::ResponseWriter(const ApiRequest &request,
                               const TextCodec &codec, std::string model,
                               std::string id, int64_t created)
    : request_(request), codec_(codec), model_(std::move(model)),
      id_(std::move(id)), created_(created) {}

namespace {

json bytesArray(const std::string &s) {
  json a = json::array();
  for (unsigned char c : s)
    a.push_back(int(c));
  return a;
}

json usageJson(const Usage &u) {
  return {{"prompt_tokens", u.promptTokens},
          {"completion_tokens", u.completionTokens},
          {"total_tokens", u.promptTokens + u.completionTokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cachedTokens}}}};
}

json finishJson(const std::string &reason) {
  return reason.empty() ? json(nullptr) : json(reason);
}

} // namespace

namespace {

/// Completions' "logprobs" object for `tokens`; advances `offset` (the
/// character offset of each token in the completion text).
json completionLogprobs(const std::vector<TokenEvent> &tokens,
                        const TextCodec &codec, int64_t &offset) {
  json toks = json::array(), lps = json::array(), tops = json::array(),
       offs = json::array();
  for (const TokenEvent &t : tokens) {
    std::string text = codec.tokenText(t.token);
    toks.push_back(text);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const TokenLogprob &e : t.top)
      top[codec.tokenText(e.token)] = e.logprob;
    tops.push_back(t.top.empty() ? json(nullptr) : top);
    offs.push_back(offset);
    offset += int64_t(text.size());
  }
  return {{"tokens", toks},
          {"token_logprobs", lps},
          {"top_logprobs", tops},
          {"text_offset", offs}};
}

json chatLogprobs(const std::vector<TokenEvent> &tokens,
                  const TextCodec &codec) {
  json content = json::array();
  for (const TokenEvent &t : tokens) {
    json top = json::array();
    for (const TokenLogprob &e : t.top)
      top.push_back({{"token", codec.tokenText(e.token)},
                     {"logprob", e.logprob},
                     {"bytes", bytesArray(codec.tokenBytes(e.token))}});
    content.push_back({{"token", codec.tokenText(t.token)},
                       {"logprob", t.logprob},
                       {"bytes", bytesArray(codec.tokenBytes(t.token))},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

} // namespace

std::string ResponseWriter::chunk(const std::string &text,
                                  const std::vector<TokenEvent> &tokens,
                                  const std::string &finishReason) {
  json choice = {{"index", 0}};
  bool chat = request_.endpoint == Endpoint::Chat;
  json logprobs = nullptr;
  if (request_.wantLogprobs && !tokens.empty())
    logprobs = chat ? chatLogprobs(tokens, codec_)
                    : completionLogprobs(tokens, codec_, textOffset_);
  if (chat) {
    json delta = json::object();
    if (!sentRole_) {
      delta["role"] = "assistant";
      sentRole_ = true;
    }
    if (!text.empty() || delta.contains("role"))
      delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = finishJson(finishReason);
  json j = {{"id", id_},
            {"object", chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created_},
            {"model", model_},
            {"choices", json::array({choice})}};
  return dump(j);
}

std::string ResponseWriter::usageChunk(const Usage &usage) const {
  bool chat = request_.endpoint == Endpoint::Chat;
  json j = {{"id", id_},
            {"object", chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created_},
            {"model", model_},
            {"choices", json::array()},
            {"usage", usageJson(usage)}};
  return dump(j);
}

std::string ResponseWriter::response(const std::string &text,
                                     const std::vector<TokenEvent> &tokens,
                                     const std::string &finishReason,
                                     const Usage &usage) {
  bool chat = request_.endpoint == Endpoint::Chat;
  json choice = {{"index", 0}};
  if (chat)
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  else
    choice["text"] = text;
  choice["logprobs"] =
      !request_.wantLogprobs
          ? json(nullptr)
          : (chat ? chatLogprobs(tokens, codec_)
                  : completionLogprobs(tokens, codec_, textOffset_));
  choice["finish_reason"] = finishJson(finishReason);
  json j = {{"id", id_},
            {"object", chat ? "chat.completion" : "text_completion"},
            {"created", created_},
            {"model", model_},
            {"choices", json::array({choice})},
            {"usage", usageJson(usage)}};
  return dump(j);
}

} // namespace llmc::serve
