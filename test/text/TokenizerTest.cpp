//===- TokenizerTest.cpp - runtime/text tokenizer on small inputs ---------===//
//
// Hand-written tokenizer.json files, each exercising one rule of the
// tokenizers library: merge ranks, byte-level mapping, byte fallback,
// Metaspace prepend schemes, normalizers, added tokens, the streaming
// decoders and their UTF-8 boundaries, and the errors for bad files.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Tokenizer.h"
#include "runtime/text/Unicode.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

using namespace llmc;
using namespace llmc::text;
using nlohmann::json;

namespace {

std::shared_ptr<const Tokenizer> load(const json &tok, const json &config = {}) {
  auto t = Tokenizer::fromJson(tok.dump(), config.is_null() ? "" : config.dump());
  EXPECT_TRUE(t) << t.status().message();
  return t ? *t : nullptr;
}

std::string loadError(const std::string &tok, const std::string &config = "") {
  auto t = Tokenizer::fromJson(tok, config);
  EXPECT_FALSE(t);
  return t ? "" : t.status().message();
}

json bpe(json vocab, json merges, json extra = json::object()) {
  json m = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}};
  m.update(extra);
  return m;
}

/// A byte-level vocabulary: the 256 byte characters plus `more`.
json byteLevelVocab(const std::vector<std::string> &more) {
  json v = json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    appendUtf8(s, byteToChar(uint8_t(b)));
    v[s] = id++;
  }
  for (const std::string &m : more)
    v[m] = id++;
  return v;
}

std::string decodeAll(const Tokenizer &t, const std::vector<int32_t> &ids,
                      DecodeOptions o = {}) {
  auto d = t.decode(ids, o);
  EXPECT_TRUE(d) << d.status().message();
  return d ? *d : "";
}

TEST(BpeTest, MergesApplyInRankOrderLeftmostFirst) {
  json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}};
  auto t1 = load({{"model", bpe(vocab, {"a b", "ab c"})}});
  EXPECT_EQ(t1->encode("abc"), (std::vector<int32_t>{5}));
  // "b c" outranks "a b": a + bc, and no merge joins a and bc.
  auto t2 = load({{"model", bpe(vocab, {"b c", "a b"})}});
  EXPECT_EQ(t2->encode("abc"), (std::vector<int32_t>{0, 4}));
  // Equal pairs: the leftmost merges first ("ab" "ab" from "abab").
  auto t3 = load({{"model", bpe({{"a", 0}, {"b", 1}, {"ab", 2}}, {"a b"})}});
  EXPECT_EQ(t3->encode("abab"), (std::vector<int32_t>{2, 2}));
  // Merges as pairs (tokens may hold spaces).
  auto t4 = load({{"model", bpe({{"a", 0}, {" ", 1}, {"a ", 2}},
                                json::array({json::array({"a", " "})}))}});
  EXPECT_EQ(t4->encode("a a"), (std::vector<int32_t>{2, 0}));
}

TEST(BpeTest, IgnoreMergesTakesWholeWords) {
  json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"bc", 3}, {"abc", 4}};
  auto plain = load({{"model", bpe(vocab, {"b c"})}});
  EXPECT_EQ(plain->encode("abc"), (std::vector<int32_t>{0, 3}));
  auto ignore = load({{"model", bpe(vocab, {"b c"}, {{"ignore_merges", true}})}});
  EXPECT_EQ(ignore->encode("abc"), (std::vector<int32_t>{4}));
}

TEST(BpeTest, UnknownCharactersAndFuseUnk) {
  json vocab = {{"<unk>", 0}, {"a", 1}};
  auto t = load({{"model", bpe(vocab, json::array(), {{"unk_token", "<unk>"}})}});
  EXPECT_EQ(t->encode("axya"), (std::vector<int32_t>{1, 0, 0, 1}));
  auto fused = load({{"model", bpe(vocab, json::array(),
                                   {{"unk_token", "<unk>"}, {"fuse_unk", true}})}});
  EXPECT_EQ(fused->encode("axya"), (std::vector<int32_t>{1, 0, 1}));
  // Without unk_token the character is dropped, as the library does.
  auto none = load({{"model", bpe({{"a", 0}}, json::array())}});
  EXPECT_EQ(none->encode("axa"), (std::vector<int32_t>{0, 0}));
}

