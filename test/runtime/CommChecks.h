//===- CommChecks.h - collective checks for CPU and GPU tests ---*- C++ -*-===//
//
// One set of checks for the in-process communicator, run with host memory
// (InProcessCommTest.cpp, no GPU) and with device memory on one GPU
// (CommDeviceTest.cpp): 4 ranks as threads on a 2x2 grid, every collective
// over the world and over both axes, with expected values computed on the
// host in the communicator's documented order.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_RUNTIME_COMMCHECKS_H
#define LLMC_TEST_RUNTIME_COMMCHECKS_H

#include "runtime/comm/InProcessCommunicator.h"
#include "runtime/weights/DType.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace llmc::rt::testing {

/// How a check gets memory and streams.
struct Memory {
  std::function<void *(size_t)> alloc;
  std::function<void(void *)> free;
  std::function<void(void *, const void *, size_t)> toDevice;
  std::function<void(void *, const void *, size_t)> toHost;
  std::function<Stream()> makeStream;
  std::function<void(Stream)> destroyStream;
  /// Called on each rank thread before anything else (cudaSetDevice).
  std::function<void()> onThread = [] {};
};

/// A value every rank can compute for (rank, element).
inline float valueOf(int rank, size_t i) {
  return float(int((rank * 131 + int(i) * 7) % 97) - 48) * 0.37f;
}

/// Runs `body(rank)` on 4 threads and joins them.
inline void onRanks(int n, const std::function<void(int)> &body) {
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back(body, r);
  for (std::thread &t : threads)
    t.join();
}

