//===- ModelStepTest.cpp - step plans: checks and the byte encoding -------===//

#include "runtime/serve/ModelStep.h"

#include <gtest/gtest.h>

#include <random>

using namespace llmc::serve;

namespace {

StepPlan samplePlan() {
  StepPlan p;
  p.stepIndex = 41;
  SequenceStep a;
  a.seqId = 7;
  a.replica = 1;
  a.startPos = 32;
  a.tokens = {5, 6, 7, 2147483647};
  a.blockTable = {3, 9, 0};
  a.sample = true;
  a.sampling = {0.7f, 0.9f, 40, 0xfeedfacecafebeefull, 5};
  a.drawIndex = 12;
  SequenceStep b;
  b.seqId = ~0ull;
  b.replica = 0;
  b.startPos = 0;
  b.tokens = {1};
  b.blockTable = {4};
  b.sample = false;
  b.sampling = {0.0f, 1.0f, 0, 0, -1};
  p.sequences = {a, b};
  return p;
}

ModelFacts sampleFacts() {
  ModelFacts f;
  f.vocabSize = 100;
  f.blockSize = 4;
  f.numBlocks = 10;
  f.maxModelLen = 40;
  f.replicas = 2;
  return f;
}

SequenceStep validStep() {
  SequenceStep s;
  s.seqId = 1;
  s.startPos = 4;
  s.tokens = {1, 2};
  s.blockTable = {0, 1};
  s.sample = true;
  return s;
}

std::string planError(const SequenceStep &s, const ModelFacts &f) {
  StepPlan p;
  p.sequences = {s};
  Status st = validateStepPlan(p, f);
  return st ? "" : st.message();
}

} // namespace

TEST(StepPlanEncoding, RoundTripsEveryField) {
  StepPlan p = samplePlan();
  std::vector<uint8_t> bytes = encodeStepPlan(p);
  Expected<StepPlan> back = decodeStepPlan(bytes.data(), bytes.size());
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, p);
  EXPECT_EQ(back->numTokens(), 5);
  EXPECT_EQ(back->replicaShare(1), std::vector<size_t>{0});
  EXPECT_EQ(back->replicaShare(0), std::vector<size_t>{1});
  EXPECT_TRUE(back->replicaShare(2).empty());

  StepPlan shutdown;
  shutdown.kind = StepPlan::Kind::Shutdown;
  shutdown.stepIndex = 3;
  bytes = encodeStepPlan(shutdown);
  back = decodeStepPlan(bytes.data(), bytes.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, StepPlan::Kind::Shutdown);
  EXPECT_TRUE(back->sequences.empty());
}

TEST(StepPlanEncoding, RandomPlansRoundTrip) {
  std::mt19937_64 rng(5);
  for (int iter = 0; iter < 200; ++iter) {
    StepPlan p;
    p.stepIndex = rng();
    size_t n = rng() % 6;
    for (size_t i = 0; i < n; ++i) {
      SequenceStep s;
      s.seqId = rng();
      s.replica = int32_t(rng() % 4);
      s.startPos = int64_t(rng() % 1000);
      s.tokens.resize(rng() % 20);
      for (int32_t &t : s.tokens)
        t = int32_t(rng() % 150000);
      s.blockTable.resize(rng() % 30);
      for (int32_t &b : s.blockTable)
        b = int32_t(rng() % 100000);
      s.sample = rng() % 2;
      s.sampling = {float(rng() % 200) / 100, float(rng() % 100 + 1) / 100,
                    int32_t(rng() % 50), rng(), int32_t(rng() % 22) - 1};
      s.drawIndex = rng();
      p.sequences.push_back(s);
    }
    std::vector<uint8_t> bytes = encodeStepPlan(p);
    Expected<StepPlan> back = decodeStepPlan(bytes.data(), bytes.size());
    ASSERT_TRUE(back) << back.status().message();
    ASSERT_EQ(*back, p);
  }
}

