//===- GenerationConfig.cpp - generation_config.json and stop strings -----===//

#include "runtime/text/GenerationConfig.h"

#include "runtime/text/FileUtil.h"
#include "runtime/text/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>

namespace llmc::text {

using Json = nlohmann::json;
using rt::Expected;
using rt::Status;

namespace {

Status fieldError(const std::string &file, const std::string &field,
                  const std::string &rule) {
  return Status::error(file + ": field '" + field + "' " + rule);
}

Expected<Json> parseObject(std::string_view text, const std::string &name) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded())
    return Expected<Json>::fromError(
        Status::error(name + ": not valid JSON (truncated or malformed)"));
  if (!j.is_object())
    return Expected<Json>::fromError(
        Status::error(name + ": expected a JSON object"));
  return j;
}

/// An id or a list of ids (null or absent: none).
Status readIds(const Json &j, const char *key, const std::string &file,
               std::vector<int32_t> &out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return Status::ok();
  auto one = [&](const Json &v) -> Status {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
        v.get<int64_t>() > INT32_MAX)
      return fieldError(file, key,
                        "must be a non-negative token id or a list of them, "
                        "got " + v.dump());
    out.push_back(int32_t(v.get<int64_t>()));
    return Status::ok();
  };
  if (it->is_array()) {
    for (const Json &v : *it)
      if (Status s = one(v); !s)
        return s;
    return Status::ok();
  }
  return one(*it);
}

template <class T>
Status readOptional(const Json &j, const char *key, const std::string &file,
                    std::optional<T> &out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return Status::ok();
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean())
      return fieldError(file, key, "must be true or false, got " + it->dump());
    out = it->get<bool>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (!it->is_number())
      return fieldError(file, key, "must be a number, got " + it->dump());
    out = it->get<double>();
  } else {
    if (!it->is_number_integer())
      return fieldError(file, key, "must be an integer, got " + it->dump());
    out = T(it->get<int64_t>());
  }
  return Status::ok();
}

} // namespace

Expected<GenerationConfig>
GenerationConfig::fromJson(std::string_view generationJson,
                           std::string_view configJson,
                           const std::string &generationName,
                           const std::string &configName) {
  using Result = Expected<GenerationConfig>;
  GenerationConfig g;
  if (!generationJson.empty()) {
    Expected<Json> j = parseObject(generationJson, generationName);
    if (!j)
      return Result::fromError(j.status());
    std::vector<int32_t> ids;
    const std::string &f = generationName;
    for (Status s :
         {readIds(*j, "eos_token_id", f, ids), readOptional(*j, "do_sample", f, g.doSample),
          readOptional(*j, "temperature", f, g.temperature),
          readOptional(*j, "top_p", f, g.topP), readOptional(*j, "top_k", f, g.topK),
          readOptional(*j, "repetition_penalty", f, g.repetitionPenalty),
          readOptional(*j, "max_new_tokens", f, g.maxNewTokens),
          readOptional(*j, "max_length", f, g.maxLength),
          readOptional(*j, "bos_token_id", f, g.bosTokenId),
          readOptional(*j, "pad_token_id", f, g.padTokenId)})
      if (!s)
        return Result::fromError(s);
    for (int32_t id : ids)
      g.addStopToken(id);
    if (g.temperature && *g.temperature < 0)
      return Result::fromError(fieldError(f, "temperature", "must be >= 0"));
    if (g.topP && (*g.topP <= 0 || *g.topP > 1))
      return Result::fromError(fieldError(f, "top_p", "must be in (0, 1]"));
    if (g.topK && *g.topK < 0)
      return Result::fromError(fieldError(f, "top_k", "must be >= 0"));
    if (g.maxNewTokens && *g.maxNewTokens < 0)
      return Result::fromError(fieldError(f, "max_new_tokens", "must be >= 0"));
    auto stop = j->find("stop_strings");
    if (stop != j->end() && !stop->is_null()) {
      std::vector<Json> list =
          stop->is_array() ? stop->get<std::vector<Json>>() : std::vector<Json>{*stop};
      for (const Json &s : list) {
        if (!s.is_string() || s.get<std::string>().empty())
          return Result::fromError(fieldError(
              f, "stop_strings", "must be a non-empty string or a list of them"));
        g.stopStrings.push_back(s.get<std::string>());
      }
    }
  }
  if (!configJson.empty()) {
    Expected<Json> j = parseObject(configJson, configName);
    if (!j)
      return Result::fromError(j.status());
    std::vector<int32_t> ids;
    if (Status s = readIds(*j, "eos_token_id", configName, ids); !s)
      return Result::fromError(s);
    for (int32_t id : ids)
      g.addStopToken(id);
    if (!g.bosTokenId)
      if (Status s = readOptional(*j, "bos_token_id", configName, g.bosTokenId); !s)
        return Result::fromError(s);
  }
  return g;
}

Expected<GenerationConfig>
GenerationConfig::fromDirectory(const std::string &dir,
                                const Tokenizer *tokenizer) {
  using Result = Expected<GenerationConfig>;
  std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  std::string genPath = base + "generation_config.json";
  std::string cfgPath = base + "config.json";
  std::string gen, cfg;
  if (fileExists(genPath)) {
    Expected<std::string> t = readFile(genPath);
    if (!t)
      return Result::fromError(t.status());
    gen = std::move(*t);
  }
  if (fileExists(cfgPath)) {
    Expected<std::string> t = readFile(cfgPath);
    if (!t)
      return Result::fromError(t.status());
    cfg = std::move(*t);
  }
  Result g = fromJson(gen, cfg, genPath, cfgPath);
  if (g && tokenizer && tokenizer->specialTokens().eosId >= 0)
    g->addStopToken(tokenizer->specialTokens().eosId);
  return g;
}

bool GenerationConfig::isStopToken(int32_t id) const {
  return std::find(eosTokenIds.begin(), eosTokenIds.end(), id) !=
         eosTokenIds.end();
}

void GenerationConfig::addStopToken(int32_t id) {
  if (!isStopToken(id))
    eosTokenIds.push_back(id);
}

SamplingDefaults GenerationConfig::sampling() const {
  SamplingDefaults s;
  if (!doSample.value_or(false))
    return s; // greedy
  s.temperature = temperature.value_or(1.0);
  s.topP = topP.value_or(1.0);
  s.topK = topK.value_or(50);
  return s;
}

std::optional<int64_t> GenerationConfig::newTokenLimit(int64_t promptLen) const {
  if (maxNewTokens)
    return *maxNewTokens;
  if (maxLength)
    return std::max<int64_t>(0, *maxLength - promptLen);
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// StopMatcher
//===----------------------------------------------------------------------===//

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (std::string &s : stops)
    if (!s.empty())
      stops_.push_back(std::move(s));
}

std::string StopMatcher::push(std::string_view text) {
  if (stopped_)
    return "";
  pending_.append(text);
  // The earliest stop string wins; at one position, the longest.
  size_t best = std::string::npos, bestLen = 0;
  for (const std::string &s : stops_) {
    size_t p = pending_.find(s);
    if (p != std::string::npos &&
        (p < best || (p == best && s.size() > bestLen))) {
      best = p;
      bestLen = s.size();
      matched_ = s;
    }
  }
  if (best != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, best);
    pending_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of a stop string.
  size_t hold = 0;
  for (const std::string &s : stops_) {
    size_t maxLen = std::min(s.size() - 1, pending_.size());
    for (size_t n = maxLen; n > hold; --n) {
      if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::finish() {
  std::string out = stopped_ ? "" : pending_;
  pending_.clear();
  return out;
}

} // namespace llmc::text