/// Every collective on a 2x2 grid: world {0,1,2,3}, "tp" rows {0,1},{2,3},
/// "pp" columns {0,2},{1,3}.
inline void checkCollectives(std::shared_ptr<DeviceOps> ops,
                             const Memory &mem) {
  constexpr int kRanks = 4;
  constexpr size_t kCount = 1000;
  InProcessWorld world(kRanks, ops, 20.0);
  onRanks(kRanks, [&](int rank) {
    mem.onThread();
    Stream stream = mem.makeStream();
    auto w = world.communicator(rank, {0, 1, 2, 3}, "world");
    ASSERT_TRUE(w.ok()) << w.status().message();
    std::vector<int> row = {rank / 2 * 2, rank / 2 * 2 + 1};
    std::vector<int> col = {rank % 2, rank % 2 + 2};
    auto tp = world.communicator(rank, row, "tp");
    auto pp = world.communicator(rank, col, "pp");
    ASSERT_TRUE(tp.ok() && pp.ok());
    Communicator &c = **w;
    auto sync = [&] {
      Status s = c.synchronize(stream, 20);
      ASSERT_TRUE(s.isOk()) << s.message();
    };

    // allReduce, fp32 in place over the world and bf16 out of place over tp.
    std::vector<float> f(kCount);
    for (size_t i = 0; i < kCount; ++i)
      f[i] = valueOf(rank, i);
    void *fd = mem.alloc(kCount * 4);
    mem.toDevice(fd, f.data(), kCount * 4);
    Status s = c.allReduceSum(fd, fd, kCount, DataType::F32, stream);
    ASSERT_TRUE(s.isOk()) << s.message();
    sync();
    mem.toHost(f.data(), fd, kCount * 4);
    for (size_t i = 0; i < kCount; ++i) {
      float want = valueOf(0, i);
      for (int r = 1; r < kRanks; ++r)
        want += valueOf(r, i);
      ASSERT_EQ(f[i], want) << "rank " << rank << " element " << i;
    }
    std::vector<uint16_t> b(kCount), got(kCount);
    for (size_t i = 0; i < kCount; ++i)
      b[i] = floatToBf16(valueOf(rank, i));
    void *bs = mem.alloc(kCount * 2), *br = mem.alloc(kCount * 2);
    mem.toDevice(bs, b.data(), kCount * 2);
    s = (*tp)->allReduceSum(bs, br, kCount, DataType::BF16, stream);
    ASSERT_TRUE(s.isOk()) << s.message();
    sync();
    mem.toHost(got.data(), br, kCount * 2);
    for (size_t i = 0; i < kCount; ++i) {
      float want = bf16ToFloat(floatToBf16(valueOf(row[0], i))) +
                   bf16ToFloat(floatToBf16(valueOf(row[1], i)));
      ASSERT_EQ(got[i], floatToBf16(want)) << "rank " << rank << " i " << i;
    }

    // allGather of int64 over pp, in place (send inside recv).
    std::vector<int64_t> g(2 * kCount);
    void *gd = mem.alloc(2 * kCount * 8);
    int me = rank / 2;
    for (size_t i = 0; i < kCount; ++i)
      g[size_t(me) * kCount + i] = int64_t(rank) * 100000 + int64_t(i);
    mem.toDevice(static_cast<char *>(gd) + size_t(me) * kCount * 8,
                 g.data() + size_t(me) * kCount, kCount * 8);
    s = (*pp)->allGather(static_cast<char *>(gd) + size_t(me) * kCount * 8, gd,
                         kCount, DataType::I64, stream);
    ASSERT_TRUE(s.isOk()) << s.message();
    sync();
    mem.toHost(g.data(), gd, 2 * kCount * 8);
    for (int m = 0; m < 2; ++m)
      for (size_t i = 0; i < kCount; ++i)
        ASSERT_EQ(g[size_t(m) * kCount + i],
                  int64_t(col[size_t(m)]) * 100000 + int64_t(i));

    // broadcast from world member 2.
    std::vector<int64_t> bc(16, rank == 2 ? 77 : -1);
    void *bcd = mem.alloc(16 * 8);
    mem.toDevice(bcd, bc.data(), 16 * 8);
    s = c.broadcast(bcd, 16, DataType::I64, 2, stream);
    ASSERT_TRUE(s.isOk()) << s.message();
    sync();
    mem.toHost(bc.data(), bcd, 16 * 8);
    for (int64_t v : bc)
      ASSERT_EQ(v, 77);

    // send/recv around the world ring; even ranks send first so the
    // rendezvous (like NCCL without a group) cannot deadlock.
    std::vector<float> out(kCount), in(kCount);
    for (size_t i = 0; i < kCount; ++i)
      out[i] = valueOf(rank + 10, i);
    void *od = mem.alloc(kCount * 4), *id = mem.alloc(kCount * 4);
    mem.toDevice(od, out.data(), kCount * 4);
    int next = (rank + 1) % kRanks, prev = (rank + kRanks - 1) % kRanks;
    auto doSend = [&] {
      Status t = c.send(od, kCount, DataType::F32, next, stream);
      ASSERT_TRUE(t.isOk()) << t.message();
    };
    auto doRecv = [&] {
      Status t = c.recv(id, kCount, DataType::F32, prev, stream);
      ASSERT_TRUE(t.isOk()) << t.message();
    };
    if (rank % 2 == 0) {
      doSend();
      doRecv();
    } else {
      doRecv();
      doSend();
    }
    sync();
    mem.toHost(in.data(), id, kCount * 4);
    for (size_t i = 0; i < kCount; ++i)
      ASSERT_EQ(in[i], valueOf(prev + 10, i));

    // allToAllV: rank i sends i + j + 1 elements to member j.
    std::vector<size_t> sc(kRanks), so(kRanks), rc(kRanks), ro(kRanks);
    size_t st = 0, rt = 0;
    for (int j = 0; j < kRanks; ++j) {
      sc[size_t(j)] = size_t(rank + j + 1);
      so[size_t(j)] = st;
      st += sc[size_t(j)];
      rc[size_t(j)] = size_t(j + rank + 1);
      ro[size_t(j)] = rt;
      rt += rc[size_t(j)];
    }
    std::vector<int32_t> a2a(st), back(rt);
    for (int j = 0; j < kRanks; ++j)
      for (size_t e = 0; e < sc[size_t(j)]; ++e)
        a2a[so[size_t(j)] + e] = rank * 1000 + j * 100 + int32_t(e);
    void *ad = mem.alloc(st * 4), *bd = mem.alloc(rt * 4);
    mem.toDevice(ad, a2a.data(), st * 4);
    s = c.allToAllV(ad, sc.data(), so.data(), bd, rc.data(), ro.data(),
                    DataType::I32, stream);
    ASSERT_TRUE(s.isOk()) << s.message();
    sync();
    mem.toHost(back.data(), bd, rt * 4);
    for (int j = 0; j < kRanks; ++j)
      for (size_t e = 0; e < rc[size_t(j)]; ++e)
        ASSERT_EQ(back[ro[size_t(j)] + e], j * 1000 + rank * 100 + int32_t(e));

    s = c.barrier(stream, 20);
    ASSERT_TRUE(s.isOk()) << s.message();
    for (void *p : {fd, bs, br, gd, bcd, od, id, ad, bd})
      mem.free(p);
    tp->reset();
    pp->reset();
    w->reset();
    mem.destroyStream(stream);
  });
  EXPECT_FALSE(world.failure().has_value());
}

} // namespace llmc::rt::testing

#endif // LLMC_TEST_RUNTIME_COMMCHECKS_H
