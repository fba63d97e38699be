//===- Tokenizer.cpp - Hugging Face tokenizer.json in C++ -----------------===//
//
// The encode pipeline of the tokenizers library:
//   1. added tokens with normalized=false are cut out of the raw text
//      (leftmost-longest; lstrip/rstrip take neighbouring whitespace,
//      single_word requires non-word neighbours);
//   2. every other section is normalized, then added tokens with
//      normalized=true are cut out of it;
//   3. the pre-tokenizer splits what remains, the model encodes each piece;
//   4. with special tokens on, the post-processor adds BOS/EOS.
// Decoding maps ids to token strings (special ones skipped on request) and
// runs them through the decoder stream (Components.h).
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Tokenizer.h"

#include "runtime/text/Components.h"
#include "runtime/text/FileUtil.h"
#include "runtime/text/TokenizerImpl.h"
#include "runtime/text/Unicode.h"

#include <algorithm>

namespace llmc::text {

using detail::Field;
using detail::Json;
using detail::LoadError;
using rt::Expected;
using rt::Status;

//===----------------------------------------------------------------------===//
// Added vocabulary
//===----------------------------------------------------------------------===//

namespace detail {

void TokenTrie::insert(std::string_view s, int32_t index) {
  int32_t node = 0;
  for (unsigned char c : s) {
    auto &kids = nodes_[node].children;
    auto it = std::lower_bound(
        kids.begin(), kids.end(), c,
        [](const std::pair<uint8_t, int32_t> &a, uint8_t b) {
          return a.first < b;
        });
    if (it != kids.end() && it->first == c) {
      node = it->second;
    } else {
      int32_t child = int32_t(nodes_.size());
      kids.insert(it, {c, child});
      nodes_.emplace_back();
      node = child;
    }
  }
  nodes_[node].value = index;
  firstBytes_[uint8_t(s[0])] = true;
  empty_ = false;
}

std::pair<size_t, int32_t> TokenTrie::longestAt(std::string_view s,
                                                size_t pos) const {
  size_t bestLen = 0;
  int32_t best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < s.size(); ++i) {
    const auto &kids = nodes_[node].children;
    uint8_t c = uint8_t(s[i]);
    auto it = std::lower_bound(
        kids.begin(), kids.end(), c,
        [](const std::pair<uint8_t, int32_t> &a, uint8_t b) {
          return a.first < b;
        });
    if (it == kids.end() || it->first != c)
      break;
    node = it->second;
    if (nodes_[node].value >= 0) {
      best = nodes_[node].value;
      bestLen = i + 1 - pos;
    }
  }
  return {bestLen, best};
}

namespace {

bool endsWithWordChar(std::string_view s) {
  if (s.empty())
    return false;
  size_t start = s.size() - 1;
  while (start > 0 && (uint8_t(s[start]) & 0xC0) == 0x80)
    --start;
  size_t i = start;
  return isWordChar(nextCodePoint(s, i));
}

bool startsWithWordChar(std::string_view s) {
  if (s.empty())
    return false;
  size_t i = 0;
  return isWordChar(nextCodePoint(s, i));
}

} // namespace

void TokenizerCore::splitAdded(const Section &section, const TokenTrie &trie,
                               bool parseSpecial,
                               std::vector<Section> &out) const {
  const std::string &s = section.text;
  if (trie.empty() || s.empty()) {
    out.push_back(section);
    return;
  }
  size_t startOffset = 0;
  auto emitText = [&](size_t b, size_t e) {
    out.push_back({s.substr(b, e - b), -1, section.atStart && b == 0});
  };
  for (size_t pos = 0; pos < s.size();) {
    if (!trie.mayStartWith(uint8_t(s[pos]))) {
      ++pos;
      continue;
    }
    auto [len, index] = trie.longestAt(s, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken &tok = added[size_t(index)];
    size_t start = pos, stop = pos + len;
    if (!parseSpecial && tok.special) {
      // Not a match: the search goes on after it, as the library's
      // leftmost iterator does.
      pos = stop;
      continue;
    }
    if (tok.singleWord) {
      bool startSpace = start == 0 || !endsWithWordChar(s.substr(0, start));
      bool stopSpace = stop == s.size() || !startsWithWordChar(s.substr(stop));
      if (!startSpace || !stopSpace) {
        pos = stop;
        continue;
      }
    }
    if (tok.lstrip)
      start = std::max(trailingRunStart(s.substr(0, start), isWhitespace),
                       startOffset);
    if (tok.rstrip)
      stop += leadingRun(s.substr(stop), isWhitespace);
    if (startOffset < start)
      emitText(startOffset, start);
    out.push_back({s.substr(start, stop - start), tok.id, false});
    startOffset = stop;
    pos = stop;
  }
  if (startOffset < s.size())
    emitText(startOffset, s.size());
}

std::vector<int32_t> TokenizerCore::encode(std::string_view input,
                                           const EncodeOptions &opts) const {
  std::string text = sanitizeUtf8(input);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);

  std::vector<Section> raw;
  splitAdded({std::move(text), -1, true}, rawTrie, opts.parseSpecialTokens,
             raw);
  std::vector<Section> sections;
  std::vector<Piece> pieces;
  for (Section &sec : raw) {
    if (sec.id >= 0) {
      ids.push_back(sec.id);
      continue;
    }
    if (normalizer)
      normalizer->normalize(sec.text);
    if (sec.text.empty())
      continue;
    sections.clear();
    splitAdded(sec, normalizedTrie, opts.parseSpecialTokens, sections);
    for (Section &part : sections) {
      if (part.id >= 0) {
        ids.push_back(part.id);
        continue;
      }
      if (part.text.empty())
        continue;
      pieces.clear();
      pieces.push_back({std::move(part.text), part.atStart});
      if (preTokenizer)
        preTokenizer->preTokenize(pieces);
      for (const Piece &p : pieces)
        model->tokenize(p.text, ids);
    }
  }
  if (opts.addSpecialTokens && postProcessor)
    postProcessor->process(ids);
  return ids;
}

const std::string *TokenizerCore::tokenOf(int32_t id) const {
  auto it = addedById.find(id);
  if (it != addedById.end())
    return &added[it->second].content;
  return model->idToToken(id);
}

int32_t TokenizerCore::idOf(std::string_view token) const {
  auto it = addedByContent.find(std::string(token));
  if (it != addedByContent.end())
    return added[it->second].id;
  return model->tokenToId(token);
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

Json parseJson(std::string_view text, const std::string &name) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error &e) {
    throw LoadError(name + ": not valid JSON (byte " + std::to_string(e.byte) +
                    "): " + e.what());
  }
}

