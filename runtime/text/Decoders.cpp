//===- Decoders.cpp - decoders of tokenizer.json, as streams --------------===//
//
// ByteLevel, ByteFallback, Metaspace, Replace (literal patterns), Fuse,
// Strip and Sequence, each written as a stream stage (Components.h) with
// the list semantics of the tokenizers library:
//
// * ByteLevel maps each token's characters back to bytes (a token with a
//   character outside the byte alphabet contributes its own UTF-8 bytes),
//   joins everything and decodes it lossily: U+FFFD per maximal ill-formed
//   subpart. Streaming holds back only an unfinished trailing sequence.
// * ByteFallback turns a run of <0xXX> tokens into one token: the run's
//   text if it is valid UTF-8, else one U+FFFD per byte. A run is only
//   decided when it ends, so it is held until a non-byte token (or the end).
// * Metaspace replaces the replacement character by a space, and drops it
//   altogether in the first token when the prepend scheme is not "never".
// * Strip removes up to `start` leading and `stop` trailing `content`
//   characters of each token; on an open token the trailing run is held.
// * Replace and the transformers clean-up hold back a tail that could still
//   become a match.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Components.h"
#include "runtime/text/Unicode.h"

#include <functional>

namespace llmc::text::detail {

namespace {

/// Collects the pieces of one token until its last piece: for stages that
/// need whole tokens. Returns true (with `whole` set) when complete.
class TokenAssembler {
public:
  bool add(DecodePiece &p, std::string &whole) {
    if (p.first && p.last && buffer_.empty()) {
      whole = std::move(p.text);
      return true;
    }
    buffer_ += p.text;
    if (!p.last)
      return false;
    whole = std::move(buffer_);
    buffer_.clear();
    return true;
  }

private:
  std::string buffer_;
};

/// Emits pieces of a single output token that stays open until finish().
class OpenToken {
public:
  void emit(std::string text, std::vector<DecodePiece> &out) {
    if (text.empty() && started_)
      return;
    out.push_back({std::move(text), !started_, false});
    started_ = true;
  }
  void close(std::string text, std::vector<DecodePiece> &out) {
    if (!started_ && text.empty())
      return;
    out.push_back({std::move(text), !started_, true});
    started_ = false;
  }

private:
  bool started_ = false;
};

/// A decoder is a recipe for fresh stream state: the stage's constructor
/// arguments, captured.
class StageFactory : public Decoder {
public:
  explicit StageFactory(std::function<std::unique_ptr<DecodeStage>()> make)
      : make_(std::move(make)) {}
  std::unique_ptr<DecodeStage> newStage() const override { return make_(); }

private:
  std::function<std::unique_ptr<DecodeStage>()> make_;
};

template <class Stage, class... Params>
std::unique_ptr<Decoder> decoderOf(Params... params) {
  return std::make_unique<StageFactory>(
      [=] { return std::make_unique<Stage>(params...); });
}

//===--- ByteLevel ---------------------------------------------------------===//

/// Decodes as much of `bytes` as is final and erases it; `complete` says no
/// more bytes will follow.
std::string drainUtf8(std::string &bytes, bool complete) {
  std::string out;
  size_t i = 0;
  while (i < bytes.size()) {
    size_t n = utf8SequenceLength(bytes, i);
    if (n) {
      out.append(bytes, i, n);
      i += n;
      continue;
    }
    size_t bad = utf8InvalidPrefixLength(bytes, i, complete);
    if (bad == 0)
      break; // an unfinished sequence: wait for more bytes
    out.append(kReplacementChar);
    i += bad;
  }
  bytes.erase(0, i);
  return out;
}

class ByteLevelStage : public DecodeStage {
public:
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    std::string token;
    if (!assembler_.add(p, token))
      return;
    size_t mark = bytes_.size();
    bool mapped = true;
    for (size_t i = 0; i < token.size() && mapped;) {
      int b = charToByte(nextCodePoint(token, i));
      if (b < 0)
        mapped = false;
      else
        bytes_.push_back(char(b));
    }
    if (!mapped) {
      bytes_.resize(mark);
      bytes_ += token;
    }
    open_.emit(drainUtf8(bytes_, false), out);
  }
  void finish(std::vector<DecodePiece> &out) override {
    open_.close(drainUtf8(bytes_, true), out);
  }

private:
  TokenAssembler assembler_;
  std::string bytes_;
  OpenToken open_;
};

//===--- ByteFallback ------------------------------------------------------===//

class ByteFallbackStage : public DecodeStage {
public:
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    std::string token;
    if (!assembler_.add(p, token))
      return;
    int b = byteOf(token);
    if (b >= 0) {
      run_.push_back(char(b));
      return;
    }
    flush(out);
    out.push_back({std::move(token), true, true});
  }
  void finish(std::vector<DecodePiece> &out) override { flush(out); }

private:
  static int byteOf(const std::string &t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>')
      return -1;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9')
        return c - '0';
      if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
      if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
      return -1;
    };
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
  void flush(std::vector<DecodePiece> &out) {
    if (run_.empty())
      return;
    if (isValidUtf8(run_)) {
      out.push_back({std::move(run_), true, true});
    } else {
      std::string r;
      for (size_t i = 0; i < run_.size(); ++i)
        r += kReplacementChar;
      out.push_back({std::move(r), true, true});
    }
    run_.clear();
  }
  TokenAssembler assembler_;
  std::string run_;
};

