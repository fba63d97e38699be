//===- PreTokenizers.cpp - pre-tokenizers of tokenizer.json ---------------===//
//
// Split (literal or regex, every delimiter behaviour, invert), ByteLevel,
// Metaspace (prepend schemes always/first/never, split), Digits, Whitespace,
// WhitespaceSplit, Punctuation, CharDelimiterSplit and Sequence, with the
// semantics of the tokenizers library's PreTokenizedString::split: a piece
// is cut into the segments of its matches and non-matches, the behaviour
// decides which segments merge or vanish, and empty results are dropped.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Components.h"
#include "runtime/text/Unicode.h"

#include <algorithm>

namespace llmc::text::detail {

namespace {

struct Segment {
  size_t begin, end;
  bool match; // true = the segment is removed (Removed behaviour)
};

/// The segments of `text`: matches and the text between them, covering it.
void findSegments(const Pattern &p, std::string_view text, bool invert,
                  std::vector<std::pair<size_t, size_t>> &scratch,
                  std::vector<Segment> &out) {
  out.clear();
  if (text.empty()) {
    out.push_back({0, 0, invert});
    return;
  }
  scratch.clear();
  p.findAll(text, scratch);
  size_t prev = 0;
  for (auto [b, e] : scratch) {
    if (prev != b)
      out.push_back({prev, b, invert});
    out.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != text.size())
    out.push_back({prev, text.size(), invert});
}

/// Applies the delimiter behaviour: the resulting ranges, with `match`
/// meaning "drop".
void applyBehavior(std::vector<Segment> &segs, SplitBehavior behavior) {
  std::vector<Segment> out;
  switch (behavior) {
  case SplitBehavior::Removed:
    return;
  case SplitBehavior::Isolated:
    for (Segment &s : segs)
      s.match = false;
    return;
  case SplitBehavior::Contiguous: {
    bool previous = false;
    for (const Segment &s : segs) {
      if (s.match == previous && !out.empty())
        out.back().end = s.end;
      else
        out.push_back({s.begin, s.end, false});
      previous = s.match;
    }
    break;
  }
  case SplitBehavior::MergedWithPrevious: {
    bool previous = false;
    for (const Segment &s : segs) {
      if (s.match && !previous && !out.empty())
        out.back().end = s.end;
      else
        out.push_back({s.begin, s.end, false});
      previous = s.match;
    }
    break;
  }
  case SplitBehavior::MergedWithNext: {
    bool previous = false;
    for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
      if (it->match && !previous && !out.empty())
        out.back().begin = it->begin;
      else
        out.push_back({it->begin, it->end, false});
      previous = it->match;
    }
    std::reverse(out.begin(), out.end());
    break;
  }
  }
  segs = std::move(out);
}

SplitBehavior parseBehavior(const Field &f) {
  std::string b = f.str();
  if (b == "Removed")
    return SplitBehavior::Removed;
  if (b == "Isolated")
    return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious")
    return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext")
    return SplitBehavior::MergedWithNext;
  if (b == "Contiguous")
    return SplitBehavior::Contiguous;
  f.fail("unknown split behavior '" + b +
         "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext "
         "or Contiguous)");
}

Pattern regexPattern(const std::string &re) {
  Json j = {{"Regex", re}};
  return Pattern::fromField(Field{j, "(built-in)", "pattern"});
}

class SplitPreTokenizer : public PreTokenizer {
public:
  Pattern pattern;
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  void preTokenize(std::vector<Piece> &pieces) const override {
    splitPieces(pieces, pattern, behavior, invert);
  }
};

class ByteLevelPreTokenizer : public PreTokenizer {
public:
  bool addPrefixSpace = false;
  bool useRegex = true;
  Pattern gpt2;
  ByteLevelPreTokenizer()
      : gpt2(regexPattern("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| "
                          "?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")) {}
  void preTokenize(std::vector<Piece> &pieces) const override {
    if (addPrefixSpace)
      for (Piece &p : pieces)
        if (p.text.empty() || p.text[0] != ' ')
          p.text.insert(0, " ");
    if (useRegex)
      splitPieces(pieces, gpt2, SplitBehavior::Isolated, false);
    for (Piece &p : pieces) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      for (unsigned char c : p.text)
        appendUtf8(mapped, byteToChar(c));
      p.text = std::move(mapped);
    }
  }
};

class MetaspacePreTokenizer : public PreTokenizer {
public:
  enum class Scheme { Always, First, Never };
  std::string replacement;
  Scheme scheme = Scheme::Always;
  bool split = true;
  Pattern replacementPattern;
  void preTokenize(std::vector<Piece> &pieces) const override {
    for (Piece &p : pieces) {
      std::string r;
      r.reserve(p.text.size() + replacement.size());
      for (char c : p.text) {
        if (c == ' ')
          r += replacement;
        else
          r.push_back(c);
      }
      bool starts = r.compare(0, replacement.size(), replacement) == 0;
      if (!starts && (scheme == Scheme::Always ||
                      (scheme == Scheme::First && p.atStart)))
        r.insert(0, replacement);
      p.text = std::move(r);
    }
    if (split)
      splitPieces(pieces, replacementPattern, SplitBehavior::MergedWithNext,
                  false);
  }
};