namespace {

/// A special-token entry of tokenizer_config.json: "text", {"content":
/// "text", ...} or null.
std::string tokenText(const Field &config, const std::string &key) {
  if (!config.has(key))
    return "";
  Field f = config.at(key);
  if (f.value.is_string())
    return f.str();
  if (f.value.is_object())
    return f.at("content").str();
  f.fail("expected a string or an object with \"content\"");
}

void loadAddedTokens(TokenizerCore &core, const Field &list) {
  for (size_t i = 0; i < list.array().size(); ++i) {
    Field t = list.at(i);
    AddedToken tok;
    int64_t id = t.at("id").integer();
    if (id < 0 || id >= (int64_t(1) << 26))
      t.at("id").fail("token id " + std::to_string(id) + " is out of range");
    tok.id = int32_t(id);
    tok.content = t.at("content").str();
    if (tok.content.empty())
      t.at("content").fail("an added token cannot be empty");
    if (!isValidUtf8(tok.content))
      t.at("content").fail("not valid UTF-8");
    tok.special = t.boolean("special", false);
    tok.singleWord = t.boolean("single_word", false);
    tok.lstrip = t.boolean("lstrip", false);
    tok.rstrip = t.boolean("rstrip", false);
    tok.normalized = t.boolean("normalized", !tok.special);
    // A later entry with the same content replaces an earlier one.
    auto existing = core.addedByContent.find(tok.content);
    size_t index;
    if (existing != core.addedByContent.end()) {
      index = existing->second;
      core.added[index] = tok;
    } else {
      index = core.added.size();
      core.added.push_back(tok);
      core.addedByContent.emplace(tok.content, index);
    }
    core.addedById[tok.id] = index;
  }
  for (size_t index = 0; index < core.added.size(); ++index) {
    const AddedToken &tok = core.added[index];
    if (!tok.normalized) {
      core.rawTrie.insert(tok.content, int32_t(index));
      continue;
    }
    std::string form = tok.content;
    if (core.normalizer)
      core.normalizer->normalize(form);
    if (!form.empty())
      core.normalizedTrie.insert(form, int32_t(index));
  }
}

/// transformers' LlamaTokenizerFast (and Gemma, CodeLlama) rebuild the
/// post-processor from add_bos_token / add_eos_token.
bool rebuildsPostProcessor(const std::string &tokenizerClass) {
  static const char *const kClasses[] = {
      "LlamaTokenizer",     "LlamaTokenizerFast", "CodeLlamaTokenizer",
      "CodeLlamaTokenizerFast", "GemmaTokenizer",  "GemmaTokenizerFast"};
  for (const char *c : kClasses)
    if (tokenizerClass == c)
      return true;
  return false;
}

} // namespace

