//===- ForwardCallsTest.cpp - step plans as forward calls of the binary ---===//

#include "runtime/serve/ForwardCalls.h"

#include <gtest/gtest.h>

#include <random>

using namespace llmc::serve;

namespace {

SequenceStep seq(uint64_t id, int32_t replica, int64_t start,
                 std::vector<int32_t> tokens, std::vector<int32_t> blocks) {
  SequenceStep s;
  s.seqId = id;
  s.replica = replica;
  s.startPos = start;
  s.tokens = std::move(tokens);
  s.blockTable = std::move(blocks);
  s.sample = true;
  return s;
}

} // namespace

TEST(ForwardCalls, EmptyPlanHasNoCall) {
  EXPECT_TRUE(forwardCalls(StepPlan{}, 1, 8, 64).empty());
  EXPECT_TRUE(forwardCalls(StepPlan{}, 3, 8, 64).empty());
}

TEST(ForwardCalls, DecodeRowsFirstThenOneCallPerChunk) {
  StepPlan p;
  p.sequences = {seq(1, 0, 0, {5, 6, 7}, {2}), seq(2, 0, 9, {3}, {0, 4}),
                 seq(3, 0, 4, {8}, {1, 7}), seq(4, 0, 16, {1, 2}, {5, 6, 3})};
  // One replica: the two chunks (3 and 2 tokens) share a call of 3.
  std::vector<ForwardCall> calls = forwardCalls(p, 1, 8, 64);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].batch, 2);
  EXPECT_EQ(calls[0].seq, 1);
  EXPECT_EQ(calls[0].rows[0], (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(calls[1].batch, 2);
  EXPECT_EQ(calls[1].seq, 3);
  EXPECT_EQ(calls[1].rows[0], (std::vector<int32_t>{0, 3}));
  // A token limit of 5 keeps them apart (2 x 3 > 5).
  calls = forwardCalls(p, 1, 8, 5);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].rows[0], (std::vector<int32_t>{0}));
  EXPECT_EQ(calls[2].seq, 2);
  EXPECT_EQ(calls[2].rows[0], (std::vector<int32_t>{3}));

  // The decode call: ids, positions and two table rows of stride 3.
  CallInputs in;
  ASSERT_TRUE(fillCallInputs(p, calls[0], 0, 3, 8, in));
  EXPECT_EQ(in.ids, (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(in.positions, (std::vector<int64_t>{9, 4}));
  EXPECT_EQ(in.blockTables, (std::vector<int32_t>{0, 4, 0, 1, 7, 0}));
  // A chunk continuing at position 16.
  ASSERT_TRUE(fillCallInputs(p, calls[2], 0, 3, 8, in));
  EXPECT_EQ(in.ids, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(in.positions, (std::vector<int64_t>{16, 17}));
  EXPECT_EQ(in.blockTables, (std::vector<int32_t>{5, 6, 3}));
}

TEST(ForwardCalls, ReplicasShareShapesAndPadTheShortOnes) {
  StepPlan p;
  p.sequences = {seq(1, 1, 0, {5, 6, 7, 8}, {2}), seq(2, 0, 3, {3}, {1}),
                 seq(3, 1, 0, {4, 4}, {6}), seq(4, 2, 7, {9}, {0, 3}),
                 seq(5, 2, 8, {9}, {0, 3})};
  std::vector<ForwardCall> calls = forwardCalls(p, 3, 8, 64);
  // Decode: as many rows as the busiest replica (2, replica 2); then one
  // prefill call per chunk index (replica 1 has two chunks).
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].batch, 2);
  EXPECT_EQ(calls[0].rows[0], (std::vector<int32_t>{1, -1}));
  EXPECT_EQ(calls[0].rows[1], (std::vector<int32_t>{-1, -1}));
  EXPECT_EQ(calls[0].rows[2], (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(calls[1].seq, 4);
  EXPECT_EQ(calls[1].rows[0], (std::vector<int32_t>{-1}));
  EXPECT_EQ(calls[1].rows[1], (std::vector<int32_t>{0}));
  EXPECT_EQ(calls[2].seq, 2);
  EXPECT_EQ(calls[2].rows[1], (std::vector<int32_t>{2}));

  // Padding rows: id 0, position -1; a short chunk is left-padded.
  CallInputs in;
  ASSERT_TRUE(fillCallInputs(p, calls[0], 1, 2, 8, in));
  EXPECT_EQ(in.positions, (std::vector<int64_t>{-1, -1}));
  EXPECT_EQ(in.ids, (std::vector<int64_t>{0, 0}));
  ASSERT_TRUE(fillCallInputs(p, calls[0], 0, 2, 8, in));
  EXPECT_EQ(in.positions, (std::vector<int64_t>{3, -1}));
  StepPlan q = p;
  q.sequences[2].tokens = {4};
  q.sequences[0].tokens = {5, 6, 7};
  ForwardCall wide;
  wide.batch = 1;
  wide.seq = 5;
  wide.rows = {{-1}, {0}, {-1}};
  ASSERT_TRUE(fillCallInputs(q, wide, 1, 2, 8, in));
  EXPECT_EQ(in.ids, (std::vector<int64_t>{0, 0, 5, 6, 7}));
  EXPECT_EQ(in.positions, (std::vector<int64_t>{-1, -1, 0, 1, 2}));
}

TEST(ForwardCalls, RowLimitsSplitTheDecodeRows) {
  StepPlan p;
  for (uint64_t i = 0; i < 7; ++i)
    p.sequences.push_back(seq(i, 0, int64_t(i), {1}, {0}));
  std::vector<ForwardCall> calls = forwardCalls(p, 1, 3, 64);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].batch, 3);
  EXPECT_EQ(calls[2].batch, 1);
  EXPECT_EQ(calls[2].rows[0], (std::vector<int32_t>{6}));
  EXPECT_EQ(forwardCalls(p, 1, 0, 2).size(), 4u); // token limit
}

