//===- RandomWeightsTest.cpp - deterministic random weight tests ----------===//
//
// The pinned values below were computed by an independent Python transcription
// of the formula documented in RandomWeights.h; a change here means every
// port (CPU reference, CUDA) must change with it.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/RandomWeights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>
#include <string>

using namespace llmc::rt;

namespace {

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

std::vector<float> fillAll(uint64_t seed, const std::string &name,
                           const std::vector<int64_t> &shape,
                           const std::optional<Slice> &slice = std::nullopt) {
  std::vector<float> out(
      size_t(numElements(slice ? slicedShape(shape, *slice) : shape)));
  Status s = fillRandom(seed, name, shape, slice, out.data());
  EXPECT_TRUE(s.isOk()) << s.message();
  return out;
}

TEST(RandomWeightsTest, HashAndMixerMatchReferenceVectors) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(tensorNameHash(""), 0xCBF29CE484222325ull);
  EXPECT_EQ(tensorNameHash("a"), 0xAF63DC4C8601EC8Cull);
  EXPECT_EQ(tensorNameHash("foobar"), 0x85944171F73967E8ull);
  // First output of SplitMix64 seeded with 0.
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFull);
}

TEST(RandomWeightsTest, PinnedValues) {
  auto u = [](uint64_t seed, const char *name, uint64_t i) {
    return bitsOf(randomUniform(seed, tensorNameHash(name), i));
  };
  EXPECT_EQ(u(0, "model.embed_tokens.weight", 0), 0xBF3EF850u);
  EXPECT_EQ(u(0, "model.embed_tokens.weight", 1), 0x3EC1B94Cu);
  EXPECT_EQ(u(42, "model.layers.0.self_attn.q_proj.weight", 12345),
            0xBF496F9Eu);
  EXPECT_EQ(u(7, "lm_head.weight", (uint64_t(1) << 40) + 3), 0x3F35B168u);

  EXPECT_EQ(bitsOf(randomWeightValue(1, "model.layers.0.mlp.down_proj.weight",
                                     {8, 64}, 5)),
            0xBDE69CD6u);
  EXPECT_EQ(bitsOf(randomWeightValue(1, "model.layers.0.mlp.down_proj.weight",
                                     {8, 3}, 5)),
            0xBF0524EFu);
  EXPECT_EQ(bitsOf(randomWeightValue(3, "model.norm.weight", {16}, 9)),
            0x3F80E3EDu);
  EXPECT_EQ(bitsOf(randomWeightValue(3, "model.layers.0.self_attn.q_proj.bias",
                                     {16}, 2)),
            0xBC2ADA40u);
}

TEST(RandomWeightsTest, DeterministicAndInRange) {
  std::vector<int64_t> shape = {256, 1024};
  std::vector<float> a = fillAll(5, "w.weight", shape);
  std::vector<float> b = fillAll(5, "w.weight", shape);
  EXPECT_EQ(a, b);

  uint64_t h = tensorNameHash("w");
  double sum = 0, sumSq = 0;
  const int n = 1 << 20;
  float lo = 1, hi = -1;
  for (int i = 0; i < n; ++i) {
    float u = randomUniform(9, h, uint64_t(i));
    ASSERT_GE(u, -1.0f);
    ASSERT_LT(u, 1.0f);
    // On the 2^-23 grid, so the value is exact in any float arithmetic.
    float scaled = u * 8388608.0f;
    ASSERT_EQ(scaled, std::floor(scaled));
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
    sumSq += double(u) * u;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.005);
  EXPECT_NEAR(sumSq / n, 1.0 / 3, 0.005);
  EXPECT_LT(lo, -0.999f);
  EXPECT_GT(hi, 0.999f);
}

TEST(RandomWeightsTest, SliceEqualsSliceOfFull) {
  const std::vector<int64_t> shape = {6, 10, 4};
  for (const char *name : {"model.layers.1.mlp.up_proj.weight",
                           "model.layers.1.input_layernorm.weight",
                           "model.layers.1.self_attn.k_proj.bias"}) {
    SCOPED_TRACE(name);
    std::vector<float> full = fillAll(11, name, shape);
    for (Slice s : {Slice{0, 2, 3}, Slice{1, 5, 5}, Slice{2, 1, 2},
                    Slice{0, 0, 6}, Slice{1, 3, 0}}) {
      SCOPED_TRACE(testing::Message() << "slice dim " << s.dim << " offset "
                                      << s.offset << " size " << s.size);
      std::vector<float> expected(size_t(numElements(slicedShape(shape, s))));
      copySlice(full.data(), shape, s, expected.data());
      EXPECT_EQ(fillAll(11, name, shape, s), expected);
    }
  }
  // Column-parallel and row-parallel shards of a 2-D weight reassemble.
  std::vector<int64_t> w = {8, 12};
  std::vector<float> full = fillAll(2, "o_proj.weight", w);
  for (int rank = 0; rank < 4; ++rank) {
    std::vector<float> cols =
        fillAll(2, "o_proj.weight", w, Slice{1, 3 * rank, 3});
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(cols[r * 3 + c], full[r * 12 + 3 * rank + c]);
  }
}