void TokenizerCore::load(const Json &tokJson, const std::string &tokName,
                         const Json *configJson,
                         const std::string &configName) {
  Field root{tokJson, tokName, ""};
  root.object();
  Field modelField = root.at("model");
  model = makeModel(modelField);
  if (root.has("normalizer"))
    normalizer = makeNormalizer(root.at("normalizer"));
  if (root.has("pre_tokenizer"))
    preTokenizer = makePreTokenizer(root.at("pre_tokenizer"));
  if (root.has("post_processor"))
    postProcessor = makePostProcessor(root.at("post_processor"));
  decoder = root.has("decoder") ? makeDecoder(root.at("decoder"))
                                : makeJoinDecoder();
  if (root.has("added_tokens"))
    loadAddedTokens(*this, root.at("added_tokens"));

  for (const auto &[id, index] : addedById)
    idLimit = std::max(idLimit, id + 1);
  idLimit = std::max(idLimit, model->idLimit());

  if (!configJson)
    return;
  Field config{*configJson, configName, ""};
  config.object();
  specials.bos = tokenText(config, "bos_token");
  specials.eos = tokenText(config, "eos_token");
  specials.pad = tokenText(config, "pad_token");
  specials.unk = tokenText(config, "unk_token");
  auto idFor = [&](const std::string &t) { return t.empty() ? -1 : idOf(t); };
  specials.bosId = idFor(specials.bos);
  specials.eosId = idFor(specials.eos);
  specials.padId = idFor(specials.pad);
  specials.unkId = idFor(specials.unk);
  // transformers 5 ignores clean_up_tokenization_spaces for BPE models
  // (every model this library reads): the clean-up was written for WordPiece
  // and strips spaces a BPE model encoded ("maybe ' quoted '" decodes to
  // "maybe'quoted'"). vLLM's streaming detokenizer never applies it either.
  // The field is still read (a non-boolean is an error); callers that want
  // the old behaviour pass DecodeOptions::cleanUpTokenizationSpaces.
  (void)config.boolean("clean_up_tokenization_spaces", false);

  std::string cls = config.str("tokenizer_class", "");
  if (rebuildsPostProcessor(cls) &&
      (config.has("add_bos_token") || config.has("add_eos_token"))) {
    std::vector<int32_t> prefix, suffix;
    auto affix = [&](const char *flag, bool def, const char *name,
                     const std::string &token, int32_t id,
                     std::vector<int32_t> &into) {
      if (!config.boolean(flag, def))
        return;
      if (id < 0)
        config.at(flag).fail(std::string("is true but ") + name + " '" + token +
                             "' is not a token of " + tokName);
      into.push_back(id);
    };
    affix("add_bos_token", true, "bos_token", specials.bos, specials.bosId,
          prefix);
    affix("add_eos_token", false, "eos_token", specials.eos, specials.eosId,
          suffix);
    postProcessor = makeAffixProcessor(std::move(prefix), std::move(suffix));
  }
}

} // namespace detail

//===----------------------------------------------------------------------===//
// Tokenizer
//===----------------------------------------------------------------------===//

struct Tokenizer::Impl : detail::TokenizerCore {};

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;

Expected<std::shared_ptr<const Tokenizer>>
Tokenizer::fromJson(std::string_view tokenizerJson, std::string_view configJson,
                    const std::string &tokenizerName,
                    const std::string &configName) {
  using Result = Expected<std::shared_ptr<const Tokenizer>>;
  std::shared_ptr<Tokenizer> t(new Tokenizer());
  try {
    Json tok = detail::parseJson(tokenizerJson, tokenizerName);
    std::optional<Json> config;
    if (!configJson.empty())
      config = detail::parseJson(configJson, configName);
    t->impl_->load(tok, tokenizerName, config ? &*config : nullptr,
                   configName);
    t->impl_->sourceName = tokenizerName;
  } catch (const LoadError &e) {
    return Result::fromError(Status::error(e.what()));
  } catch (const std::exception &e) {
    return Result::fromError(
        Status::error(tokenizerName + ": " + std::string(e.what())));
  }
  return std::shared_ptr<const Tokenizer>(std::move(t));
}