TEST(ForwardCalls, RefusesWhatDoesNotFit) {
  StepPlan p;
  p.sequences = {seq(9, 0, 0, {1, 2, 3}, {0, 1, 2})};
  std::vector<ForwardCall> calls = forwardCalls(p, 1, 8, 64);
  CallInputs in;
  Status s = fillCallInputs(p, calls[0], 0, 2, 8, in);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("block table of 3 blocks"), std::string::npos);
  s = fillCallInputs(p, calls[0], 0, 3, 2, in);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("block id 2 is not in [0, 2)"),
            std::string::npos);
  s = fillCallInputs(p, calls[0], 4, 3, 8, in);
  ASSERT_FALSE(s);
  ForwardCall narrow = calls[0];
  narrow.seq = 2;
  s = fillCallInputs(p, narrow, 0, 3, 8, in);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("3 tokens, more than the call's 2"),
            std::string::npos);
}

// Random plans: every sequence appears in exactly one call row of its
// replica, each call's tokens fit, and the inputs put each token at its
// position, the chunk ending on the row's last slot.
TEST(ForwardCalls, RandomPlansCoverEverySequenceOnce) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    int32_t replicas = 1 + int32_t(rng() % 3);
    StepPlan p;
    int n = int(rng() % 12);
    for (int i = 0; i < n; ++i) {
      int len = rng() % 2 ? 1 : 1 + int(rng() % 9);
      std::vector<int32_t> toks(static_cast<size_t>(len));
      for (int32_t &t : toks)
        t = int32_t(rng() % 50);
      int64_t start = int64_t(rng() % 20);
      int64_t blocks = (start + len + 3) / 4;
      std::vector<int32_t> table(static_cast<size_t>(blocks));
      for (int32_t &b : table)
        b = int32_t(rng() % 16);
      int32_t replica = int32_t(rng() % uint32_t(replicas));
      p.sequences.push_back(seq(uint64_t(i), replica, start, toks, table));
    }
    std::vector<ForwardCall> calls = forwardCalls(p, replicas, 4, 32);
    std::vector<int> seen(size_t(n), 0);
    for (const ForwardCall &c : calls) {
      ASSERT_EQ(c.rows.size(), size_t(replicas));
      EXPECT_LE(c.batch, 4);
      for (int32_t r = 0; r < replicas; ++r) {
        CallInputs in;
        ASSERT_TRUE(fillCallInputs(p, c, r, 8, 16, in));
        for (size_t b = 0; b < c.rows[size_t(r)].size(); ++b) {
          int32_t idx = c.rows[size_t(r)][b];
          if (idx < 0)
            continue;
          const SequenceStep &s = p.sequences[size_t(idx)];
          EXPECT_EQ(s.replica, r);
          ++seen[size_t(idx)];
          size_t last = (b + 1) * size_t(c.seq) - 1;
          EXPECT_EQ(in.ids[last], s.tokens.back());
          EXPECT_EQ(in.positions[last],
                    s.startPos + int64_t(s.tokens.size()) - 1);
        }
      }
    }
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(seen[size_t(i)], 1) << "sequence " << i;
  }
}