TEST(RandomWeightsTest, NamesAndSeedsDiffer) {
  std::vector<int64_t> shape = {64};
  std::vector<float> base = fillAll(0, "a.weight", shape);
  EXPECT_NE(base, fillAll(1, "a.weight", shape));
  EXPECT_NE(base, fillAll(0, "b.weight", shape));
  EXPECT_NE(base, fillAll(0, "a.weight ", shape));
  // Neighbouring seeds do not produce shifted copies of each other.
  std::vector<float> next = fillAll(1, "a.weight", {65});
  EXPECT_NE(std::vector<float>(next.begin() + 1, next.end()), base);
  // Values within a tensor are essentially all distinct.
  std::vector<float> many = fillAll(0, "big.weight", {4096});
  EXPECT_GT(std::set<float>(many.begin(), many.end()).size(), 4000u);
}

TEST(RandomWeightsTest, ScalesByName) {
  EXPECT_EQ(weightScaleFor("model.layers.0.input_layernorm.weight"),
            WeightScale::Norm);
  EXPECT_EQ(weightScaleFor("model.norm.weight"), WeightScale::Norm);
  EXPECT_EQ(weightScaleFor("model.layers.0.self_attn.q_norm.weight"),
            WeightScale::Norm);
  EXPECT_EQ(weightScaleFor("model.layers.0.self_attn.q_proj.bias"),
            WeightScale::Bias);
  EXPECT_EQ(weightScaleFor("model.embed_tokens.weight"), WeightScale::FanIn);
  EXPECT_EQ(weightScaleFor("bias"), WeightScale::FanIn);
  // Static FP8 activation scales are a fixed 2^-5 (docs/quantization.md).
  EXPECT_EQ(weightScaleFor("model.layers.0.mlp.down_proj.input_scale"),
            WeightScale::InputScale);
  EXPECT_EQ(fillAll(3, "a.input_scale", {1}), std::vector<float>{0x1p-5f});

  std::vector<float> norm = fillAll(4, "model.norm.weight", {4096});
  for (float v : norm) {
    ASSERT_GE(v, 0.9f);
    ASSERT_LE(v, 1.1f);
  }
  std::vector<float> bias = fillAll(4, "x.bias", {4096});
  for (float v : bias) {
    ASSERT_GE(v, -0.1f);
    ASSERT_LT(v, 0.1f);
  }
  std::vector<float> w = fillAll(4, "x.weight", {16, 256});
  float maxAbs = 0;
  for (float v : w)
    maxAbs = std::max(maxAbs, std::fabs(v));
  EXPECT_LE(maxAbs, 1.0f / 16);
  EXPECT_GT(maxAbs, 0.9f / 16);

  EXPECT_EQ(fanInFactor({16, 256}), 1.0f / 16);
  EXPECT_EQ(fanInFactor({256}), 1.0f);
  EXPECT_EQ(fanInFactor({}), 1.0f);
  EXPECT_EQ(fanInFactor({4, 0}), 1.0f);
  // 1-D non-norm tensors are unscaled uniforms.
  EXPECT_EQ(randomWeightValue(4, "A_log", {8}, 3),
            randomUniform(4, tensorNameHash("A_log"), 3));
}

TEST(RandomWeightsTest, OverloadsAgree) {
  const std::string name = "model.layers.3.mlp.gate_proj.weight";
  const std::vector<int64_t> shape = {32, 48};
  std::vector<float> full = fillAll(77, name, shape);
  uint64_t h = tensorNameHash(name);
  RandomTensorParams params(77, name, shape);
  for (uint64_t i : {0ull, 1ull, 100ull, 1535ull}) {
    EXPECT_EQ(full[i], randomWeightValue(77, name, shape, i));
    EXPECT_EQ(full[i], randomWeightValue(77, h, WeightScale::FanIn,
                                         fanInFactor(shape), i));
    EXPECT_EQ(full[i], params.value(i));
  }
  // A 0-d tensor has one element, index 0.
  std::vector<float> scalar = fillAll(77, "s", {});
  ASSERT_EQ(scalar.size(), 1u);
  EXPECT_EQ(scalar[0], randomWeightValue(77, "s", {}, 0));
}

TEST(RandomWeightsTest, LargeTensor) {
  const std::vector<int64_t> shape = {4096, 4096};
  std::vector<float> out =
      fillAll(1, "model.layers.0.mlp.up_proj.weight", shape);
  ASSERT_EQ(out.size(), size_t(4096) * 4096);
  for (uint64_t i : {0ull, 4095ull, 4096ull * 4096 - 1})
    EXPECT_EQ(out[i], randomWeightValue(1, "model.layers.0.mlp.up_proj.weight",
                                        shape, i));
}

TEST(RandomWeightsTest, BadSliceIsAnError) {
  float out[4];
  Status s = fillRandom(0, "w.weight", {2, 2}, Slice{2, 0, 1}, out);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("'w.weight'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("dim must be in"), std::string::npos);
  Status neg = fillRandom(0, "n.weight", {2, -2}, std::nullopt, out);
  ASSERT_FALSE(neg.isOk());
  EXPECT_NE(neg.message().find("'n.weight'"), std::string::npos);
}

} // namespace
