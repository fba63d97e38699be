//===- HostWeightsTest.cpp - a rank's weights on the host -----------------===//

#include "runtime/model/HostWeights.h"

#include "ExampleManifests.h"

#include "runtime/weights/DType.h"
#include "runtime/weights/RandomWeights.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

using namespace llmc::rt;

namespace {

Manifest example(const char *name) {
  return llmc::rt::testing::exampleManifest(name);
}

/// The whole tensor as the reference would hold it.
std::vector<float> full(uint64_t seed, const ManifestWeight &w) {
  std::vector<float> v(size_t(numElements(w.fullShape)));
  EXPECT_TRUE(fillRandom(seed, w.name, w.fullShape, std::nullopt, v.data()));
  return v;
}

/// Writes a checkpoint of the manifest's weights, as `dtype`.
std::string writeCheckpoint(const Manifest &m, DType dtype, uint64_t seed) {
  char dir[] = "/tmp/llmc-weights-XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  std::vector<TensorData> tensors;
  for (const ManifestWeight &w : m.weights) {
    std::vector<float> v = full(seed, w);
    TensorData t;
    t.name = w.name;
    t.dtype = dtype;
    t.shape = w.fullShape;
    for (float x : v) {
      if (dtype == DType::F32) {
        uint8_t b[4];
        std::memcpy(b, &x, 4);
        t.bytes.insert(t.bytes.end(), b, b + 4);
      } else {
        uint16_t h = dtype == DType::BF16 ? floatToBf16(x) : floatToF16(x);
        t.bytes.push_back(uint8_t(h & 0xff));
        t.bytes.push_back(uint8_t(h >> 8));
      }
    }
    tensors.push_back(std::move(t));
  }
  std::string path = std::string(dir) + "/model.safetensors";
  EXPECT_TRUE(writeSafetensors(path, tensors));
  return dir;
}

} // namespace

TEST(HostWeights, WhichRanksLoadWhat) {
  Manifest m = example("stub-pp2-tp2.json");
  EXPECT_EQ(weightsOfRank(m, 0),
            (std::vector<bool>{true, true, false, false, false}));
  EXPECT_EQ(weightsOfRank(m, 3),
            (std::vector<bool>{false, false, true, true, true}));
  Manifest e = example("stub-dp2-ep2.json");
  EXPECT_EQ(weightsOfRank(e, 2),
            (std::vector<bool>{true, true, true, false, true, false, true,
                               true}));
}

TEST(HostWeights, RandomSlicesMatchTheReferenceGenerator) {
  Manifest m = example("stub-pp2-tp2.json");
  for (int rank = 0; rank < 4; ++rank)
    for (size_t i = 0; i < m.weights.size(); ++i) {
      if (!m.rankLoads(rank, i))
        continue;
      const ManifestWeight &w = m.weights[i];
      std::vector<uint16_t> got(size_t(numElements(w.shape)));
      ASSERT_TRUE(hostWeightBf16(m, rank, i, nullptr, 11, got.data(), 3));
      std::vector<float> want(got.size());
      ASSERT_TRUE(fillRandom(11, w.name, w.fullShape, m.sliceFor(rank, i),
                             want.data()));
      for (size_t j = 0; j < got.size(); ++j)
        ASSERT_EQ(got[j], floatToBf16(want[j])) << w.name << " " << j;
    }
  // Big enough for several threads.
  Manifest big = m;
  big.weights[0].fullShape = {1024, 256};
  big.weights[0].shape = {512, 256};
  big.weights[0].slice->size = 512;
  big.weights[0].slice->offsets = {0, 512};
  std::vector<uint16_t> got(512 * 256);
  ASSERT_TRUE(hostWeightBf16(big, 1, 0, nullptr, 5, got.data(), 4));
  std::vector<float> want(got.size());
  ASSERT_TRUE(fillRandom(5, big.weights[0].name, big.weights[0].fullShape,
                         big.sliceFor(1, 0), want.data()));
  for (size_t j = 0; j < got.size(); ++j)
    ASSERT_EQ(got[j], floatToBf16(want[j]));
}

TEST(HostWeights, CheckpointSlicesInEveryDtype) {
  Manifest m = example("stub-pp2-tp2.json");
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    std::string dir = writeCheckpoint(m, dtype, 3);
    auto ckpt = Checkpoint::open(dir);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
    ASSERT_TRUE(checkCheckpoint(m, **ckpt, {0, 1, 2, 3}));
    for (int rank = 0; rank < 4; ++rank)
      for (size_t i = 0; i < m.weights.size(); ++i) {
        if (!m.rankLoads(rank, i))
          continue;
        const ManifestWeight &w = m.weights[i];
        std::vector<uint16_t> got(size_t(numElements(w.shape)));
        ASSERT_TRUE(
            hostWeightBf16(m, rank, i, ckpt->get(), 0, got.data(), 1));
        std::vector<float> want(got.size());
        ASSERT_TRUE(fillRandom(3, w.name, w.fullShape, m.sliceFor(rank, i),
                               want.data()));
        for (size_t j = 0; j < got.size(); ++j) {
          float stored = dtype == DType::F16 ? f16ToFloat(floatToF16(want[j]))
                                             : want[j];
          ASSERT_EQ(got[j], floatToBf16(stored)) << w.name;
        }
      }
  }
}