// One replica: chunks go longest first, several to a call while the rows,
// the tokens and the half-length rule allow.
TEST(ForwardCalls, PacksSimilarChunks) {
  StepPlan p;
  p.sequences = {seq(1, 0, 0, std::vector<int32_t>(4, 1), {0}),
                 seq(2, 0, 0, std::vector<int32_t>(16, 1), {1}),
                 seq(3, 0, 0, std::vector<int32_t>(9, 1), {2}),
                 seq(4, 0, 0, std::vector<int32_t>(12, 1), {3}),
                 seq(5, 0, 0, std::vector<int32_t>(3, 1), {4})};
  std::vector<ForwardCall> calls = forwardCalls(p, 1, 8, 40);
  // 16 and 12 (2 x 16 <= 40); 9 opens a call (3 x 16 > 40); 4 opens one
  // (2 x 4 < 9) and takes 3 (2 x 3 >= 4).
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].seq, 16);
  EXPECT_EQ(calls[0].rows[0], (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(calls[1].seq, 9);
  EXPECT_EQ(calls[1].rows[0], (std::vector<int32_t>{2}));
  EXPECT_EQ(calls[2].seq, 4);
  EXPECT_EQ(calls[2].rows[0], (std::vector<int32_t>{0, 4}));
  // At most 1 row per call: one call each.
  EXPECT_EQ(forwardCalls(p, 1, 1, 40).size(), 5u);
}

// A mixed step of one replica is one flat call: the decode rows first,
// then the chunks in plan order, every token once, each sequence's rows
// contiguous from its queryStart, with its own table row.
TEST(ForwardCalls, FlatCallHoldsTheWholeStep) {
  StepPlan p;
  p.sequences = {seq(1, 0, 0, {5, 6, 7}, {2}), seq(2, 0, 9, {3}, {0, 4}),
                 seq(3, 0, 4, {8}, {1, 7}), seq(4, 0, 16, {1, 2}, {5, 6, 3})};
  std::vector<ForwardCall> calls = flatCalls(p, 8, 64);
  ASSERT_EQ(calls.size(), 1u);
  const ForwardCall &c = calls[0];
  EXPECT_TRUE(c.flat);
  EXPECT_EQ(c.batch, 4);
  EXPECT_EQ(c.tokens, 7);
  EXPECT_EQ(c.seq, 3);
  EXPECT_EQ(c.decodeRows, 2);
  EXPECT_EQ(c.rows[0], (std::vector<int32_t>{1, 2, 0, 3}));
  CallInputs in;
  ASSERT_TRUE(fillCallInputs(p, c, 0, 3, 8, in));
  EXPECT_EQ(in.ids, (std::vector<int64_t>{3, 8, 5, 6, 7, 1, 2}));
  EXPECT_EQ(in.positions, (std::vector<int64_t>{9, 4, 0, 1, 2, 16, 17}));
  EXPECT_EQ(in.queryStart, (std::vector<int32_t>{0, 1, 2, 5, 7}));
  EXPECT_EQ(in.tokenSeq, (std::vector<int32_t>{0, 1, 2, 2, 2, 3, 3}));
  EXPECT_EQ(in.blockTables,
            (std::vector<int32_t>{0, 4, 0, 1, 7, 0, 2, 0, 0, 5, 6, 3}));
  // Another replica, or a broken call, is an error, not a crash.
  EXPECT_FALSE(fillCallInputs(p, c, 1, 3, 8, in));
  ForwardCall bad = c;
  bad.tokens = 6;
  EXPECT_FALSE(fillCallInputs(p, bad, 0, 3, 8, in));
  bad = c;
  bad.decodeRows = 3;
  EXPECT_FALSE(fillCallInputs(p, bad, 0, 3, 8, in));
  bad = c;
  bad.rows[0][1] = 9;
  EXPECT_FALSE(fillCallInputs(p, bad, 0, 3, 8, in));
  // A block id outside the pool.
  EXPECT_FALSE(fillCallInputs(p, c, 0, 3, 6, in));

  // Pure decode stays the padded decode call (graph buckets).
  StepPlan d;
  d.sequences = {p.sequences[1], p.sequences[2]};
  calls = flatCalls(d, 8, 64);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(calls[0].flat);
  EXPECT_EQ(calls[0].seq, 1);
  EXPECT_TRUE(flatCalls(StepPlan{}, 8, 64).empty());
  // Limits split the step: 5 tokens, then 2 sequences a call.
  calls = flatCalls(p, 8, 5);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].rows[0], (std::vector<int32_t>{1, 2, 0}));
  EXPECT_EQ(calls[1].rows[0], (std::vector<int32_t>{3}));
  EXPECT_EQ(calls[1].decodeRows, 0);
  calls = flatCalls(p, 2, 64);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].decodeRows, 2);
  EXPECT_EQ(calls[1].rows[0], (std::vector<int32_t>{0, 3}));
}