TEST(StepPlanEncoding, EveryTruncationIsAnErrorNotACrash) {
  std::vector<uint8_t> bytes = encodeStepPlan(samplePlan());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Expected<StepPlan> back = decodeStepPlan(bytes.data(), n);
    ASSERT_FALSE(back) << "decoded a plan from " << n << " of " << bytes.size()
                       << " bytes";
    EXPECT_NE(back.status().message().find("step plan: "), std::string::npos);
  }
  EXPECT_FALSE(decodeStepPlan(nullptr, 0));
}

TEST(StepPlanEncoding, CorruptFieldsAreNamed) {
  std::vector<uint8_t> good = encodeStepPlan(samplePlan());
  auto error = [](std::vector<uint8_t> b) {
    Expected<StepPlan> p = decodeStepPlan(b.data(), b.size());
    return p ? std::string() : p.status().message();
  };
  std::vector<uint8_t> b = good;
  b[0] = 'X';
  EXPECT_NE(error(b).find("magic"), std::string::npos);
  b = good;
  b[8] = 9; // kind
  EXPECT_NE(error(b).find("kind is 9"), std::string::npos);
  b = good;
  b.push_back(0);
  EXPECT_NE(error(b).find("1 bytes after the last field"), std::string::npos);
  b = good;
  // The sequence count says 2^32 - 1.
  for (int i = 17; i < 21; ++i)
    b[size_t(i)] = 0xff;
  EXPECT_NE(error(b).find("sequence count says 4294967295"), std::string::npos);
  b = good;
  b[8 + 1 + 8 + 4 + 8 + 4 + 8] = 2; // first sequence's sample flag
  EXPECT_NE(error(b).find("sample flag is 2"), std::string::npos);
}

TEST(StepResultEncoding, RoundTripsAndRefusesTruncation) {
  StepResult r;
  r.sampled.push_back({7, 42, -0.25f, {{42, -0.25f}, {3, -2.5f}}});
  r.sampled.push_back({8, 0, 0.0f, {}});
  std::vector<uint8_t> bytes = encodeStepResult(r);
  Expected<StepResult> back = decodeStepResult(bytes.data(), bytes.size());
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, r);
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decodeStepResult(bytes.data(), n));
}

TEST(ValidateStepPlan, AcceptsAGoodPlan) {
  EXPECT_EQ(planError(validStep(), sampleFacts()), "");
}

TEST(ValidateStepPlan, NamesEachBrokenRule) {
  ModelFacts f = sampleFacts();
  SequenceStep s = validStep();
  s.replica = 2;
  EXPECT_NE(planError(s, f).find("replica 2 is not in [0, 2)"),
            std::string::npos);
  s = validStep();
  s.tokens.clear();
  EXPECT_NE(planError(s, f).find("no tokens"), std::string::npos);
  s = validStep();
  s.startPos = 39;
  EXPECT_NE(planError(s, f).find("outside [0, max model length 40)"),
            std::string::npos);
  s = validStep();
  s.startPos = INT64_MAX - 1; // + 2 tokens would wrap to a negative end
  EXPECT_NE(planError(s, f).find("outside [0, max model length 40)"),
            std::string::npos);
  s = validStep();
  s.tokens = {1, 2, 3}; // positions 4..6 need 2 blocks; 7 needs...
  s.startPos = 6;       // up to position 8 -> 3 blocks
  EXPECT_NE(planError(s, f).find("block table has 2 blocks"), std::string::npos);
  s = validStep();
  s.blockTable = {0, 10};
  EXPECT_NE(planError(s, f).find("block id 10 is not in [0, 10)"),
            std::string::npos);
  s = validStep();
  s.tokens = {1, 100};
  EXPECT_NE(planError(s, f).find("token id 100"), std::string::npos);
  s = validStep();
  s.sampling.topP = 0;
  EXPECT_NE(planError(s, f).find("sampling parameters"), std::string::npos);

  StepPlan twice;
  twice.sequences = {validStep(), validStep()};
  Status st = validateStepPlan(twice, f);
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("appears twice"), std::string::npos);

  f.maxTokensPerStep = 1;
  EXPECT_NE(planError(validStep(), f).find("more than the model's 1 per step"),
            std::string::npos);
}
