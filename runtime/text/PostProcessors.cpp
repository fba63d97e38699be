//===- PostProcessors.cpp - post-processors of tokenizer.json -------------===//
//
// What the post-processor adds around one sequence when special tokens are
// requested: TemplateProcessing's "single" template, RobertaProcessing and
// BertProcessing (cls ... sep), Sequence; ByteLevel only trims offsets and
// leaves the ids alone. Pair templates are not needed: llmc encodes one
// text at a time.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Components.h"

#include <climits>
#include <optional>

namespace llmc::text::detail {

namespace {

class AffixProcessor : public PostProcessor {
public:
  std::vector<int32_t> prefix, suffix;
  void process(std::vector<int32_t> &ids) const override {
    ids.insert(ids.begin(), prefix.begin(), prefix.end());
    ids.insert(ids.end(), suffix.begin(), suffix.end());
  }
};

class TemplateProcessor : public PostProcessor {
public:
  /// Each item: the ids of a special token, or nullopt for the sequence.
  std::vector<std::optional<std::vector<int32_t>>> items;
  void process(std::vector<int32_t> &ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + 4);
    for (const auto &item : items) {
      if (item)
        out.insert(out.end(), item->begin(), item->end());
      else
        out.insert(out.end(), ids.begin(), ids.end());
    }
    ids = std::move(out);
  }
};

class SequenceProcessor : public PostProcessor {
public:
  std::vector<std::unique_ptr<PostProcessor>> parts;
  void process(std::vector<int32_t> &ids) const override {
    for (const auto &p : parts)
      p->process(ids);
  }
};

class NoOpProcessor : public PostProcessor {
public:
  void process(std::vector<int32_t> &) const override {}
};

/// ["token", id] of RobertaProcessing / BertProcessing.
int32_t tokenPairId(const Field &f) {
  const Json::array_t &a = f.array();
  if (a.size() != 2)
    f.fail("expected [\"token\", id]");
  int64_t id = f.at(1).integer();
  if (id < 0 || id > INT32_MAX)
    f.at(1).fail("token id " + std::to_string(id) + " is out of range");
  return int32_t(id);
}

std::unique_ptr<PostProcessor> makeTemplate(const Field &f) {
  auto t = std::make_unique<TemplateProcessor>();
  Field single = f.at("single");
  Field specials = f.at("special_tokens");
  bool sawSequence = false;
  for (size_t i = 0; i < single.array().size(); ++i) {
    Field item = single.at(i);
    if (item.has("Sequence")) {
      Field seq = item.at("Sequence");
      std::string id = seq.str("id", "A");
      if (id != "A")
        seq.at("id").fail("the single-sequence template may only use "
                          "sequence A, got '" + id + "'");
      t->items.emplace_back(std::nullopt);
      sawSequence = true;
    } else if (item.has("SpecialToken")) {
      Field tok = item.at("SpecialToken");
      std::string name = tok.at("id").str();
      if (!specials.has(name))
        tok.at("id").fail("special token '" + name +
                          "' is not listed in special_tokens");
      Field spec = specials.at(name);
      Field idsField = spec.at("ids");
      std::vector<int32_t> ids;
      for (size_t k = 0; k < idsField.array().size(); ++k) {
        int64_t v = idsField.at(k).integer();
        if (v < 0 || v > INT32_MAX)
          idsField.at(k).fail("token id out of range");
        ids.push_back(int32_t(v));
      }
      t->items.emplace_back(std::move(ids));
    } else {
      item.fail("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  if (!sawSequence)
    single.fail("the template never places the sequence ($A)");
  return t;
}

} // namespace

std::unique_ptr<PostProcessor> makeAffixProcessor(std::vector<int32_t> prefix,
                                                  std::vector<int32_t> suffix) {
  auto p = std::make_unique<AffixProcessor>();
  p->prefix = std::move(prefix);
  p->suffix = std::move(suffix);
  return p;
}

std::unique_ptr<PostProcessor> makePostProcessor(const Field &f) {
  std::string type = f.at("type").str();
  if (type == "TemplateProcessing")
    return makeTemplate(f);
  if (type == "ByteLevel")
    return std::make_unique<NoOpProcessor>();
  if (type == "RobertaProcessing" || type == "BertProcessing")
    return makeAffixProcessor({tokenPairId(f.at("cls"))},
                              {tokenPairId(f.at("sep"))});
  if (type == "Sequence") {
    auto seq = std::make_unique<SequenceProcessor>();
    Field list = f.at("processors");
    for (size_t i = 0; i < list.array().size(); ++i)
      seq->parts.push_back(makePostProcessor(list.at(i)));
    return seq;
  }
  f.at("type").fail("unsupported post-processor '" + type +
                    "' (supported: TemplateProcessing, ByteLevel, "
                    "RobertaProcessing, BertProcessing, Sequence)");
}

} // namespace llmc::text::detail
