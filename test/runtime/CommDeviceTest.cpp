//===- CommDeviceTest.cpp - the in-process communicator on one GPU --------===//
//
// The checks of CommChecks.h with CUDA memory, events and the fixed-order
// reduction kernel: 4 emulated ranks as threads on GPU 0, each with its own
// stream. Skipped when no GPU is visible.
//
//===----------------------------------------------------------------------===//

#include "CommChecks.h"

#include "runtime/comm/CudaDeviceOps.h"

#include <cuda_runtime.h>

using namespace llmc::rt;
using namespace llmc::rt::testing;

namespace {

bool haveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

#define CHECK_CUDA(x)                                                          \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    EXPECT_EQ(e_, cudaSuccess) << #x << ": " << cudaGetErrorString(e_);        \
  } while (false)

Memory deviceMemory() {
  Memory m;
  m.alloc = [](size_t n) {
    void *p = nullptr;
    CHECK_CUDA(cudaMalloc(&p, n ? n : 1));
    // Poison, so unwritten results cannot pass.
    CHECK_CUDA(cudaMemset(p, 0xAB, n ? n : 1));
    return p;
  };
  m.free = [](void *p) { CHECK_CUDA(cudaFree(p)); };
  m.toDevice = [](void *d, const void *s, size_t n) {
    CHECK_CUDA(cudaMemcpy(d, s, n, cudaMemcpyHostToDevice));
  };
  m.toHost = [](void *d, const void *s, size_t n) {
    CHECK_CUDA(cudaMemcpy(d, s, n, cudaMemcpyDeviceToHost));
  };
  m.makeStream = [] {
    cudaStream_t s = nullptr;
    CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return Stream(s);
  };
  m.destroyStream = [](Stream s) { CHECK_CUDA(cudaStreamDestroy(s)); };
  m.onThread = [] { CHECK_CUDA(cudaSetDevice(0)); };
  return m;
}

} // namespace

TEST(CommDevice, Collectives) {
  if (!haveGpu())
    GTEST_SKIP() << "no CUDA device";
  for (int round = 0; round < 3; ++round)
    checkCollectives(makeCudaDeviceOps(), deviceMemory());
}

TEST(CommDevice, LargeBf16AllReduceIsDeterministic) {
  if (!haveGpu())
    GTEST_SKIP() << "no CUDA device";
  // 8 ranks, 4 M elements: the result must equal the host's ordered sum
  // bit for bit, on every rank, every time.
  constexpr int kRanks = 8;
  constexpr size_t kCount = size_t(1) << 22;
  InProcessWorld world(kRanks, makeCudaDeviceOps(), 60);
  std::vector<uint16_t> want(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    float acc = 0;
    for (int r = 0; r < kRanks; ++r)
      acc += bf16ToFloat(floatToBf16(valueOf(r, i)));
    want[i] = floatToBf16(acc);
  }
  Memory mem = deviceMemory();
  onRanks(kRanks, [&](int rank) {
    mem.onThread();
    Stream stream = mem.makeStream();
    auto c = world.communicator(rank, {0, 1, 2, 3, 4, 5, 6, 7}, "tp");
    ASSERT_TRUE(c.ok());
    std::vector<uint16_t> v(kCount);
    for (size_t i = 0; i < kCount; ++i)
      v[i] = floatToBf16(valueOf(rank, i));
    void *d = mem.alloc(kCount * 2);
    for (int round = 0; round < 3; ++round) {
      mem.toDevice(d, v.data(), kCount * 2);
      Status s = (*c)->allReduceSum(d, d, kCount, DataType::BF16, stream);
      ASSERT_TRUE(s.isOk()) << s.message();
      s = (*c)->synchronize(stream, 60);
      ASSERT_TRUE(s.isOk()) << s.message();
      std::vector<uint16_t> got(kCount);
      mem.toHost(got.data(), d, kCount * 2);
      ASSERT_EQ(got, want) << "rank " << rank << " round " << round;
    }
    mem.free(d);
    c->reset();
    mem.destroyStream(stream);
  });
}