// Random one-replica plans: every sequence in exactly one call, limits
// kept, decode rows first, and the inputs exactly the plan's tokens and
// positions at each sequence's rows; the last row of each sequence (what
// lastToken keeps) is its last token.
TEST(ForwardCalls, RandomFlatPlansKeepThePackingInvariants) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 500; ++iter) {
    StepPlan p;
    int n = 1 + int(rng() % 16);
    for (int i = 0; i < n; ++i) {
      int len = rng() % 2 ? 1 : 1 + int(rng() % 12);
      std::vector<int32_t> toks(static_cast<size_t>(len));
      for (int32_t &t : toks)
        t = int32_t(rng() % 50);
      int64_t start = int64_t(rng() % 20);
      std::vector<int32_t> table(size_t((start + len + 3) / 4));
      for (int32_t &b : table)
        b = int32_t(rng() % 16);
      p.sequences.push_back(seq(uint64_t(i), 0, start, toks, table));
    }
    int64_t maxSeqs = 1 + int64_t(rng() % 8);
    int64_t maxTokens = 12 + int64_t(rng() % 24);
    std::vector<ForwardCall> calls = flatCalls(p, maxSeqs, maxTokens);
    std::vector<int> seen(size_t(n), 0);
    bool chunkSeen = false;
    for (const ForwardCall &c : calls) {
      CallInputs in;
      ASSERT_TRUE(fillCallInputs(p, c, 0, 8, 16, in));
      EXPECT_LE(c.batch, maxSeqs);
      if (!c.flat) {
        EXPECT_EQ(c.seq, 1);
        for (int32_t idx : c.rows[0])
          if (idx >= 0)
            ++seen[size_t(idx)];
        continue;
      }
      EXPECT_LE(c.tokens, maxTokens);
      ASSERT_EQ(in.queryStart.size(), size_t(c.batch + 1));
      EXPECT_EQ(in.queryStart.back(), c.tokens);
      for (size_t b = 0; b < c.rows[0].size(); ++b) {
        const SequenceStep &s = p.sequences[size_t(c.rows[0][b])];
        ++seen[size_t(c.rows[0][b])];
        int64_t len = in.queryStart[b + 1] - in.queryStart[b];
        EXPECT_EQ(len, int64_t(s.tokens.size()));
        EXPECT_LE(len, c.seq);
        // One-token sequences are decode rows, all before any chunk.
        if (int64_t(b) < c.decodeRows) {
          EXPECT_EQ(len, 1);
          EXPECT_FALSE(chunkSeen);
        } else {
          EXPECT_GT(len, 1);
          chunkSeen = true;
        }
        for (int64_t t = 0; t < len; ++t) {
          size_t row = size_t(in.queryStart[b] + t);
          EXPECT_EQ(in.ids[row], s.tokens[size_t(t)]);
          EXPECT_EQ(in.positions[row], s.startPos + t);
          EXPECT_EQ(in.tokenSeq[row], int32_t(b));
        }
        for (size_t i = 0; i < s.blockTable.size(); ++i)
          EXPECT_EQ(in.blockTables[b * 8 + i], s.blockTable[i]);
      }
    }
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(seen[size_t(i)], 1) << "sequence " << i;
  }
}
