//===- ReferenceTest.cpp - llmc's text library against the references ----===//
//
// Reads what reference/reference.mjs wrote for each tokenizer family (ids,
// decoded text and rendered chat templates of @huggingface/tokenizers and
// @huggingface/jinja on the corpus of reference/corpus.json) and requires
// the library to agree on every one: ids with and without special tokens,
// full decodes (special tokens kept and skipped), the incremental decoder
// fed one id at a time, and every chat rendering. Prints one agreement line
// per family.
//
// LLMC_TEXT_REFERENCE_DIR (environment) overrides the folder holding one
// sub-folder per family (default: the build tree's).
//
//===----------------------------------------------------------------------===//

#include "runtime/text/ChatTemplate.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/text/Unicode.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>

using namespace llmc;
using nlohmann::json;

namespace {

/// LLMC_TEXT_REFERENCE_DIR in the environment, else the build tree's.
std::string referenceDir() {
  const char *env = std::getenv("LLMC_TEXT_REFERENCE_DIR");
  return env && *env ? env : LLMC_TEXT_REFERENCE_DIR;
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The bytes of a corpus item, built as reference.mjs builds them.
std::string itemBytes(const json &item) {
  if (item.contains("hex")) {
    std::string hex;
    for (char c : item["hex"].get<std::string>())
      if (!std::isspace(static_cast<unsigned char>(c)))
        hex.push_back(c);
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
      out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
  }
  if (item.contains("repeat")) {
    std::string unit = item["repeat"], out;
    for (int i = 0; i < item["times"].get<int>(); ++i)
      out += unit;
    return out;
  }
  return item["text"].get<std::string>();
}

std::vector<std::string> families() {
  std::vector<std::string> out;
  if (DIR *d = opendir(referenceDir().c_str())) {
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      if (name[0] != '.' &&
          std::ifstream(referenceDir() + "/" + name + "/reference.json"))
        out.push_back(name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string show(const std::vector<int32_t> &ids, size_t max = 24) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < max; ++i)
    s += (i ? "," : "") + std::to_string(ids[i]);
  if (ids.size() > max)
    s += ",... (" + std::to_string(ids.size()) + " ids)";
  return s;
}

/// Index of the first difference, for readable failures.
template <class T> size_t firstDiff(const T &a, const T &b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i])
    ++i;
  return i;
}

class ReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceTest, AgreesWithReference) {
  const std::string family = GetParam();
  const std::string dir = referenceDir() + "/" + family;
  json ref = json::parse(readAll(dir + "/reference.json"));
  json corpus = json::parse(readAll(std::string(LLMC_TEXT_SOURCE_DIR) +
                                    "/reference/corpus.json"))["items"];
  auto loaded = text::Tokenizer::fromDirectory(dir);
  ASSERT_TRUE(loaded) << loaded.status().message();
  const text::Tokenizer &tok = **loaded;

  size_t idsOk = 0, idsTotal = 0, textOk = 0, textTotal = 0, incOk = 0;
  size_t tokens = 0;
  ASSERT_EQ(ref["items"].size(), corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    const json &r = ref["items"][i];
    std::string name = r["name"];
    std::string input = itemBytes(corpus[i]);
    SCOPED_TRACE(family + " / " + name);
    for (bool special : {false, true}) {
      std::vector<int32_t> want =
          r[special ? "ids_special" : "ids"].get<std::vector<int32_t>>();
      text::EncodeOptions eo;
      eo.addSpecialTokens = special;
      std::vector<int32_t> got = tok.encode(input, eo);
      ++idsTotal;
      tokens += want.size();
      if (got == want) {
        ++idsOk;
      } else {
        size_t d = firstDiff(got, want);
        ADD_FAILURE() << "ids differ (special=" << special << ") at " << d
                      << "\n  llmc:      " << show(got) << "\n  reference: "
                      << show(want);
      }
    }
    struct Case {
      const char *ids, *text;
      bool skip;
    } cases[] = {{"ids", "decoded", false},
                 {"ids", "decoded_skip", true},
                 {"ids_special", "decoded_special", false}};
    for (const Case &c : cases) {
      std::vector<int32_t> ids = r[c.ids].get<std::vector<int32_t>>();
      std::string want = r[c.text];
      text::DecodeOptions opts;
      opts.skipSpecialTokens = c.skip;
      auto got = tok.decode(ids, opts);
      ++textTotal;
      ASSERT_TRUE(got) << got.status().message();
      if (*got == want)
        ++textOk;
      else
        ADD_FAILURE() << c.text << " differs at byte " << firstDiff(*got, want)
                      << "\n  llmc:      " << json(*got).dump().substr(0, 300)
                      << "\n  reference: " << json(want).dump().substr(0, 300);
      // The incremental decoder, one id at a time, must give the full
      // decode, in pieces that are each valid UTF-8.
      text::IncrementalDecoder inc = tok.incrementalDecoder(opts);
      std::string streamed;
      bool piecesValid = true;
      for (int32_t id : ids) {
        auto piece = inc.push(id);
        ASSERT_TRUE(piece) << piece.status().message();
        piecesValid &= text::isValidUtf8(*piece);
        streamed += *piece;
      }
      streamed += inc.finish();
      EXPECT_TRUE(piecesValid);
      if (streamed == *got && piecesValid)
        ++incOk;
      else
        ADD_FAILURE() << "incremental decode differs from the full decode at "
                      << firstDiff(streamed, *got);
    }
  }
  std::printf("[reference] %s: ids %zu/%zu, decoded text %zu/%zu, "
              "incremental %zu/%zu, %zu reference tokens\n",
              family.c_str(), idsOk, idsTotal, textOk, textTotal, incOk,
              textTotal, tokens);
}