TEST(ByteLevelTest, AlphabetIsABijectionOfPrintableCharacters) {
  EXPECT_EQ(byteToChar(' '), 0x120u);  // 'Ġ'
  EXPECT_EQ(byteToChar('\n'), 0x10Au); // 'Ċ'
  EXPECT_EQ(byteToChar('A'), uint32_t('A'));
  EXPECT_EQ(byteToChar(0xAD), 0x143u); // soft hyphen is not printable
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(charToByte(byteToChar(uint8_t(b))), b);
  EXPECT_EQ(charToByte('Z' + 0x1000), -1);
}

json byteLevelTokenizer(const std::vector<std::string> &more, json merges,
                        bool addPrefixSpace = false) {
  return {{"model", bpe(byteLevelVocab(more), merges)},
          {"pre_tokenizer",
           {{"type", "ByteLevel"}, {"add_prefix_space", addPrefixSpace},
            {"use_regex", true}}},
          {"decoder", {{"type", "ByteLevel"}}}};
}

TEST(ByteLevelTest, EncodesBytesAndDecodesBack) {
  // "Ġh" merges: " h" is one token after the byte mapping.
  auto t = load(byteLevelTokenizer({"Ġh"}, {"Ġ h"}));
  std::vector<int32_t> ids = t->encode("a h");
  EXPECT_EQ(ids, (std::vector<int32_t>{'a', 256}));
  EXPECT_EQ(decodeAll(*t, ids), "a h");
  // Each byte of a 3-byte character is its own token.
  std::vector<int32_t> zh = t->encode("中");
  ASSERT_EQ(zh.size(), 3u);
  EXPECT_EQ(decodeAll(*t, zh), "中");
  // A lone lead byte decodes to U+FFFD.
  EXPECT_EQ(decodeAll(*t, {zh[0]}), "\xEF\xBF\xBD");
  auto prefixed = load(byteLevelTokenizer({"Ġh"}, {"Ġ h"}, true));
  EXPECT_EQ(prefixed->encode("h"), (std::vector<int32_t>{256}));
}