//===--- Metaspace ---------------------------------------------------------===//

class MetaspaceStage : public DecodeStage {
public:
  MetaspaceStage(std::string replacement, bool dropInFirst)
      : replacement_(std::move(replacement)), dropInFirst_(dropInFirst) {}
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    if (p.first)
      ++index_;
    bool drop = dropInFirst_ && index_ == 1;
    std::string r;
    r.reserve(p.text.size());
    for (size_t i = 0; i < p.text.size();) {
      if (p.text.compare(i, replacement_.size(), replacement_) == 0) {
        if (!drop)
          r.push_back(' ');
        i += replacement_.size();
      } else {
        r.push_back(p.text[i++]);
      }
    }
    out.push_back({std::move(r), p.first, p.last});
  }
  void finish(std::vector<DecodePiece> &) override {}

private:
  std::string replacement_;
  bool dropInFirst_;
  size_t index_ = 0;
};

//===--- Replace (literal) -------------------------------------------------===//

/// Replaces `from` by `to` in each token. Whole tokens are replaced at
/// once; for an open token, text is released up to the point where a match
/// could still begin.
class ReplaceStage : public DecodeStage {
public:
  ReplaceStage(std::string from, std::string to)
      : from_(std::move(from)), to_(std::move(to)) {}
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    if (p.first && p.last && pending_.empty()) {
      out.push_back({replaceAllLiteral(p.text), true, true});
      return;
    }
    if (p.first)
      pendingFirst_ = true;
    pending_ += p.text;
    size_t consumed = 0;
    std::string done = p.last ? replaceAllLiteral(pending_)
                              : replacePrefix(pending_, consumed);
    if (p.last) {
      out.push_back({std::move(done), pendingFirst_, true});
      pending_.clear();
      pendingFirst_ = false;
      return;
    }
    pending_.erase(0, consumed);
    if (!done.empty() || pendingFirst_) {
      out.push_back({std::move(done), pendingFirst_, false});
      pendingFirst_ = false;
    }
  }
  void finish(std::vector<DecodePiece> &) override {}

