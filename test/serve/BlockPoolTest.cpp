//===- BlockPoolTest.cpp - KV cache blocks and the prefix cache -----------===//

#include "runtime/serve/BlockPool.h"

#include <gtest/gtest.h>

#include <set>

using namespace llmc::serve;

namespace {

/// Allocates blocks for `tokens` and commits the full ones, like a
/// sequence whose prompt was computed.
std::vector<int32_t> computeAndCommit(BlockPool &pool,
                                      const std::vector<int32_t> &tokens) {
  int32_t bs = pool.blockSize();
  std::vector<int32_t> table;
  for (size_t i = 0; i < (tokens.size() + size_t(bs) - 1) / size_t(bs); ++i)
    table.push_back(pool.allocate());
  std::vector<uint64_t> h =
      blockHashes(tokens, bs, int64_t(tokens.size()) / bs);
  for (size_t i = 0; i < h.size(); ++i)
    pool.commit(table[i], i ? h[i - 1] : kRootBlockHash, h[i],
                tokens.data() + i * size_t(bs));
  return table;
}

} // namespace

TEST(BlockPool, AllocatesEveryBlockOnceThenRefuses) {
  BlockPool pool(5, 4, true);
  std::set<int32_t> got;
  for (int i = 0; i < 5; ++i) {
    int32_t b = pool.allocate();
    ASSERT_GE(b, 0);
    EXPECT_TRUE(got.insert(b).second);
    EXPECT_EQ(pool.refCount(b), 1);
  }
  EXPECT_EQ(pool.allocate(), -1);
  EXPECT_EQ(pool.numFree(), 0);
  pool.release({*got.begin()});
  EXPECT_EQ(pool.numFree(), 1);
  EXPECT_EQ(pool.allocate(), *got.begin());
  EXPECT_TRUE(pool.checkConsistency()) << pool.checkConsistency().message();
}

TEST(BlockPool, HashesChainOverThePrefix) {
  std::vector<int32_t> a = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<int32_t> b = {9, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint64_t> ha = blockHashes(a, 4, 2), hb = blockHashes(b, 4, 2);
  ASSERT_EQ(ha.size(), 2u);
  EXPECT_NE(ha[0], hb[0]);
  // Same second block, different prefix: different hash.
  EXPECT_NE(ha[1], hb[1]);
  // Only full blocks.
  EXPECT_EQ(blockHashes(a, 3, 10).size(), 2u);
}

TEST(BlockPool, SharesCommittedPrefixes) {
  BlockPool pool(8, 4, true);
  std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::vector<int32_t> first = computeAndCommit(pool, prompt);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_TRUE(pool.isCached(first[0]));
  EXPECT_TRUE(pool.isCached(first[1]));
  EXPECT_FALSE(pool.isCached(first[2])); // partial block

  std::vector<int32_t> other = {1, 2, 3, 4, 5, 6, 7, 8, 11};
  std::vector<int32_t> hits = pool.match(blockHashes(other, 4, 2), other);
  EXPECT_EQ(hits, (std::vector<int32_t>{first[0], first[1]}));
  EXPECT_EQ(pool.countFree(hits), 0);
  pool.acquire(hits);
  EXPECT_EQ(pool.refCount(first[0]), 2);

  // Diverging in the second block: only the first matches.
  std::vector<int32_t> diverge = {1, 2, 3, 4, 5, 6, 0, 8};
  EXPECT_EQ(pool.match(blockHashes(diverge, 4, 2), diverge).size(), 1u);
  // Hashes that do not belong to the tokens find nothing (the stored
  // tokens are compared, so a collision could not share a wrong block).
  EXPECT_TRUE(pool.match(blockHashes(prompt, 4, 2), diverge).size() == 1);
  EXPECT_TRUE(pool.checkConsistency()) << pool.checkConsistency().message();
}

TEST(BlockPool, FreedCachedBlocksStayFindableUntilEvicted) {
  BlockPool pool(4, 2, true);
  std::vector<int32_t> a = {1, 2, 3, 4};
  std::vector<int32_t> ta = computeAndCommit(pool, a);
  pool.release(ta);
  EXPECT_EQ(pool.numFree(), 4);
  EXPECT_EQ(pool.numCachedFree(), 2);
  std::vector<int32_t> hits = pool.match(blockHashes(a, 2, 2), a);
  ASSERT_EQ(hits, ta);
  EXPECT_EQ(pool.countFree(hits), 2);
  pool.acquire(hits);
  EXPECT_EQ(pool.numFree(), 2);
  EXPECT_EQ(pool.numCachedFree(), 0);
  pool.release(hits);

  // Uncached blocks go first; then the deepest cached block of the
  // sequence, then its prefix.
  int32_t x = pool.allocate(), y = pool.allocate();
  EXPECT_TRUE(x != ta[0] && x != ta[1] && y != ta[0] && y != ta[1]);
  EXPECT_EQ(pool.allocate(), ta[1]);
  EXPECT_FALSE(pool.isCached(ta[1]));
  EXPECT_EQ(pool.match(blockHashes(a, 2, 2), a).size(), 1u);
  EXPECT_EQ(pool.allocate(), ta[0]);
  EXPECT_TRUE(pool.match(blockHashes(a, 2, 2), a).empty());
  EXPECT_TRUE(pool.checkConsistency()) << pool.checkConsistency().message();
}

TEST(BlockPool, LeastRecentlyFreedIsEvictedFirst) {
  BlockPool pool(4, 1, true);
  std::vector<int32_t> a = {1}, b = {2};
  std::vector<int32_t> ta = computeAndCommit(pool, a);
  std::vector<int32_t> tb = computeAndCommit(pool, b);
  pool.release(ta);
  pool.release(tb);
  pool.allocate();
  pool.allocate(); // the two never-cached blocks
  EXPECT_EQ(pool.allocate(), ta[0]);
  EXPECT_EQ(pool.match(blockHashes(b, 1, 1), b), tb);
}

TEST(BlockPool, DuplicateContentStaysPrivate) {
  BlockPool pool(4, 2, true);
  std::vector<int32_t> a = {1, 2};
  std::vector<int32_t> t1 = computeAndCommit(pool, a);
  std::vector<int32_t> t2 = computeAndCommit(pool, a);
  EXPECT_TRUE(pool.isCached(t1[0]));
  EXPECT_FALSE(pool.isCached(t2[0]));
  EXPECT_EQ(pool.match(blockHashes(a, 2, 1), a), t1);
  EXPECT_TRUE(pool.checkConsistency());
}

TEST(BlockPool, WithoutPrefixCachingNothingIsShared) {
  BlockPool pool(4, 2, false);
  std::vector<int32_t> a = {1, 2, 3, 4};
  std::vector<int32_t> t = computeAndCommit(pool, a);
  EXPECT_FALSE(pool.isCached(t[0]));
  EXPECT_TRUE(pool.match(blockHashes(a, 2, 2), a).empty());
  pool.release(t);
  EXPECT_EQ(pool.numCachedFree(), 0);
  EXPECT_TRUE(pool.checkConsistency());
}
