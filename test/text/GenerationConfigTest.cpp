//===- GenerationConfigTest.cpp - generation_config.json and stop strings -===//

#include "runtime/text/GenerationConfig.h"

#include <gtest/gtest.h>

using namespace llmc::text;

namespace {

TEST(GenerationConfigTest, StopIdsAreTheUnionInOrder) {
  auto g = GenerationConfig::fromJson(
      R"({"bos_token_id": 128000, "eos_token_id": [128001, 128009],
          "do_sample": true, "temperature": 0.6, "top_p": 0.9,
          "max_new_tokens": 64})",
      R"({"eos_token_id": 128001, "bos_token_id": 1})");
  ASSERT_TRUE(g) << g.status().message();
  EXPECT_EQ(g->eosTokenIds, (std::vector<int32_t>{128001, 128009}));
  EXPECT_EQ(g->bosTokenId, 128000);
  EXPECT_TRUE(g->isStopToken(128009));
  EXPECT_FALSE(g->isStopToken(128000));
  SamplingDefaults s = g->sampling();
  EXPECT_DOUBLE_EQ(s.temperature, 0.6);
  EXPECT_DOUBLE_EQ(s.topP, 0.9);
  EXPECT_EQ(s.topK, 50); // transformers' default when the file has none
  EXPECT_EQ(g->newTokenLimit(10), 64);
}

TEST(GenerationConfigTest, GreedyUnlessDoSample) {
  auto g = GenerationConfig::fromJson(R"({"temperature": 0.7, "max_length": 100})", "");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->sampling().temperature, 0.0);
  EXPECT_EQ(g->newTokenLimit(30), 70);
  auto none = GenerationConfig::fromJson("", "");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->newTokenLimit(5).has_value());
  EXPECT_TRUE(none->eosTokenIds.empty());
}

TEST(GenerationConfigTest, BadValuesNameFileAndField) {
  auto bad = GenerationConfig::fromJson(R"({"eos_token_id": "two"})", "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().message(),
            "generation_config.json: field 'eos_token_id' must be a non-negative "
            "token id or a list of them, got \"two\"");
  auto topP = GenerationConfig::fromJson(R"({"top_p": 1.5})", "");
  ASSERT_FALSE(topP);
  EXPECT_EQ(topP.status().message(),
            "generation_config.json: field 'top_p' must be in (0, 1]");
  auto trunc = GenerationConfig::fromJson("", R"({"eos_token_id": )");
  ASSERT_FALSE(trunc);
  EXPECT_EQ(trunc.status().message(),
            "config.json: not valid JSON (truncated or malformed)");
}

TEST(StopMatcherTest, HoldsBackAPossibleStopStringAcrossPieces) {
  StopMatcher m({"world", "<|end|>"});
  EXPECT_EQ(m.push("Hello wo"), "Hello ");
  EXPECT_EQ(m.heldBack(), 2u);
  EXPECT_EQ(m.push("rld and more"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "world");
  EXPECT_EQ(m.push("ignored"), "");
  EXPECT_EQ(m.finish(), "");
}

TEST(StopMatcherTest, ReleasesTextThatStopsBeingAPrefix) {
  StopMatcher m({"<|end|>"});
  EXPECT_EQ(m.push("a <|e"), "a ");
  EXPECT_EQ(m.push("x"), "<|ex");
  EXPECT_EQ(m.push("b <"), "b ");
  EXPECT_EQ(m.finish(), "<");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcherTest, EarliestStopWins) {
  StopMatcher m({"cd", "bcde"});
  EXPECT_EQ(m.push("abcdef"), "a");
  EXPECT_EQ(m.matched(), "bcde");
  StopMatcher n({"b", "bc"});
  EXPECT_EQ(n.push("abc"), "a");
  EXPECT_EQ(n.matched(), "bc");
}

} // namespace
