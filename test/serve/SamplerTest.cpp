//===- SamplerTest.cpp - host-side sampling with per-sequence draws -------===//

#include "runtime/serve/Sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

using namespace llmc::serve;

namespace {

SampledToken sample(const std::vector<float> &l, SamplingParams p,
                    uint64_t draw = 0) {
  Expected<SampledToken> t =
      sampleLogits(l.data(), int64_t(l.size()), p, draw);
  EXPECT_TRUE(t) << t.status().message();
  return t ? *t : SampledToken();
}

SamplingParams params(float t, float p = 1, int32_t k = 0, uint64_t seed = 1,
                      int32_t lp = -1) {
  return {t, p, k, seed, lp};
}

} // namespace

TEST(Sampler, GreedyTakesTheLowestIdOfTheMaximum) {
  std::vector<float> l = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(sample(l, params(0)).token, 1);
  l[0] = NAN;
  EXPECT_EQ(sample(l, params(0)).token, 1);
}

TEST(Sampler, RefusesLogitsWithoutAFiniteValue) {
  std::vector<float> l = {NAN, -INFINITY};
  Expected<SampledToken> t = sampleLogits(l.data(), 2, params(1), 0);
  ASSERT_FALSE(t);
  EXPECT_NE(t.status().message().find("every one of the 2 logits"),
            std::string::npos);
}

TEST(Sampler, DrawsDependOnlyOnSeedAndIndex) {
  std::vector<float> l(50);
  for (size_t i = 0; i < l.size(); ++i)
    l[i] = float(i % 7) * 0.3f;
  std::map<int32_t, int> seen;
  for (uint64_t d = 0; d < 64; ++d) {
    int32_t a = sample(l, params(1.0f, 1, 0, 99), d).token;
    EXPECT_EQ(a, sample(l, params(1.0f, 1, 0, 99), d).token);
    ++seen[a];
  }
  // Different draw indices give different tokens (not one repeated draw).
  EXPECT_GT(seen.size(), 5u);
  EXPECT_NE(drawBits(1, 0), drawBits(2, 0));
  EXPECT_NE(drawBits(1, 0), drawBits(1, 1));
  double u = drawUniform(3, 4);
  EXPECT_GE(u, 0.0);
  EXPECT_LT(u, 1.0);
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  std::vector<float> l = {0.0f, 1.0f, 2.0f};
  const int n = 20000;
  int counts[3] = {0, 0, 0};
  for (int d = 0; d < n; ++d)
    ++counts[sample(l, params(1.0f, 1, 0, 7), uint64_t(d)).token];
  double z = 1 + std::exp(1.0) + std::exp(2.0);
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(double(counts[i]) / n, std::exp(double(i)) / z, 0.015) << i;
}

TEST(Sampler, TopKAndTopPCutTheTail) {
  std::vector<float> l = {0.0f, 3.0f, 2.9f, 0.1f};
  for (uint64_t d = 0; d < 200; ++d) {
    EXPECT_EQ(sample(l, params(1.0f, 1, 1), d).token, 1);
    int32_t t = sample(l, params(5.0f, 1, 2), d).token;
    EXPECT_TRUE(t == 1 || t == 2) << t;
    // Token 1 alone holds < 50% at T=1: top_p 0.5 keeps tokens 1 and 2.
    t = sample(l, params(1.0f, 0.5f, 0), d).token;
    EXPECT_TRUE(t == 1 || t == 2) << t;
    EXPECT_EQ(sample(l, params(1.0f, 0.01f, 0), d).token, 1);
  }
}

TEST(Sampler, LogprobsAreTheRawLogSoftmax) {
  std::vector<float> l = {1.0f, 3.0f, 2.0f, 3.0f};
  SampledToken t = sample(l, params(0, 1, 0, 1, 3));
  EXPECT_EQ(t.token, 1);
  double z = std::log(std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0));
  EXPECT_NEAR(t.logprob, 3.0 - z, 1e-6);
  ASSERT_EQ(t.top.size(), 3u);
  EXPECT_EQ(t.top[0].token, 1);
  EXPECT_EQ(t.top[1].token, 3); // tie with 1: lower id first
  EXPECT_EQ(t.top[2].token, 2);
  EXPECT_NEAR(t.top[2].logprob, 2.0 - z, 1e-6);
  // Unchanged by temperature (raw distribution).
  SampledToken hot = sample(l, params(1.5f, 1, 0, 1, 0), 3);
  EXPECT_NEAR(hot.logprob, l[size_t(hot.token)] - z, 1e-6);
  EXPECT_TRUE(hot.top.empty());
  EXPECT_EQ(sample(l, params(0)).logprob, 0.0f);
}
