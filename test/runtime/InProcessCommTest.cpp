//===- InProcessCommTest.cpp - the emulation's protocol on the CPU --------===//
//
// The in-process communicator with host memory: collective results, and the
// guarantees that matter more than speed: mismatched calls, timeouts and a
// failing rank end every wait with a message naming the rank.
//
//===----------------------------------------------------------------------===//

#include "CommChecks.h"

#include <chrono>
#include <cstdlib>

using namespace llmc::rt;
using namespace llmc::rt::testing;

namespace {

Memory hostMemory() {
  Memory m;
  m.alloc = [](size_t n) { return std::malloc(n ? n : 1); };
  m.free = [](void *p) { std::free(p); };
  m.toDevice = [](void *d, const void *s, size_t n) { std::memcpy(d, s, n); };
  m.toHost = [](void *d, const void *s, size_t n) { std::memcpy(d, s, n); };
  m.makeStream = [] { return Stream(nullptr); };
  m.destroyStream = [](Stream) {};
  return m;
}

bool contains(const std::string &s, const std::string &piece) {
  return s.find(piece) != std::string::npos;
}

} // namespace

TEST(InProcessComm, Collectives) {
  checkCollectives(makeHostDeviceOps(), hostMemory());
}

TEST(InProcessComm, ManyRoundsStayInStep) {
  // Back-to-back collectives on two groups exercise the generation parity.
  InProcessWorld world(3, makeHostDeviceOps(), 20);
  onRanks(3, [&](int rank) {
    auto all = world.communicator(rank, {0, 1, 2}, "world");
    ASSERT_TRUE(all.ok());
    for (int round = 0; round < 200; ++round) {
      int64_t v = rank + round, out = 0;
      Status s = (*all)->allReduceSum(&v, &out, 1, DataType::I64, nullptr);
      ASSERT_TRUE(s.isOk()) << s.message();
      ASSERT_EQ(out, 3 + 3 * round);
    }
  });
}

TEST(InProcessComm, FailureWakesEveryone) {
  InProcessWorld world(3, makeHostDeviceOps(), 30);
  std::vector<std::string> errors(3);
  auto start = std::chrono::steady_clock::now();
  onRanks(3, [&](int rank) {
    auto c = world.communicator(rank, {0, 1, 2}, "world");
    ASSERT_TRUE(c.ok());
    if (rank == 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      world.fail(2, "rank 2: out of memory");
      return;
    }
    float v = 1;
    Status s = (*c)->allReduceSum(&v, &v, 1, DataType::F32, nullptr);
    errors[size_t(rank)] = s.message();
  });
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  EXPECT_LT(seconds, 10);
  for (int r = 0; r < 2; ++r)
    EXPECT_TRUE(contains(errors[size_t(r)], "stopped because rank 2 failed: "
                                            "rank 2: out of memory"))
        << errors[size_t(r)];
  ASSERT_TRUE(world.failure().has_value());
  EXPECT_EQ(world.failure()->first, 2);
}

TEST(InProcessComm, TimeoutNamesTheMissingRank) {
  InProcessWorld world(3, makeHostDeviceOps(), 0.3);
  std::vector<std::string> errors(3);
  onRanks(3, [&](int rank) {
    auto c = world.communicator(rank, {0, 1, 2}, "tp");
    ASSERT_TRUE(c.ok());
    if (rank == 1)
      return; // never joins
    float v = 1;
    errors[size_t(rank)] =
        (*c)->allReduceSum(&v, &v, 1, DataType::F32, nullptr).message();
  });
  // The first to time out records the failure; the other sees it.
  std::string all = errors[0] + "\n" + errors[2];
  EXPECT_TRUE(contains(all, "timed out after 0.3 s in allReduce over tp ranks "
                            "{0, 1, 2}; never arrived: member 1"))
      << all;
  EXPECT_TRUE(contains(all, "LLMC_COMM_TIMEOUT_S")) << all;
}

TEST(InProcessComm, MismatchedCallsAreReported) {
  InProcessWorld world(2, makeHostDeviceOps(), 20);
  std::vector<std::string> errors(2);
  onRanks(2, [&](int rank) {
    auto c = world.communicator(rank, {0, 1}, "tp");
    ASSERT_TRUE(c.ok());
    float v[4] = {1, 2, 3, 4};
    float out[8];
    Status s = rank == 0
                   ? (*c)->allReduceSum(v, v, 4, DataType::F32, nullptr)
                   : (*c)->allGather(v, out, 4, DataType::F32, nullptr);
    errors[size_t(rank)] = s.message();
  });
  EXPECT_TRUE(contains(errors[0], "rank 1 calls allGather while rank 0 calls "
                                  "allReduce over tp ranks {0, 1}"))
      << errors[0];
  EXPECT_TRUE(contains(errors[1], "allGather while rank 0 calls allReduce"))
      << errors[1];

  InProcessWorld barrier(2, makeHostDeviceOps(), 20);
  onRanks(2, [&](int rank) {
    auto c = barrier.communicator(rank, {0, 1}, "pp");
    ASSERT_TRUE(c.ok());
    float v = 1;
    errors[size_t(rank)] =
        rank == 0 ? (*c)->barrier(nullptr, 20).message()
                  : (*c)->allReduceSum(&v, &v, 1, DataType::F32, nullptr)
                        .message();
  });
  EXPECT_TRUE(contains(errors[0], "rank 1 calls allReduce while rank 0 calls "
                                  "barrier over pp ranks {0, 1}"))
      << errors[0];

  InProcessWorld sizes(2, makeHostDeviceOps(), 20);
  onRanks(2, [&](int rank) {
    auto c = sizes.communicator(rank, {0, 1}, "tp");
    ASSERT_TRUE(c.ok());
    float v[4] = {};
    errors[size_t(rank)] =
        (*c)->allReduceSum(v, v, size_t(2 + rank), DataType::F32, nullptr)
            .message();
  });
  EXPECT_TRUE(contains(errors[0], "(counts 3 and 2)")) << errors[0];

  InProcessWorld a2a(2, makeHostDeviceOps(), 20);
  onRanks(2, [&](int rank) {
    auto c = a2a.communicator(rank, {0, 1}, "ep");
    ASSERT_TRUE(c.ok());
    float in[4] = {}, out[4] = {};
    size_t sc[2] = {1, 1}, so[2] = {0, 1}, rc[2] = {1, size_t(1 + rank)},
           ro[2] = {0, 1};
    errors[size_t(rank)] =
        (*c)->allToAllV(in, sc, so, out, rc, ro, DataType::F32, nullptr)
            .message();
  });
  EXPECT_TRUE(contains(errors[0], "rank 1 sends 1 elements to rank 1, which "
                                  "expects 2"))
      << errors[0];
}

TEST(InProcessComm, GroupErrors) {
  InProcessWorld world(2, makeHostDeviceOps(), 1);
  auto c = world.communicator(0, {1}, "tp");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.status().message(), "rank 0 is not a member of tp"));
  c = world.communicator(0, {0, 0}, "tp");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.status().message(), "twice"));
  c = world.communicator(0, {0, 5}, "tp");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.status().message(), "names rank 5 of a world of 2"));
  c = world.communicator(0, {0, 1}, "tp");
  ASSERT_TRUE(c.ok());
  float v = 0;
  EXPECT_TRUE(contains((*c)->send(&v, 1, DataType::F32, 0, nullptr).message(),
                       "send to member 0 of a group of 2"));
}
