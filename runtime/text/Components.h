//===- Components.h - tokenizer.json pipeline stages (internal) -*- C++ -*-===//
//
// The stages a Hugging Face tokenizer.json describes: normalizer,
// pre-tokenizer, model, post-processor and decoder, each built from its JSON
// object. Internal to the text library: only its .cpp files include this
// (and with it nlohmann-json).
//
// Loading throws LoadError (caught at the library boundary and turned into
// a Status); once built, every stage is immutable and safe to share between
// threads.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_COMPONENTS_H
#define LLMC_RUNTIME_TEXT_COMPONENTS_H

#include "runtime/text/Regex.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llmc::text::detail {

using Json = nlohmann::json;

/// A malformed or unsupported tokenizer file; the message names the file
/// and the JSON field.
struct LoadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A JSON value with its location ("tokenizer.json: pre_tokenizer.type"),
/// for error messages that point at the offending field.
struct Field {
  const Json &value;
  std::string file;
  std::string path;

  Field at(const std::string &key) const;      ///< required member
  bool has(const std::string &key) const;      ///< present and not null
  Field at(size_t index) const;                ///< array element
  [[noreturn]] void fail(const std::string &rule) const;

  std::string str() const;
  bool boolean() const;
  int64_t integer() const;
  double number() const;
  const Json::array_t &array() const;
  const Json::object_t &object() const;
  /// Optional members with defaults.
  std::string str(const std::string &key, const std::string &def) const;
  bool boolean(const std::string &key, bool def) const;
  int64_t integer(const std::string &key, int64_t def) const;
  std::string where() const { return file + ": field '" + path + "'"; }
};

/// A search pattern of a Split, Replace or similar component: a literal
/// string or an Oniguruma regex.
class Pattern {
public:
  /// From {"String": "..."} or {"Regex": "..."}.
  static Pattern fromField(const Field &f);
  static Pattern literalChar(uint32_t cp);
  /// [begin, end) of every non-overlapping match, left to right.
  void findAll(std::string_view text,
               std::vector<std::pair<size_t, size_t>> &out) const;
  bool isLiteral() const { return !regex_; }
  const std::string &literal() const { return literal_; }

private:
  std::string literal_;
  std::shared_ptr<Regex> regex_;
};

/// `text` with every match of `p` replaced by `content`.
std::string replaceAll(const Pattern &p, std::string_view text,
                       std::string_view content);

//===----------------------------------------------------------------------===//
// Normalizers
//===----------------------------------------------------------------------===//

class Normalizer {
public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string &s) const = 0;
};
std::unique_ptr<Normalizer> makeNormalizer(const Field &f);

//===----------------------------------------------------------------------===//
// Pre-tokenizers
//===----------------------------------------------------------------------===//

/// A piece of the input on its way to the model. `atStart` says the piece
/// begins at offset 0 of the original text (Metaspace's "first" scheme).
struct Piece {
  std::string text;
  bool atStart = false;
};

/// How a split keeps the delimiters it finds (SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious,
                           MergedWithNext, Contiguous };

/// Splits every piece at the matches of `p` (inverted: at the non-matches),
/// dropping empty results, as NormalizedString::split does.
void splitPieces(std::vector<Piece> &pieces, const Pattern &p,
                 SplitBehavior behavior, bool invert);

class PreTokenizer {
public:
  virtual ~PreTokenizer() = default;
  virtual void preTokenize(std::vector<Piece> &pieces) const = 0;
};
std::unique_ptr<PreTokenizer> makePreTokenizer(const Field &f);

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

class Model {
public:
  virtual ~Model() = default;
  /// Appends the ids of one pre-tokenized word.
  virtual void tokenize(std::string_view word,
                        std::vector<int32_t> &out) const = 0;
  /// Token text of `id`, or nullptr.
  virtual const std::string *idToToken(int32_t id) const = 0;
  /// Id of a vocabulary entry, or -1.
  virtual int32_t tokenToId(std::string_view token) const = 0;
  /// One past the largest id.
  virtual int32_t idLimit() const = 0;
};
std::unique_ptr<Model> makeModel(const Field &f);

//===----------------------------------------------------------------------===//
// Post-processors
//===----------------------------------------------------------------------===//

class PostProcessor {
public:
  virtual ~PostProcessor() = default;
  /// Wraps the ids of one sequence (only called with special tokens on).
  virtual void process(std::vector<int32_t> &ids) const = 0;
};
std::unique_ptr<PostProcessor> makePostProcessor(const Field &f);
/// `[prefix] ids [suffix]`, the post-processor transformers installs for
/// Llama-style tokenizers from add_bos_token / add_eos_token.
std::unique_ptr<PostProcessor> makeAffixProcessor(std::vector<int32_t> prefix,
                                                  std::vector<int32_t> suffix);

//===----------------------------------------------------------------------===//
// Decoders, as streams
//
// A decoder maps a list of token strings to text. Each one here consumes
// the list as a stream of pieces so that IncrementalDecoder can emit text as
// soon as no later token can change it; a full decode is the same stream
// run to its end, so the two agree by construction.
//
// A piece carries part of one token: `first` marks its first piece, `last`
// its last (both on a token that arrives whole). Stages that fuse tokens
// into one (Fuse, ByteLevel) keep their output token open until finish().
//===----------------------------------------------------------------------===//

struct DecodePiece {
  std::string text;
  bool first = true;
  bool last = true;
};

class DecodeStage {
public:
  virtual ~DecodeStage() = default;
  virtual void push(DecodePiece p, std::vector<DecodePiece> &out) = 0;
  /// Called once after the last token has ended.
  virtual void finish(std::vector<DecodePiece> &out) = 0;
};

/// The immutable description of a decoder; makes fresh stream state.
class Decoder {
public:
  virtual ~Decoder() = default;
  virtual std::unique_ptr<DecodeStage> newStage() const = 0;
};
std::unique_ptr<Decoder> makeDecoder(const Field &f);
/// Tokens joined by one space: what the tokenizers library does when the
/// file has no decoder.
std::unique_ptr<Decoder> makeJoinDecoder();
/// transformers' clean_up_tokenization: the ten replacements of
/// " ." " ?" " !" " ," " ' " " n't" " 'm" " 's" " 've" " 're", applied in
/// that order to the whole text.
std::unique_ptr<Decoder> makeCleanupDecoder();

} // namespace llmc::text::detail

#endif // LLMC_RUNTIME_TEXT_COMPONENTS_H