private:
  std::string replaceAllLiteral(const std::string &s) const {
    if (from_.empty())
      return s;
    std::string r;
    size_t prev = 0;
    for (size_t pos = s.find(from_); pos != std::string::npos;
         pos = s.find(from_, pos + from_.size())) {
      r.append(s, prev, pos - prev);
      r += to_;
      prev = pos + from_.size();
    }
    r.append(s, prev, std::string::npos);
    return r;
  }
  /// Replaces what is final in `s`: stops at the first position where the
  /// rest of `s` is a proper prefix of `from` (a match may still form).
  std::string replacePrefix(const std::string &s, size_t &consumed) const {
    std::string r;
    size_t i = 0;
    while (i < s.size()) {
      if (!from_.empty() && s.compare(i, from_.size(), from_) == 0) {
        r += to_;
        i += from_.size();
        continue;
      }
      size_t rest = s.size() - i;
      if (!from_.empty() && rest < from_.size() &&
          from_.compare(0, rest, s, i, rest) == 0)
        break;
      size_t n = utf8SequenceLength(s, i);
      if (n == 0)
        n = 1;
      r.append(s, i, n);
      i += n;
    }
    consumed = i;
    return r;
  }
  std::string from_, to_;
  std::string pending_;
  bool pendingFirst_ = false;
};

//===--- Fuse --------------------------------------------------------------===//

class FuseStage : public DecodeStage {
public:
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    open_.emit(std::move(p.text), out);
  }
  void finish(std::vector<DecodePiece> &out) override { open_.close("", out); }

private:
  OpenToken open_;
};

//===--- Strip -------------------------------------------------------------===//

class StripStage : public DecodeStage {
public:
  StripStage(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    if (p.first) {
      leadingLeft_ = start_;
      leadingDone_ = start_ == 0;
      held_.clear();
      heldCount_ = 0;
    }
    std::string r;
    for (size_t i = 0; i < p.text.size();) {
      size_t n = utf8SequenceLength(p.text, i);
      if (n == 0)
        n = 1;
      bool isContent = p.text.compare(i, n, content_) == 0;
      if (!leadingDone_) {
        if (isContent && leadingLeft_ > 0) {
          --leadingLeft_;
          if (leadingLeft_ == 0)
            leadingDone_ = true;
          i += n;
          continue;
        }
        leadingDone_ = true;
      }
      if (isContent && stop_ > 0) {
        held_.append(p.text, i, n);
        ++heldCount_;
      } else {
        r += held_;
        held_.clear();
        heldCount_ = 0;
        r.append(p.text, i, n);
      }
      i += n;
    }
    if (p.last) {
      // Drop up to `stop` trailing content characters of the token.
      size_t keep = heldCount_ > stop_ ? heldCount_ - stop_ : 0;
      r.append(held_, 0, keep * content_.size());
      held_.clear();
      heldCount_ = 0;
    } else if (heldCount_ > stop_) {
      size_t release = heldCount_ - stop_;
      r.append(held_, 0, release * content_.size());
      held_.erase(0, release * content_.size());
      heldCount_ = stop_;
    }
    out.push_back({std::move(r), p.first, p.last});
  }
  void finish(std::vector<DecodePiece> &) override {}

private:
  std::string content_;
  size_t start_, stop_;
  size_t leadingLeft_ = 0;
  bool leadingDone_ = true;
  std::string held_;
  size_t heldCount_ = 0;
};

//===--- Sequence and join -------------------------------------------------===//

class ChainStage : public DecodeStage {
public:
  std::vector<std::unique_ptr<DecodeStage>> stages;
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    std::vector<DecodePiece> cur{std::move(p)}, next;
    for (auto &s : stages) {
      next.clear();
      for (DecodePiece &q : cur)
        s->push(std::move(q), next);
      std::swap(cur, next);
    }
    for (DecodePiece &q : cur)
      out.push_back(std::move(q));
  }
  void finish(std::vector<DecodePiece> &out) override {
    std::vector<DecodePiece> cur, next;
    for (auto &s : stages) {
      next.clear();
      for (DecodePiece &q : cur)
        s->push(std::move(q), next);
      s->finish(next);
      std::swap(cur, next);
    }
    for (DecodePiece &q : cur)
      out.push_back(std::move(q));
  }
};

