//===- RobustnessTest.cpp - mutated step plans and API bodies -------------===//
//
// The randomized counterpart of the libFuzzer targets (test/fuzz
// FuzzStepPlan.cpp, FuzzApiRequest.cpp) that runs in every build: a fixed
// seed, a bounded number of mutations of valid inputs (byte flips,
// insertions, deletions, truncations, type swaps), each either refused with
// a message or accepted with every invariant the consumers rely on.
//
//===----------------------------------------------------------------------===//

#include "runtime/serve/ModelStep.h"
#include "runtime/serve/OpenAI.h"
#include "test/serve/ByteCodec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

using namespace llmc::serve;
using json = nlohmann::json;

namespace {

StepPlan randomPlan(std::mt19937_64 &rng) {
  StepPlan p;
  p.stepIndex = rng();
  int n = int(rng() % 4);
  for (int i = 0; i < n; ++i) {
    SequenceStep s;
    s.seqId = rng() % 100;
    s.replica = int32_t(rng() % 2);
    s.startPos = int64_t(rng() % 12);
    for (int t = 0, m = 1 + int(rng() % 5); t < m; ++t)
      s.tokens.push_back(int32_t(rng() % 120));
    int64_t blocks = (s.startPos + int64_t(s.tokens.size()) + 3) / 4;
    for (int64_t b = 0; b < blocks; ++b)
      s.blockTable.push_back(int32_t(rng() % 12));
    s.sample = rng() % 2;
    s.sampling = {float(rng() % 3) * 0.5f, 1.0f, int32_t(rng() % 3),
                  rng(), int32_t(rng() % 4) - 1};
    s.drawIndex = rng() % 9;
    p.sequences.push_back(s);
  }
  return p;
}

std::vector<uint8_t> mutate(std::vector<uint8_t> bytes, std::mt19937_64 &rng) {
  for (int k = 0, n = 1 + int(rng() % 4); k < n; ++k) {
    size_t at = bytes.empty() ? 0 : size_t(rng() % bytes.size());
    switch (rng() % 5) {
    case 0: // flip a bit
      if (!bytes.empty())
        bytes[at] ^= uint8_t(1u << (rng() % 8));
      break;
    case 1: // an extreme byte
      if (!bytes.empty())
        bytes[at] = (rng() % 2) ? 0xff : 0x00;
      break;
    case 2: // insert
      bytes.insert(bytes.begin() + long(at), uint8_t(rng()));
      break;
    case 3: // delete
      if (!bytes.empty())
        bytes.erase(bytes.begin() + long(at));
      break;
    case 4: // truncate
      bytes.resize(at);
      break;
    }
  }
  return bytes;
}

} // namespace

TEST(Robustness, MutatedStepPlansAreRefusedOrExact) {
  ModelFacts facts;
  facts.vocabSize = 100;
  facts.blockSize = 4;
  facts.numBlocks = 10;
  facts.maxModelLen = 40;
  facts.replicas = 2;
  std::mt19937_64 rng(17);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes = mutate(encodeStepPlan(randomPlan(rng)), rng);
    Expected<StepPlan> plan = decodeStepPlan(bytes.data(), bytes.size());
    if (!plan) {
      ASSERT_FALSE(plan.status().message().empty());
      ++refused;
      continue;
    }
    ++accepted;
    // Accepted bytes are exactly a plan's encoding (nothing ignored).
    ASSERT_EQ(encodeStepPlan(*plan), bytes) << "iteration " << i;
    // Validation of whatever decoded never crashes and names the rule.
    Status st = validateStepPlan(*plan, facts);
    if (!st) {
      ASSERT_FALSE(st.message().empty());
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_GT(accepted, 10); // some mutations keep a well-formed plan
}

TEST(Robustness, MutatedApiBodiesAreRefusedOrWithinLimits) {
  test::ByteCodec codec;
  ApiContext ctx;
  ctx.codec = &codec;
  ctx.modelName = "m";
  ctx.maxModelLen = 64;
  ctx.vocabSize = 300;
  const std::vector<json> seeds = {
      {{"prompt", "hello"}, {"max_tokens", 4}, {"logprobs", 2}},
      {{"prompt", {1, 2, 3}}, {"temperature", 0.5}, {"seed", 3},
       {"stop", {"a", "b"}}, {"stream", true}},
      {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
       {"max_completion_tokens", 5}, {"logprobs", true},
       {"top_logprobs", 3}},
      {{"messages",
        {{{"role", "system"}, {"content", {{{"type", "text"}, {"text", "x"}}}}},
         {{"role", "user"}, {"content", "y"}}}},
       {"top_p", 0.9}, {"top_k", 5}, {"stop_token_ids", {7}},
       {"stream_options", {{"include_usage", true}}}}};
  const std::vector<json> values = {
      nullptr, true, -1, 0, 1, 1e300, -1e300, 2.5, "", "x", json::array(),
      json::object(), {1, 2}, {"a"}, INT64_MAX, INT64_MIN};
  std::mt19937_64 rng(29);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 6000; ++i) {
    json body = seeds[rng() % seeds.size()];
    std::string text;
    if (rng() % 2) {
      // Swap a field's value for one of another type or range.
      auto it = body.begin();
      std::advance(it, long(rng() % body.size()));
      it.value() = values[rng() % values.size()];
      if (rng() % 3 == 0)
        body["max_tokens"] = values[rng() % values.size()];
      text = body.dump();
    } else {
      std::string s = body.dump();
      std::vector<uint8_t> bytes(s.begin(), s.end());
      bytes = mutate(bytes, rng);
      text.assign(bytes.begin(), bytes.end());
    }
    Endpoint endpoint = body.contains("messages") ? Endpoint::Chat
                                                  : Endpoint::Completions;
    ApiRequest req;
    ApiError err;
    if (!parseApiRequest(text, endpoint, ctx, req, err)) {
      ASSERT_GE(err.status, 400) << text;
      ASSERT_LT(err.status, 500) << text;
      ASSERT_FALSE(err.message.empty()) << text;
      ++refused;
      continue;
    }
    ++accepted;
    const SequenceSpec &spec = req.spec;
    ASSERT_FALSE(spec.prompt.empty()) << text;
    for (int32_t t : spec.prompt)
      ASSERT_TRUE(t >= 0 && t < ctx.vocabSize) << text;
    ASSERT_GE(spec.maxTokens, 1) << text;
    ASSERT_LE(int64_t(spec.prompt.size()) + spec.maxTokens, ctx.maxModelLen)
        << text;
    ASSERT_TRUE(spec.sampling.temperature >= 0 &&
                spec.sampling.temperature <= 2) << text;
    ASSERT_TRUE(spec.sampling.topP > 0 && spec.sampling.topP <= 1) << text;
    ASSERT_GE(spec.sampling.topK, 0) << text;
    ASSERT_LE(spec.sampling.logprobs, 20) << text;
  }
  EXPECT_GT(refused, 500);
  EXPECT_GT(accepted, 500);
}