TEST(ByteLevelTest, InvalidUtf8InputBecomesReplacementCharacters) {
  auto t = load(byteLevelTokenizer({}, json::array()));
  // ff -> U+FFFD; "e4 b8" (truncated) -> one U+FFFD.
  EXPECT_EQ(t->encode("a\xFF" "b"), t->encode("a\xEF\xBF\xBD" "b"));
  EXPECT_EQ(t->encode("\xE4\xB8"), t->encode("\xEF\xBF\xBD"));
  EXPECT_EQ(sanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitizeUtf8("\xF0\x9F\x98"), "\xEF\xBF\xBD");
  EXPECT_EQ(sanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

/// A SentencePiece-style vocabulary with byte fallback: the 256 <0xXX>
/// tokens, then `more`.
json byteFallbackVocab(const std::vector<std::string> &more) {
  json v = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  int id = 3;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    v[name] = id++;
  }
  for (const std::string &m : more)
    v[m] = id++;
  return v;
}

json llamaDecoder() {
  return {{"type", "Sequence"},
          {"decoders",
           {{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
            {{"type", "ByteFallback"}},
            {{"type", "Fuse"}},
            {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
}

json specialToken(int id, const std::string &content) {
  return {{"id", id},         {"content", content}, {"single_word", false},
          {"lstrip", false},  {"rstrip", false},    {"normalized", false},
          {"special", true}};
}

TEST(ByteFallbackTest, UnknownCharactersBecomeBytesAndRunsDecodeAsRust) {
  json tok = {{"model", bpe(byteFallbackVocab({"▁", "h", "i", "▁h", "▁hi"}),
                            {"▁ h", "▁h i"},
                            {{"byte_fallback", true}, {"unk_token", "<unk>"}})},
              {"normalizer",
               {{"type", "Sequence"},
                {"normalizers",
                 {{{"type", "Prepend"}, {"prepend", "▁"}},
                  {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}}}}},
              {"decoder", llamaDecoder()},
              {"added_tokens", {specialToken(1, "<s>"), specialToken(2, "</s>")}}};
  auto t = load(tok);
  int32_t hi = 3 + 256 + 4, a9 = 3 + 0xA9, c3 = 3 + 0xC3;
  EXPECT_EQ(t->encode("hi é"),
            (std::vector<int32_t>{hi, 3 + 256, c3, a9}));
  EXPECT_EQ(decodeAll(*t, t->encode("hi é")), "hi é");
  // The Prepend normalizer runs per section: after <s> it prepends again.
  EXPECT_EQ(t->encode("<s>hi"), (std::vector<int32_t>{1, hi}));
  // An ill-formed byte run: one U+FFFD per byte (the Rust library's rule).
  std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(decodeAll(*t, {3 + 0xE4, 3 + 0xB8, 3 + 0xAD, 3 + 0xE4}),
            fffd + fffd + fffd + fffd);
  EXPECT_EQ(decodeAll(*t, {3 + 0xE4, 3 + 0xB8, 3 + 0xAD, hi}), "中 hi");
  // Empty text stays empty: Prepend adds nothing to it.
  EXPECT_TRUE(t->encode("").empty());
}

json metaspaceTokenizer(const std::string &scheme, bool split) {
  return {{"model", bpe(byteFallbackVocab({"▁", "a", "▁a", "b", "▁b"}),
                        {"▁ a", "▁ b"}, {{"byte_fallback", true}})},
          {"pre_tokenizer",
           {{"type", "Metaspace"}, {"replacement", "▁"},
            {"prepend_scheme", scheme}, {"split", split}}},
          {"decoder",
           {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", scheme}}},
          {"added_tokens", {specialToken(1, "<s>")}}};
}

TEST(MetaspaceTest, PrependSchemes) {
  int32_t a = 3 + 256 + 1, sa = a + 1, sb = a + 3;
  auto first = load(metaspaceTokenizer("first", false));
  EXPECT_EQ(first->encode("a b"), (std::vector<int32_t>{sa, sb}));
  // Only the section at the start of the text gets the prefix.
  EXPECT_EQ(first->encode("<s>a"), (std::vector<int32_t>{1, a}));
  auto always = load(metaspaceTokenizer("always", false));
  EXPECT_EQ(always->encode("<s>a"), (std::vector<int32_t>{1, sa}));
  auto never = load(metaspaceTokenizer("never", false));
  EXPECT_EQ(never->encode("a b"), (std::vector<int32_t>{a, sb}));
  // The decoder drops every ▁ of the first token (prepend scheme not
  // never), and turns the others into spaces.
  EXPECT_EQ(decodeAll(*first, {sa, sb}), "a b");
  EXPECT_EQ(decodeAll(*never, {sa, sb}), " a b");
  EXPECT_EQ(decodeAll(*first, {1, sa}), "<s> a");
}

TEST(NormalizerTest, NfcLowercaseReplaceStrip) {
  json vocab = byteLevelVocab({});
  json tok = {{"model", bpe(vocab, json::array())},
              {"normalizer", {{"type", "NFC"}}},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}}};
  auto nfc = load(tok);
  EXPECT_EQ(nfc->encode("e\xCC\x81"), nfc->encode("\xC3\xA9"));
  tok["normalizer"] = {{"type", "Sequence"},
                       {"normalizers",
                        {{{"type", "Lowercase"}},
                         {{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                         {{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", "_"}}}}};
  auto t = load(tok);
  EXPECT_EQ(t->encode("  AB  C\t"), t->encode("ab_c"));
  EXPECT_EQ(normalize("\xEF\xAC\x81", NormalForm::NFKC), "fi");
  EXPECT_EQ(toLower("ΣΑΣ"), "σας"); // final sigma
}

TEST(AddedTokenTest, SplittingRules) {
  json vocab = byteLevelVocab({});
  auto added = [](int id, const std::string &c, bool special, json opts) {
    json t = {{"id", id},         {"content", c},     {"single_word", false},
              {"lstrip", false},  {"rstrip", false},  {"normalized", !special},
              {"special", special}};
    t.update(opts);
    return t;
  };
  json tok = {{"model", bpe(vocab, json::array())},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
              {"decoder", {{"type", "ByteLevel"}}},
              {"added_tokens",
               {added(300, "<|a|>", true, json::object()),
                added(301, "<|a|><|a|>", true, json::object()),
                added(302, "[L]", true, {{"lstrip", true}, {"rstrip", true}}),
                added(303, "word", false, {{"single_word", true}})}}};
  auto t = load(tok);
  // Leftmost-longest.
  EXPECT_EQ(t->encode("<|a|><|a|><|a|>"), (std::vector<int32_t>{301, 300}));
  // lstrip / rstrip take the surrounding whitespace.
  EXPECT_EQ(t->encode("x  [L]  y"), (std::vector<int32_t>{'x', 302, 'y'}));
  // single_word: only between non-word characters.
  std::vector<int32_t> w = t->encode("a word.");
  EXPECT_NE(std::find(w.begin(), w.end(), 303), w.end());
  std::vector<int32_t> nw = t->encode("swordfish");
  EXPECT_EQ(std::find(nw.begin(), nw.end(), 303), nw.end());
  // Special-token text as plain text on request.
  EncodeOptions plain;
  plain.parseSpecialTokens = false;
  std::vector<int32_t> p = t->encode("<|a|>", plain);
  EXPECT_EQ(p.size(), 5u);
  // Decoding: special tokens kept or skipped.
  EXPECT_EQ(decodeAll(*t, {'x', 300, 'y'}), "x<|a|>y");
  DecodeOptions skip;
  skip.skipSpecialTokens = true;
  EXPECT_EQ(decodeAll(*t, {'x', 300, 'y'}, skip), "xy");
  EXPECT_TRUE(t->isSpecial(300));
  EXPECT_FALSE(t->isSpecial(303));
  EXPECT_EQ(t->tokenToId("<|a|>"), 300);
  EXPECT_EQ(t->idToToken(301), "<|a|><|a|>");
  EXPECT_EQ(t->vocabSize(), 304);
}

TEST(PostProcessorTest, TemplateAndTransformersBosOverride) {
  json tok = byteLevelTokenizer({}, json::array());
  tok["added_tokens"] = {specialToken(256, "<s>"), specialToken(257, "</s>")};
  tok["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"pair", json::array()},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {256}}, {"tokens", {"<s>"}}}}}}};
  auto t = load(tok);
  EncodeOptions special;
  special.addSpecialTokens = true;
  EXPECT_EQ(t->encode("a", special), (std::vector<int32_t>{256, 'a'}));
  EXPECT_EQ(t->encode("a"), (std::vector<int32_t>{'a'}));
  // transformers rebuilds the post-processor of Llama tokenizers.
  json config = {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<s>"},
                 {"eos_token", "</s>"}, {"add_bos_token", false},
                 {"add_eos_token", true}};
  auto llama = load(tok, config);
  EXPECT_EQ(llama->encode("a", special), (std::vector<int32_t>{'a', 257}));
  EXPECT_EQ(llama->specialTokens().bosId, 256);
  EXPECT_EQ(llama->specialTokens().eosId, 257);
}

TEST(DecoderTest, IncrementalDecodingWaitsForWholeCharacters) {
  auto t = load(byteLevelTokenizer({}, json::array()));
  std::vector<int32_t> ids = t->encode("a中😀");
  ASSERT_EQ(ids.size(), 8u);
  IncrementalDecoder d = t->incrementalDecoder();
  std::vector<std::string> pieces;
  for (int32_t id : ids)
    pieces.push_back(*d.push(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "", "", "中", "", "", "", "😀"}));
  EXPECT_EQ(d.finish(), "");
  // An unfinished character at the end becomes U+FFFD at finish().
  EXPECT_EQ(*d.push(ids[1]), "");
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");
  // Unknown ids are errors naming the id.
  auto bad = d.push(99999);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("99999"), std::string::npos);
}

TEST(DecoderTest, IncrementalStripAndByteFallbackMatchFullDecode) {
  json tok = {{"model", bpe(byteFallbackVocab({"▁", "h", "▁h"}), {"▁ h"},
                            {{"byte_fallback", true}})},
              {"pre_tokenizer",
               {{"type", "Metaspace"}, {"replacement", "▁"},
                {"prepend_scheme", "first"}, {"split", false}}},
              {"decoder", llamaDecoder()}};
  auto t = load(tok);
  int32_t sh = 3 + 256 + 2;
  std::vector<int32_t> ids = {sh, 3 + 0xE4, 3 + 0xB8, 3 + 0xAD, sh};
  IncrementalDecoder d = t->incrementalDecoder();
  std::vector<std::string> pieces;
  for (int32_t id : ids)
    pieces.push_back(*d.push(id));
  pieces.push_back(d.finish());
  // The leading space of the first token is stripped; the byte run is held
  // until a non-byte token closes it.
  EXPECT_EQ(pieces, (std::vector<std::string>{"h", "", "", "", "中 h", ""}));
  EXPECT_EQ(decodeAll(*t, ids), "h中 h");
}

TEST(DecoderTest, CleanUpTokenizationSpacesStreams) {
  auto t = load(byteLevelTokenizer({}, json::array()));
  std::vector<int32_t> ids = t->encode("Hello , world . It 's here !");
  DecodeOptions clean;
  clean.cleanUpTokenizationSpaces = true;
  EXPECT_EQ(decodeAll(*t, ids, clean), "Hello, world. It's here!");
  IncrementalDecoder d = t->incrementalDecoder(clean);
  std::string streamed;
  for (int32_t id : ids)
    streamed += *d.push(id);
  streamed += d.finish();
  EXPECT_EQ(streamed, "Hello, world. It's here!");
}

TEST(TokenizerTest, ConcurrentEncodesAgree) {
  auto t = load(byteLevelTokenizer({"Ġh", "Ġhe"}, {"Ġ h", "Ġh e"}));
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += " he" + std::to_string(i) + " 中文 ";
  std::vector<int32_t> want = t->encode(text);
  std::vector<std::thread> threads;
  std::vector<bool> same(4, false);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      bool ok = true;
      for (int r = 0; r < 20; ++r)
        ok &= t->encode(text) == want;
      same[size_t(k)] = ok;
    });
  for (auto &th : threads)
    th.join();
  for (bool s : same)
    EXPECT_TRUE(s);
}

TEST(TokenizerErrorTest, BadFilesNameTheFileAndField) {
  std::string wp = R"({"model": {"type": "WordPiece", "vocab": {}}})";
  std::string m = loadError(wp);
  EXPECT_NE(m.find("tokenizer.json: field 'model.type'"), std::string::npos) << m;
  EXPECT_NE(m.find("WordPiece"), std::string::npos) << m;

  m = loadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [)");
  EXPECT_NE(m.find("tokenizer.json: not valid JSON"), std::string::npos) << m;

  m = loadError(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})");
  EXPECT_NE(m.find("model.merges[0]"), std::string::npos) << m;
  EXPECT_NE(m.find("'b' is not in model.vocab"), std::string::npos) << m;

  m = loadError(R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
                   "pre_tokenizer": {"type": "UnicodeScripts"}})");
  EXPECT_NE(m.find("field 'pre_tokenizer.type'"), std::string::npos) << m;
  EXPECT_NE(m.find("UnicodeScripts"), std::string::npos) << m;

  m = loadError(R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
                   "normalizer": {"type": "Sequence", "normalizers": [{"type": "Precompiled"}]}})");
  EXPECT_NE(m.find("normalizer.normalizers[0].type"), std::string::npos) << m;

  m = loadError(R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
                   "decoder": {"type": "CTC"}})");
  EXPECT_NE(m.find("field 'decoder.type'"), std::string::npos) << m;

  m = loadError(R"({"model": {"type": "BPE", "vocab": {"a": -3}, "merges": []}})");
  EXPECT_NE(m.find("model.vocab"), std::string::npos) << m;

  m = loadError(R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
                   "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"},
                                     "behavior": "Isolated"}})");
  EXPECT_NE(m.find("pre_tokenizer.pattern.Regex"), std::string::npos) << m;

  m = loadError(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})",
                R"({"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": true,
                    "bos_token": "<s>"})");
  EXPECT_NE(m.find("tokenizer_config.json: field 'add_bos_token'"), std::string::npos) << m;

  auto missing = Tokenizer::fromDirectory("/nonexistent-llmc-dir");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("/nonexistent-llmc-dir/tokenizer.json"),
            std::string::npos);
}

} // namespace