class JoinStage : public DecodeStage {
public:
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    if (p.first && started_)
      p.text.insert(0, " ");
    started_ = true;
    out.push_back(std::move(p));
  }
  void finish(std::vector<DecodePiece> &) override {}

private:
  bool started_ = false;
};

/// The clean-up replacements run on the whole text as one open token.
class CleanupStage : public DecodeStage {
public:
  CleanupStage() {
    static const char *const kRules[][2] = {
        {" .", "."},   {" ?", "?"},     {" !", "!"},   {" ,", ","},
        {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"},
        {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto &r : kRules)
      chain_.stages.push_back(std::make_unique<ReplaceStage>(r[0], r[1]));
  }
  void push(DecodePiece p, std::vector<DecodePiece> &out) override {
    DecodePiece q{std::move(p.text), !started_, false};
    started_ = true;
    chain_.push(std::move(q), out);
  }
  void finish(std::vector<DecodePiece> &out) override {
    if (started_)
      chain_.push({"", false, true}, out);
    chain_.finish(out);
  }

private:
  ChainStage chain_;
  bool started_ = false;
};

std::string singleCharString(const Field &f) {
  std::string s = f.str();
  size_t i = 0;
  if (s.empty() || !isValidUtf8(s))
    f.fail("expected a single character");
  nextCodePoint(s, i);
  if (i != s.size())
    f.fail("expected a single character, got '" + s + "'");
  return s;
}

} // namespace

std::unique_ptr<Decoder> makeDecoder(const Field &f) {
  std::string type = f.at("type").str();
  if (type == "ByteLevel")
    return decoderOf<ByteLevelStage>();
  if (type == "ByteFallback")
    return decoderOf<ByteFallbackStage>();
  if (type == "Fuse")
    return decoderOf<FuseStage>();
  if (type == "Metaspace") {
    std::string replacement = singleCharString(f.at("replacement"));
    bool dropInFirst = f.has("prepend_scheme")
                           ? f.at("prepend_scheme").str() != "never"
                           : f.boolean("add_prefix_space", true);
    return decoderOf<MetaspaceStage>(replacement, dropInFirst);
  }
  if (type == "Replace") {
    Field pattern = f.at("pattern");
    if (!pattern.has("String"))
      pattern.fail("only {\"String\": ...} patterns are supported in a "
                   "Replace decoder");
    return decoderOf<ReplaceStage>(pattern.at("String").str(),
                                   f.at("content").str());
  }
  if (type == "Strip") {
    std::string content = singleCharString(f.at("content"));
    int64_t start = f.integer("start", 0), stop = f.integer("stop", 0);
    if (start < 0)
      f.at("start").fail("must be non-negative");
    if (stop < 0)
      f.at("stop").fail("must be non-negative");
    return decoderOf<StripStage>(content, size_t(start), size_t(stop));
  }
  if (type == "Sequence") {
    auto parts = std::make_shared<std::vector<std::unique_ptr<Decoder>>>();
    Field list = f.at("decoders");
    for (size_t i = 0; i < list.array().size(); ++i)
      parts->push_back(makeDecoder(list.at(i)));
    return std::make_unique<StageFactory>([parts] {
      auto chain = std::make_unique<ChainStage>();
      for (const auto &p : *parts)
        chain->stages.push_back(p->newStage());
      return chain;
    });
  }
  f.at("type").fail("unsupported decoder '" + type +
                    "' (supported: ByteLevel, ByteFallback, Metaspace, "
                    "Replace, Fuse, Strip, Sequence)");
}

std::unique_ptr<Decoder> makeJoinDecoder() { return decoderOf<JoinStage>(); }

std::unique_ptr<Decoder> makeCleanupDecoder() {
  return decoderOf<CleanupStage>();
}

} // namespace llmc::text::detail
