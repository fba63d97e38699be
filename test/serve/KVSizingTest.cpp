//===- KVSizingTest.cpp - how many KV blocks fit in GPU memory ------------===//

#include "runtime/serve/KVSizing.h"

#include <gtest/gtest.h>

using namespace llmc::serve;

namespace {

constexpr uint64_t GiB = 1ull << 30;

/// Llama-3-8B: 32 layers, 8 kv heads of 128, bf16.
KVBlockLayout llama8b(int64_t layers = 32, int64_t kvHeads = 8) {
  return {layers, kvHeads, 128, 2, 16};
}

} // namespace

TEST(KVSizing, BytesPerBlock) {
  // 2 (K, V) x 32 x 8 x 128 x 2 bytes x 16 tokens = 2 MiB.
  EXPECT_EQ(kvBytesPerBlock(llama8b()), 2ull << 20);
  // tp2 halves the kv heads, pp2 the layers.
  EXPECT_EQ(kvBytesPerBlock(llama8b(16, 4)), 512ull << 10);
  // FP8: one byte per element plus an fp32 scale per position and head:
  // 2 x 32 x 8 x 16 x (128 + 4) bytes, so a pool holds 1.94x the blocks.
  KVBlockLayout fp8 = llama8b();
  fp8.dtypeBytes = 1;
  fp8.scaleBytes = 4;
  EXPECT_EQ(kvBytesPerBlock(fp8), 2ull * 32 * 8 * 16 * 132);
}

TEST(KVSizing, OneGpu) {
  // 80 GiB H100 at 0.9: 72 GiB - 15 GiB weights - 5 GiB activations = 52
  // GiB of 2 MiB blocks.
  DeviceMemory d{"GPU 0", 80 * GiB, {{15 * GiB, 5 * GiB, llama8b()}}};
  Expected<int64_t> n = kvBlocksFromMemory({d}, 0.9);
  ASSERT_TRUE(n) << n.status().message();
  EXPECT_EQ(*n, 52 * 512);
}

TEST(KVSizing, TheTightestDeviceDecides) {
  // tp2: each GPU holds half of the weights and half of the kv heads.
  DeviceMemory a{"GPU 0", 80 * GiB, {{8 * GiB, 2 * GiB, llama8b(32, 4)}}};
  DeviceMemory b{"GPU 1", 40 * GiB, {{8 * GiB, 2 * GiB, llama8b(32, 4)}}};
  Expected<int64_t> n = kvBlocksFromMemory({a, b}, 0.5);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 10 * 1024); // GPU 1: 20 - 10 GiB of 1 MiB blocks
}

TEST(KVSizing, EmulatedRanksShareOneGpu) {
  // Every rank of tp2 on one GPU: both ranks' weights and both slices of
  // each block.
  DeviceMemory d{"GPU 0", 80 * GiB,
                 {{8 * GiB, 2 * GiB, llama8b(32, 4)},
                  {8 * GiB, 2 * GiB, llama8b(32, 4)}}};
  Expected<int64_t> n = kvBlocksFromMemory({d}, 1.0);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 60 * 512);
}

TEST(KVSizing, RanksWithoutAttentionLayersDoNotLimit) {
  DeviceMemory d{"GPU 0", 10 * GiB, {{1 * GiB, 1 * GiB, llama8b(0, 8)}}};
  DeviceMemory e{"GPU 1", 10 * GiB, {{1 * GiB, 1 * GiB, llama8b()}}};
  Expected<int64_t> n = kvBlocksFromMemory({d, e}, 1.0);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 8 * 512);
  EXPECT_FALSE(kvBlocksFromMemory({d}, 1.0));
}

TEST(KVSizing, RefusalsNameTheFigures) {
  DeviceMemory d{"GPU 3", 80 * GiB, {{70 * GiB, 4 * GiB, llama8b()}}};
  Expected<int64_t> n = kvBlocksFromMemory({d}, 0.9);
  ASSERT_FALSE(n);
  const std::string &m = n.status().message();
  EXPECT_NE(m.find("GPU 3: 0.90 x 80.00 GiB = 72.00 GiB leaves nothing"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("weights 70.00 GiB"), std::string::npos) << m;
  EXPECT_NE(m.find("raise --gpu-memory-utilization"), std::string::npos) << m;

  for (double u : {0.0, -0.5, 1.01}) {
    Expected<int64_t> bad = kvBlocksFromMemory({d}, u);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.status().message().find("must be in (0, 1]"),
              std::string::npos);
  }
}

TEST(KVSizing, CapacityForOneFullSequence) {
  EXPECT_TRUE(checkKVCapacity(512, 16, 8192));
  Status s = checkKVCapacity(511, 16, 8192);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("8176 tokens per replica"), std::string::npos);
  EXPECT_NE(s.message().find("lower --max-model-len"), std::string::npos);
}