/// Chat templates: rendered text, raised errors and the prompt ids.
TEST_P(ReferenceTest, ChatTemplatesAgree) {
  const std::string family = GetParam();
  const std::string dir = referenceDir() + "/" + family;
  json ref = json::parse(readAll(dir + "/reference.json"));
  if (ref["chats"].empty())
    GTEST_SKIP() << family << " has no chat template";
  // ordered_json keeps the key order tojson must reproduce.
  nlohmann::ordered_json chats = nlohmann::ordered_json::parse(readAll(
      std::string(LLMC_TEXT_SOURCE_DIR) + "/reference/chats.json"))["chats"];
  auto tmpl = text::ChatTemplate::fromDirectory(dir);
  ASSERT_TRUE(tmpl) << tmpl.status().message();
  auto tok = text::Tokenizer::fromDirectory(dir);
  ASSERT_TRUE(tok) << tok.status().message();
  size_t ok = 0, errors = 0;
  for (const json &r : ref["chats"]) {
    std::string name = r["name"];
    bool gen = r["add_generation_prompt"];
    SCOPED_TRACE(family + " / " + name + (gen ? " (generation prompt)" : ""));
    const nlohmann::ordered_json *chat = nullptr;
    for (const auto &c : chats)
      if (c["name"] == name)
        chat = &c;
    ASSERT_NE(chat, nullptr);
    nlohmann::ordered_json extra = chat->value("extra", nlohmann::ordered_json::object());
    if (chat->contains("tools"))
      extra["tools"] = (*chat)["tools"];
    auto got = tmpl->render((*chat)["messages"].dump(), gen, extra.dump());
    if (r.contains("error")) {
      // The reference raised: so must we, with the same message when the
      // template raised it (other errors are worded by each engine).
      ASSERT_FALSE(got) << "reference failed with: " << r["error"];
      std::string msg = got.status().message();
      bool raised = msg.find("raise_exception: ") != std::string::npos;
      if (raised) {
        EXPECT_NE(msg.find(r["error"].get<std::string>()), std::string::npos)
            << msg;
      }
      ++errors;
      ++ok;
      continue;
    }
    ASSERT_TRUE(got) << got.status().message();
    std::string want = r["rendered"];
    if (*got != want) {
      ADD_FAILURE() << "rendering differs at byte " << firstDiff(*got, want)
                    << "\n  llmc:      " << json(*got).dump()
                    << "\n  reference: " << json(want).dump();
      continue;
    }
    std::vector<int32_t> ids = text::encodeChatPrompt(**tok, *got);
    EXPECT_EQ(ids, r["ids"].get<std::vector<int32_t>>());
    ++ok;
  }
  std::printf("[reference] %s: chat renderings %zu/%zu equal (%zu of them "
              "errors raised by both)\n",
              family.c_str(), ok, ref["chats"].size(), errors);
}

INSTANTIATE_TEST_SUITE_P(Families, ReferenceTest,
                         ::testing::ValuesIn(families()),
                         [](const auto &info) {
                           std::string n = info.param;
                           for (char &c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ReferenceTest);

/// Every family of families.json has its reference output: a fetch that
/// produced nothing fails here rather than passing with no test run.
TEST(Reference, EveryFamilyPresent) {
  json f = json::parse(readAll(std::string(LLMC_TEXT_SOURCE_DIR) +
                               "/reference/families.json"));
  std::vector<std::string> have = families();
  for (const json &fam : f["families"])
    EXPECT_NE(std::find(have.begin(), have.end(), fam["name"]), have.end())
        << "no reference output for family " << fam["name"] << " in "
        << referenceDir() << " (did the npm fetch fail?)";
}

} // namespace
