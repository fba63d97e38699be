//===- Normalizers.cpp - JSON fields, patterns and normalizers ------------===//
//
// The normalizers of tokenizer.json (Sequence, NFC/NFD/NFKC/NFKD, Lowercase,
// Strip, StripAccents, Replace, Prepend), the Field helper every component
// reads its JSON through, and the literal-or-regex Pattern.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Components.h"
#include "runtime/text/Unicode.h"

namespace llmc::text::detail {

//===----------------------------------------------------------------------===//
// Field
//===----------------------------------------------------------------------===//

namespace {

const char *typeName(const Json &v) {
  return v.type_name();
}

} // namespace

void Field::fail(const std::string &rule) const {
  throw LoadError(where() + ": " + rule);
}

bool Field::has(const std::string &key) const {
  if (!value.is_object())
    return false;
  auto it = value.find(key);
  return it != value.end() && !it->is_null();
}

Field Field::at(const std::string &key) const {
  if (!value.is_object())
    fail(std::string("expected an object, got ") + typeName(value));
  auto it = value.find(key);
  std::string sub = path.empty() ? key : path + "." + key;
  if (it == value.end())
    throw LoadError(file + ": field '" + sub + "' is missing");
  return Field{*it, file, sub};
}

Field Field::at(size_t index) const {
  return Field{value.at(index), file, path + "[" + std::to_string(index) + "]"};
}

std::string Field::str() const {
  if (!value.is_string())
    fail(std::string("expected a string, got ") + typeName(value));
  return value.get<std::string>();
}

bool Field::boolean() const {
  if (!value.is_boolean())
    fail(std::string("expected true or false, got ") + typeName(value));
  return value.get<bool>();
}

int64_t Field::integer() const {
  if (!value.is_number_integer())
    fail(std::string("expected an integer, got ") + typeName(value));
  return value.get<int64_t>();
}

double Field::number() const {
  if (!value.is_number())
    fail(std::string("expected a number, got ") + typeName(value));
  return value.get<double>();
}

const Json::array_t &Field::array() const {
  if (!value.is_array())
    fail(std::string("expected an array, got ") + typeName(value));
  return value.get_ref<const Json::array_t &>();
}

const Json::object_t &Field::object() const {
  if (!value.is_object())
    fail(std::string("expected an object, got ") + typeName(value));
  return value.get_ref<const Json::object_t &>();
}

std::string Field::str(const std::string &key, const std::string &def) const {
  return has(key) ? at(key).str() : def;
}

bool Field::boolean(const std::string &key, bool def) const {
  return has(key) ? at(key).boolean() : def;
}

int64_t Field::integer(const std::string &key, int64_t def) const {
  return has(key) ? at(key).integer() : def;
}

//===----------------------------------------------------------------------===//
// Pattern
//===----------------------------------------------------------------------===//

Pattern Pattern::fromField(const Field &f) {
  Pattern p;
  if (f.has("String")) {
    p.literal_ = f.at("String").str();
    return p;
  }
  if (f.has("Regex")) {
    Field r = f.at("Regex");
    rt::Expected<Regex> re = Regex::compile(r.str());
    if (!re)
      r.fail(re.status().message());
    p.regex_ = std::make_shared<Regex>(std::move(*re));
    return p;
  }
  f.fail("expected {\"String\": ...} or {\"Regex\": ...}");
}

Pattern Pattern::literalChar(uint32_t cp) {
  Pattern p;
  appendUtf8(p.literal_, cp);
  return p;
}

void Pattern::findAll(std::string_view text,
                      std::vector<std::pair<size_t, size_t>> &out) const {
  if (regex_) {
    regex_->findAll(text, out);
    return;
  }
  // An empty literal matches nothing (the tokenizers library's rule).
  if (literal_.empty())
    return;
  for (size_t pos = text.find(literal_); pos != std::string_view::npos;
       pos = text.find(literal_, pos + literal_.size()))
    out.emplace_back(pos, pos + literal_.size());
}

std::string replaceAll(const Pattern &p, std::string_view text,
                       std::string_view content) {
  std::vector<std::pair<size_t, size_t>> matches;
  p.findAll(text, matches);
  if (matches.empty())
    return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t prev = 0;
  for (auto [b, e] : matches) {
    out.append(text.substr(prev, b - prev));
    out.append(content);
    prev = e;
  }
  out.append(text.substr(prev));
  return out;
}

//===----------------------------------------------------------------------===//
// Normalizers
//===----------------------------------------------------------------------===//

namespace {

class SequenceNormalizer : public Normalizer {
public:
  std::vector<std::unique_ptr<Normalizer>> parts;
  void normalize(std::string &s) const override {
    for (const auto &n : parts)
      n->normalize(s);
  }
};

class UnicodeNormalizer : public Normalizer {
public:
  explicit UnicodeNormalizer(NormalForm form) : form(form) {}
  NormalForm form;
  void normalize(std::string &s) const override {
    s = text::normalize(s, form);
  }
};

class LowercaseNormalizer : public Normalizer {
public:
  void normalize(std::string &s) const override { s = toLower(s); }
};

class StripAccentsNormalizer : public Normalizer {
public:
  void normalize(std::string &s) const override { s = stripMarks(s); }
};

class StripNormalizer : public Normalizer {
public:
  bool left = true, right = true;
  void normalize(std::string &s) const override {
    size_t b = left ? leadingRun(s, isWhitespace) : 0;
    size_t e = right ? b + trailingRunStart(std::string_view(s).substr(b),
                                            isWhitespace)
                     : s.size();
    s = s.substr(b, e - b);
  }
};

class ReplaceNormalizer : public Normalizer {
public:
  Pattern pattern;
  std::string content;
  void normalize(std::string &s) const override {
    s = replaceAll(pattern, s, content);
  }
};

class PrependNormalizer : public Normalizer {
public:
  std::string prefix;
  void normalize(std::string &s) const override {
    if (!s.empty())
      s.insert(0, prefix);
  }
};

} // namespace

std::unique_ptr<Normalizer> makeNormalizer(const Field &f) {
  std::string type = f.at("type").str();
  if (type == "Sequence") {
    auto seq = std::make_unique<SequenceNormalizer>();
    Field list = f.at("normalizers");
    for (size_t i = 0; i < list.array().size(); ++i)
      seq->parts.push_back(makeNormalizer(list.at(i)));
    return seq;
  }
  if (type == "NFC")
    return std::make_unique<UnicodeNormalizer>(NormalForm::NFC);
  if (type == "NFD")
    return std::make_unique<UnicodeNormalizer>(NormalForm::NFD);
  if (type == "NFKC")
    return std::make_unique<UnicodeNormalizer>(NormalForm::NFKC);
  if (type == "NFKD")
    return std::make_unique<UnicodeNormalizer>(NormalForm::NFKD);
  if (type == "Lowercase")
    return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents")
    return std::make_unique<StripAccentsNormalizer>();
  if (type == "Strip") {
    auto n = std::make_unique<StripNormalizer>();
    n->left = f.boolean("strip_left", true);
    n->right = f.boolean("strip_right", true);
    return n;
  }
  if (type == "Replace") {
    auto n = std::make_unique<ReplaceNormalizer>();
    n->pattern = Pattern::fromField(f.at("pattern"));
    n->content = f.at("content").str();
    return n;
  }
  if (type == "Prepend") {
    auto n = std::make_unique<PrependNormalizer>();
    n->prefix = f.at("prepend").str();
    return n;
  }
  f.at("type").fail("unsupported normalizer '" + type +
                    "' (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, "
                    "Strip, StripAccents, Replace, Prepend)");
}

} // namespace llmc::text::detail