TEST(HostWeights, CheckpointRefusals) {
  Manifest m = example("stub-pp2-tp2.json");
  std::string dir = writeCheckpoint(m, DType::F32, 1);
  auto ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(ckpt.ok());
  Manifest missing = m;
  missing.weights[2].name = "model.layers.1.self_attn.v_proj.weight";
  Status s = checkCheckpoint(missing, **ckpt, {2, 3});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("weight 'model.layers.1.self_attn.v_proj.weight' "
                             "(needed by ranks 2, 3) is missing"),
            std::string::npos)
      << s.message();
  // Rank 0 does not load it: no error.
  EXPECT_TRUE(checkCheckpoint(missing, **ckpt, {0}));
  Manifest shape = m;
  shape.weights[3].fullShape = {16};
  shape.weights[3].shape = {16};
  s = checkCheckpoint(shape, **ckpt, {3});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("has shape [8] in the checkpoint but the binary "
                             "was compiled for [16]"),
            std::string::npos)
      << s.message();
  // A tensor that is present is named with the file holding it.
  EXPECT_EQ(s.message().find(dir + "/model.safetensors: weight '" +
                             m.weights[3].name + "' (needed by rank 3)"),
            0u)
      << s.message();
}

TEST(HostWeights, Fp8SlicesAreSlicesOfTheWholeQuantization) {
  // q_proj (column-parallel: its per-channel scale is sliced with it) and
  // o_proj (row-parallel: whole scales, full rows read for them) as FP8.
  Manifest m = example("stub-pp2-tp2.json");
  auto addScale = [&](size_t w, bool sliced) {
    ManifestWeight s;
    s.name = m.weights[w].name + "_scale";
    s.dtype = "f32";
    s.fullShape = {m.weights[w].fullShape[0], 1};
    s.shape = {m.weights[w].shape[0], 1};
    if (sliced)
      s.slice = m.weights[w].slice;
    s.stages = m.weights[w].stages;
    m.weights[w].dtype = "f8e4m3";
    m.weights[w].scale = s.name;
    m.weights.push_back(s);
  };
  addScale(1, true);
  addScale(2, false);
  ASSERT_TRUE(validateManifest(m)) << validateManifest(m).message();
  std::string dir = writeCheckpoint(m, DType::BF16, 5);
  auto ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
  for (const Checkpoint *source : {static_cast<const Checkpoint *>(nullptr),
                                   static_cast<const Checkpoint *>(ckpt->get())}) {
    for (size_t w : {size_t(1), size_t(2)}) {
      Expected<Fp8WeightSpec> spec = fp8SpecOf(m, w);
      ASSERT_TRUE(spec.ok());
      const std::vector<int64_t> &shape = m.weights[w].fullShape;
      std::vector<uint8_t> all(size_t(numElements(shape)));
      std::vector<float> scales(static_cast<size_t>(shape[0]));
      Fp8Source whole{source, 5};
      ASSERT_TRUE(whole.codes(*spec, std::nullopt, all.data()));
      ASSERT_TRUE(whole.scales(*spec, std::nullopt, scales.data()));
      size_t s = size_t(m.weightIndex(m.weights[w].scale));
      for (int rank = 0; rank < 4; ++rank) {
        if (!m.rankLoads(rank, w))
          continue;
        std::optional<Slice> slice = m.sliceFor(rank, w);
        ASSERT_TRUE(slice.has_value());
        std::vector<uint8_t> codes(size_t(numElements(m.weights[w].shape)));
        std::vector<float> local(size_t(m.weights[s].shape[0]));
        ASSERT_TRUE(hostWeightFp8(m, rank, w, source, 5, codes.data()));
        ASSERT_TRUE(hostWeightFp8(m, rank, s, source, 5, local.data()));
        int64_t rows = m.weights[w].shape[0], cols = m.weights[w].shape[1];
        for (int64_t r = 0; r < rows; ++r) {
          int64_t fr = slice->dim == 0 ? slice->offset + r : r;
          EXPECT_EQ(local[size_t(r)], scales[size_t(fr)]) << w << " " << r;
          for (int64_t c = 0; c < cols; ++c) {
            int64_t fc = slice->dim == 1 ? slice->offset + c : c;
            ASSERT_EQ(codes[size_t(r * cols + c)],
                      all[size_t(fr * shape[1] + fc)])
                << m.weights[w].name << " rank " << rank;
          }
        }
      }
    }
  }
  EXPECT_TRUE(checkCheckpoint(m, **ckpt, {0, 1, 2, 3}));
}