Expected<std::shared_ptr<const Tokenizer>>
Tokenizer::fromFiles(const std::string &tokenizerPath,
                     const std::string &configPath) {
  using Result = Expected<std::shared_ptr<const Tokenizer>>;
  Expected<std::string> tok = readFile(tokenizerPath);
  if (!tok)
    return Result::fromError(tok.status());
  std::string config;
  if (!configPath.empty()) {
    Expected<std::string> c = readFile(configPath);
    if (!c)
      return Result::fromError(c.status());
    config = std::move(*c);
  }
  return fromJson(*tok, config, tokenizerPath, configPath);
}

Expected<std::shared_ptr<const Tokenizer>>
Tokenizer::fromDirectory(const std::string &dir) {
  std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  std::string config = base + "tokenizer_config.json";
  return fromFiles(base + "tokenizer.json",
                   fileExists(config) ? config : std::string());
}

std::vector<int32_t> Tokenizer::encode(std::string_view text,
                                       const EncodeOptions &options) const {
  return impl_->encode(text, options);
}

Expected<std::string> Tokenizer::decode(const std::vector<int32_t> &ids,
                                        const DecodeOptions &options) const {
  IncrementalDecoder d = incrementalDecoder(options);
  std::string out;
  for (int32_t id : ids) {
    Expected<std::string> piece = d.push(id);
    if (!piece)
      return piece;
    out += *piece;
  }
  out += d.finish();
  return out;
}

IncrementalDecoder
Tokenizer::incrementalDecoder(const DecodeOptions &options) const {
  return IncrementalDecoder(shared_from_this(), options);
}

int32_t Tokenizer::vocabSize() const { return impl_->idLimit; }

std::optional<std::string> Tokenizer::idToToken(int32_t id) const {
  const std::string *t = impl_->tokenOf(id);
  if (!t)
    return std::nullopt;
  return *t;
}

std::optional<int32_t> Tokenizer::tokenToId(std::string_view token) const {
  int32_t id = impl_->idOf(token);
  if (id < 0)
    return std::nullopt;
  return id;
}

bool Tokenizer::isSpecial(int32_t id) const {
  auto it = impl_->addedById.find(id);
  return it != impl_->addedById.end() && impl_->added[it->second].special;
}

const SpecialTokens &Tokenizer::specialTokens() const {
  return impl_->specials;
}

const std::string &Tokenizer::source() const { return impl_->sourceName; }

//===----------------------------------------------------------------------===//
// IncrementalDecoder
//===----------------------------------------------------------------------===//

IncrementalDecoder::IncrementalDecoder(
    std::shared_ptr<const Tokenizer> tokenizer, const DecodeOptions &options)
    : tokenizer_(std::move(tokenizer)), options_(options) {
  cleanUp_ = options_.cleanUpTokenizationSpaces.value_or(false);
  reset();
}

IncrementalDecoder::IncrementalDecoder(IncrementalDecoder &&) noexcept =
    default;
IncrementalDecoder &
IncrementalDecoder::operator=(IncrementalDecoder &&) noexcept = default;
IncrementalDecoder::~IncrementalDecoder() = default;

void IncrementalDecoder::reset() {
  stage_ = tokenizer_->impl().decoder->newStage();
  cleanup_ = cleanUp_ ? detail::makeCleanupDecoder()->newStage() : nullptr;
}

namespace {

std::string collect(std::vector<detail::DecodePiece> &pieces,
                    detail::DecodeStage *cleanup, bool finishing) {
  std::vector<detail::DecodePiece> cleaned;
  if (cleanup) {
    for (detail::DecodePiece &p : pieces)
      cleanup->push(std::move(p), cleaned);
    if (finishing)
      cleanup->finish(cleaned);
    pieces.swap(cleaned);
  }
  std::string out;
  for (const detail::DecodePiece &p : pieces)
    out += p.text;
  return out;
}

} // namespace

Expected<std::string> IncrementalDecoder::push(int32_t id) {
  const detail::TokenizerCore &core = tokenizer_->impl();
  const std::string *token = core.tokenOf(id);
  if (!token)
    return Expected<std::string>::fromError(Status::error(
        "token id " + std::to_string(id) + " is not in the vocabulary of " +
        core.sourceName + " (" + std::to_string(core.idLimit) + " ids)"));
  if (options_.skipSpecialTokens && tokenizer_->isSpecial(id))
    return std::string();
  std::vector<detail::DecodePiece> pieces;
  stage_->push({*token, true, true}, pieces);
  return collect(pieces, cleanup_.get(), false);
}

std::string IncrementalDecoder::finish() {
  std::vector<detail::DecodePiece> pieces;
  stage_->finish(pieces);
  std::string out = collect(pieces, cleanup_.get(), true);
  reset();
  return out;
}

} // namespace llmc::text