class SequencePreTokenizer : public PreTokenizer {
public:
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  void preTokenize(std::vector<Piece> &pieces) const override {
    for (const auto &p : parts)
      p->preTokenize(pieces);
  }
};

uint32_t singleChar(const Field &f) {
  std::string s = f.str();
  size_t i = 0;
  if (s.empty() || !isValidUtf8(s))
    f.fail("expected a single character");
  uint32_t cp = nextCodePoint(s, i);
  if (i != s.size())
    f.fail("expected a single character, got '" + s + "'");
  return cp;
}

} // namespace

void splitPieces(std::vector<Piece> &pieces, const Pattern &p,
                 SplitBehavior behavior, bool invert) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 2);
  std::vector<std::pair<size_t, size_t>> scratch;
  std::vector<Segment> segs;
  for (Piece &piece : pieces) {
    findSegments(p, piece.text, invert, scratch, segs);
    applyBehavior(segs, behavior);
    for (const Segment &s : segs) {
      if (s.match || s.end == s.begin)
        continue;
      out.push_back({piece.text.substr(s.begin, s.end - s.begin),
                     piece.atStart && s.begin == 0});
    }
  }
  pieces = std::move(out);
}

std::unique_ptr<PreTokenizer> makePreTokenizer(const Field &f) {
  std::string type = f.at("type").str();
  if (type == "Sequence") {
    auto seq = std::make_unique<SequencePreTokenizer>();
    Field list = f.at("pretokenizers");
    for (size_t i = 0; i < list.array().size(); ++i)
      seq->parts.push_back(makePreTokenizer(list.at(i)));
    return seq;
  }
  if (type == "Split") {
    auto s = std::make_unique<SplitPreTokenizer>();
    s->pattern = Pattern::fromField(f.at("pattern"));
    s->behavior = parseBehavior(f.at("behavior"));
    s->invert = f.boolean("invert", false);
    return s;
  }
  if (type == "ByteLevel") {
    auto b = std::make_unique<ByteLevelPreTokenizer>();
    b->addPrefixSpace = f.boolean("add_prefix_space", true);
    b->useRegex = f.boolean("use_regex", true);
    return b;
  }
  if (type == "Metaspace") {
    auto m = std::make_unique<MetaspacePreTokenizer>();
    uint32_t cp = singleChar(f.at("replacement"));
    appendUtf8(m->replacement, cp);
    m->replacementPattern = Pattern::literalChar(cp);
    if (f.has("prepend_scheme")) {
      Field ps = f.at("prepend_scheme");
      std::string s = ps.str();
      if (s == "always")
        m->scheme = MetaspacePreTokenizer::Scheme::Always;
      else if (s == "first")
        m->scheme = MetaspacePreTokenizer::Scheme::First;
      else if (s == "never")
        m->scheme = MetaspacePreTokenizer::Scheme::Never;
      else
        ps.fail("unknown prepend_scheme '" + s +
                "' (expected always, first or never)");
    } else {
      // Files written before prepend_scheme existed say add_prefix_space.
      m->scheme = f.boolean("add_prefix_space", true)
                      ? MetaspacePreTokenizer::Scheme::Always
                      : MetaspacePreTokenizer::Scheme::Never;
    }
    m->split = f.boolean("split", true);
    return m;
  }
  if (type == "Digits") {
    auto s = std::make_unique<SplitPreTokenizer>();
    s->pattern = regexPattern("\\p{N}");
    s->behavior = f.boolean("individual_digits", false)
                      ? SplitBehavior::Isolated
                      : SplitBehavior::Contiguous;
    return s;
  }
  if (type == "Whitespace") {
    auto s = std::make_unique<SplitPreTokenizer>();
    s->pattern = regexPattern("\\w+|[^\\w\\s]+");
    s->behavior = SplitBehavior::Removed;
    s->invert = true;
    return s;
  }
  if (type == "WhitespaceSplit") {
    auto s = std::make_unique<SplitPreTokenizer>();
    s->pattern = regexPattern("\\s");
    s->behavior = SplitBehavior::Removed;
    return s;
  }
  if (type == "Punctuation") {
    auto s = std::make_unique<SplitPreTokenizer>();
    s->pattern = regexPattern("[\\p{P}\\x{21}-\\x{2F}\\x{3A}-\\x{40}"
                              "\\x{5B}-\\x{60}\\x{7B}-\\x{7E}]");
    s->behavior = f.has("behavior") ? parseBehavior(f.at("behavior"))
                                    : SplitBehavior::Isolated;
    return s;
  }
  if (type == "CharDelimiterSplit") {
    auto s = std::make_unique<SplitPreTokenizer>();
    s->pattern = Pattern::literalChar(singleChar(f.at("delimiter")));
    s->behavior = SplitBehavior::Removed;
    return s;
  }
  f.at("type").fail("unsupported pre-tokenizer '" + type +
                    "' (supported: Sequence, Split, ByteLevel, Metaspace, "
                    "Digits, Whitespace, WhitespaceSplit, Punctuation, "
                    "CharDelimiterSplit)");
}

} // namespace llmc::text::detail
