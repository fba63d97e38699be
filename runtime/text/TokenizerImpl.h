//===- TokenizerImpl.h - the loaded tokenizer (internal) --------*- C++ -*-===//
//
// The state behind Tokenizer: pipeline stages, the added vocabulary and its
// two tries (raw and normalized), the tokenizer_config.json settings.
// Internal to the text library.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_TOKENIZERIMPL_H
#define LLMC_RUNTIME_TEXT_TOKENIZERIMPL_H

#include "runtime/text/Components.h"
#include "runtime/text/Tokenizer.h"

#include <array>
#include <unordered_map>

namespace llmc::text::detail {

/// An entry of tokenizer.json's added_tokens.
struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false, normalized = false, lstrip = false, rstrip = false,
       singleWord = false;
};

/// Byte trie of added-token contents for leftmost-longest matching.
class TokenTrie {
public:
  TokenTrie() : nodes_(1) { firstBytes_.fill(false); }
  void insert(std::string_view s, int32_t index);
  /// Longest entry starting at s[pos]: (length, index), index -1 if none.
  std::pair<size_t, int32_t> longestAt(std::string_view s, size_t pos) const;
  bool mayStartWith(uint8_t b) const { return firstBytes_[b]; }
  bool empty() const { return empty_; }

private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children; // sorted by byte
    int32_t value = -1;
  };
  std::vector<Node> nodes_;
  std::array<bool, 256> firstBytes_;
  bool empty_ = true;
};

/// A stretch of input: text still to encode (id -1) or one added token.
struct Section {
  std::string text;
  int32_t id = -1;
  bool atStart = false;
};

struct TokenizerCore {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> preTokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> postProcessor;
  std::unique_ptr<Decoder> decoder;

  std::vector<AddedToken> added;
  std::unordered_map<std::string, size_t> addedByContent;
  std::unordered_map<int32_t, size_t> addedById;
  TokenTrie rawTrie, normalizedTrie;

  SpecialTokens specials;
  int32_t idLimit = 0;
  std::string sourceName;

  void load(const Json &tokenizer, const std::string &tokenizerName,
            const Json *config, const std::string &configName);
  std::vector<int32_t> encode(std::string_view text,
                              const EncodeOptions &opts) const;
  void splitAdded(const Section &section, const TokenTrie &trie,
                  bool parseSpecial, std::vector<Section> &out) const;
  const std::string *tokenOf(int32_t id) const;
  int32_t idOf(std::string_view token) const;
};

Json parseJson(std::string_view text, const std::string &name);

} // namespace llmc::text::detail

#endif // LLMC_RUNTIME_TEXT_TOKENIZERIMPL_H
