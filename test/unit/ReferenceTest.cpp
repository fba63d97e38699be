//===- ReferenceTest.cpp - CPU reference executor: kernels, communicator --===//
//
// The math of the llm ops against hand-computed values and naive loops, and
// the in-process communicator across 4 threads, including a failing rank
// and a deadlock, which must end in errors rather than hangs.
//
//===----------------------------------------------------------------------===//

#include "llmc/Reference/Communicator.h"
#include "llmc/Reference/Kernels.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <future>
#include <random>
#include <thread>

using namespace llmc::ref;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// The value of `e`, failing the test with its message if it holds an error.
template <typename T> T take(llvm::Expected<T> e) {
  if (!e) {
    ADD_FAILURE() << llvm::toString(e.takeError());
    return T();
  }
  return std::move(*e);
}

/// The message of an error (empty for success).
std::string message(llvm::Error e) {
  return e ? llvm::toString(std::move(e)) : std::string();
}

Tensor randomTensor(std::vector<int64_t> shape, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(std::move(shape));
  for (float &x : t.data)
    x = dist(gen);
  return t;
}

IntTensor positionsFrom(int64_t batch, int64_t seq, int64_t start) {
  IntTensor p({batch, seq});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < seq; ++s)
      p.data[b * seq + s] = start + s;
  return p;
}

/// Runs fn(rank) on `n` threads; fails (and exits, rather than hanging the
/// suite) if they do not all finish within 20 seconds.
void runRanks(int n, const std::function<void(int)> &fn) {
  std::vector<std::future<void>> done;
  for (int r = 0; r < n; ++r)
    done.push_back(std::async(std::launch::async, fn, r));
  for (auto &f : done)
    if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "ranks did not finish: the communicator hangs";
      std::_Exit(1);
    }
}

//===----------------------------------------------------------------------===//
// RoPE
//===----------------------------------------------------------------------===//

TEST(ReferenceRope, DefaultInverseFrequencies) {
  RopeConfig c;
  c.theta = 10000.0;
  std::vector<double> inv = ropeInverseFrequencies(c, 8);
  ASSERT_EQ(inv.size(), 4u);
  EXPECT_DOUBLE_EQ(inv[0], 1.0);
  EXPECT_NEAR(inv[1], 0.1, 1e-15);
  EXPECT_NEAR(inv[2], 0.01, 1e-16);
  EXPECT_NEAR(inv[3], 0.001, 1e-17);
}

TEST(ReferenceRope, LinearScalingDividesByFactor) {
  RopeConfig c;
  c.scaling = RopeScaling::Linear;
  c.factor = 4.0;
  std::vector<double> inv = ropeInverseFrequencies(c, 8);
  EXPECT_DOUBLE_EQ(inv[0], 0.25);
  EXPECT_NEAR(inv[1], 0.025, 1e-15);
  EXPECT_NEAR(inv[3], 0.00025, 1e-17);
}

TEST(ReferenceRope, Llama3ScalingBands) {
  // theta 5e5, head_dim 8, factor 8, low 1, high 4, original 256 (the tiny
  // Llama 3.1): wavelengths 6.28 (kept), 167.1 (smoothing band: smooth =
  // (256/167.08 - 1) / 3 = 0.17740), 4442.9 and 118142.8 (divided by 8).
  RopeConfig c;
  c.theta = 500000.0;
  c.scaling = RopeScaling::Llama3;
  c.factor = 8.0;
  c.lowFreqFactor = 1.0;
  c.highFreqFactor = 4.0;
  c.originalMaxPosition = 256;
  std::vector<double> inv = ropeInverseFrequencies(c, 8);
  ASSERT_EQ(inv.size(), 4u);
  EXPECT_DOUBLE_EQ(inv[0], 1.0);
  EXPECT_NEAR(inv[1], 0.010538232746455323, 1e-15);
  EXPECT_NEAR(inv[2], 0.00017677669529663688, 1e-17);
  EXPECT_NEAR(inv[3], 6.647869871181235e-06, 1e-19);
}

TEST(ReferenceRope, RotateHalfAtPositionOne) {
  // head_dim 4, theta 1e4: inv = [1, 0.01]. Pairs are (0, 2) and (1, 3).
  Tensor x({1, 1, 4}, std::vector<float>{1, 2, 3, 4});
  RopeConfig c;
  Tensor y = take(rope(x, positionsFrom(1, 1, 1), 4, c));
  ASSERT_EQ(y.shape, x.shape);
  EXPECT_NEAR(y.data[0], -1.9841106485555495, 1e-6);
  EXPECT_NEAR(y.data[1], 1.959900667496664, 1e-6);
  EXPECT_NEAR(y.data[2], 2.4623779024123156, 1e-6);
  EXPECT_NEAR(y.data[3], 4.019799668334994, 1e-6);
  // Position 0 is the identity; a second head is rotated the same way.
  Tensor two({1, 1, 8}, std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4});
  Tensor z = take(rope(two, positionsFrom(1, 1, 1), 4, c));
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(z.data[4 + i], y.data[i]);
  Tensor id = take(rope(x, positionsFrom(1, 1, 0), 4, c));
  EXPECT_EQ(id.data, x.data);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// Attention by the definition, one (batch, query, head) at a time.
Tensor naiveAttention(const Tensor &q, const Tensor &k, const Tensor &v,
                      int64_t nh, int64_t nkv, int64_t hd, int64_t window) {
  int64_t batch = q.dim(0), seq = q.dim(1);
  Tensor out(q.shape);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < seq; ++i)
      for (int64_t h = 0; h < nh; ++h) {
        int64_t g = h / (nh / nkv);
        std::vector<double> w;
        std::vector<int64_t> keys;
        for (int64_t j = 0; j <= i; ++j) {
          if (window > 0 && j <= i - window)
            continue;
          double s = 0;
          for (int64_t d = 0; d < hd; ++d)
            s += q.data[((b * seq + i) * nh + h) * hd + d] *
                 k.data[((b * seq + j) * nkv + g) * hd + d];
          w.push_back(s / std::sqrt(double(hd)));
          keys.push_back(j);
        }
        double m = *std::max_element(w.begin(), w.end()), z = 0;
        for (double &x : w)
          z += (x = std::exp(x - m));
        for (int64_t d = 0; d < hd; ++d) {
          double acc = 0;
          for (size_t t = 0; t < keys.size(); ++t)
            acc += w[t] / z * v.data[((b * seq + keys[t]) * nkv + g) * hd + d];
          out.data[((b * seq + i) * nh + h) * hd + d] = float(acc);
        }
      }
  return out;
}

TEST(ReferenceAttention, GroupedQueryMatchesNaiveLoop) {
  int64_t batch = 2, seq = 5, nh = 4, nkv = 2, hd = 4;
  Tensor q = randomTensor({batch, seq, nh * hd}, 1);
  Tensor k = randomTensor({batch, seq, nkv * hd}, 2);
  Tensor v = randomTensor({batch, seq, nkv * hd}, 3);
  AttentionConfig c;
  c.numHeads = nh;
  c.numKvHeads = nkv;
  c.headDim = hd;
  Tensor got = take(attention(q, k, v, positionsFrom(batch, seq, 0), c,
                              nullptr));
  Tensor want = naiveAttention(q, k, v, nh, nkv, hd, 0);
  ASSERT_EQ(got.shape, want.shape);
  for (size_t i = 0; i < got.data.size(); ++i)
    EXPECT_NEAR(got.data[i], want.data[i], 1e-6) << "element " << i;
}

TEST(ReferenceAttention, CachedDecodeMatchesFullSequence) {
  // Prefill 3 tokens, then decode 2 one at a time: the same outputs as the
  // 5 tokens at once, with a sliding window of 3 to cover the mask too.
  int64_t batch = 2, seq = 5, nh = 4, nkv = 2, hd = 4;
  Tensor q = randomTensor({batch, seq, nh * hd}, 4);
  Tensor k = randomTensor({batch, seq, nkv * hd}, 5);
  Tensor v = randomTensor({batch, seq, nkv * hd}, 6);
  AttentionConfig c;
  c.numHeads = nh;
  c.numKvHeads = nkv;
  c.headDim = hd;
  c.slidingWindow = 3;
  Tensor full = naiveAttention(q, k, v, nh, nkv, hd, 3);
  KVCache cache(batch, seq);
  CacheBinding binding{&cache, 7, 0};
  auto steps = std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {3, 1}, {4, 1}};
  for (auto [start, len] : steps) {
    Tensor got =
        take(attention(sliceAlong(q, 1, start, len), sliceAlong(k, 1, start, len),
                       sliceAlong(v, 1, start, len),
                       positionsFrom(batch, len, start), c, &binding));
    Tensor want = sliceAlong(full, 1, start, len);
    for (size_t i = 0; i < got.data.size(); ++i)
      EXPECT_NEAR(got.data[i], want.data[i], 1e-6)
          << "step at " << start << ", element " << i;
  }
  EXPECT_EQ(cache.allocatedSlots(), std::vector<int64_t>{7});
  // Beyond the cache's positions: an error, not a write out of bounds.
  llvm::Expected<Tensor> beyond =
      attention(sliceAlong(q, 1, 0, 1), sliceAlong(k, 1, 0, 1),
                sliceAlong(v, 1, 0, 1), positionsFrom(batch, 1, 5), c,
                &binding);
  ASSERT_FALSE(bool(beyond));
  EXPECT_NE(message(beyond.takeError()).find("beyond the KV cache"),
            std::string::npos);
}

TEST(ReferenceAttention, SlidingWindowMask) {
  // q = 0 makes every allowed key equally likely, so the output is the mean
  // of the allowed values; value t at position t shows which were allowed.
  int64_t seq = 6;
  Tensor q({1, seq, 1}, 0.0f), k({1, seq, 1}, 1.0f), v({1, seq, 1});
  for (int64_t t = 0; t < seq; ++t)
    v.data[t] = float(t);
  AttentionConfig c;
  c.headDim = 1;
  Tensor causal = take(attention(q, k, v, positionsFrom(1, seq, 0), c,
                                 nullptr));
  c.slidingWindow = 2;
  Tensor windowed = take(attention(q, k, v, positionsFrom(1, seq, 0), c,
                                   nullptr));
  for (int64_t p = 0; p < seq; ++p) {
    EXPECT_FLOAT_EQ(causal.data[p], float(p) / 2.0f) << "position " << p;
    float want = p == 0 ? 0.0f : float(2 * p - 1) / 2.0f; // keys p-1 and p
    EXPECT_FLOAT_EQ(windowed.data[p], want) << "position " << p;
  }
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

TEST(ReferenceMoE, RouterTopKTiesAndRenormalize) {
  // x = [1, 0]; logits [0, 2, 1, 2]: experts 1 and 3 tie, the lower id comes
  // first; each has probability e^2 / (1 + e + 2 e^2).
  Tensor x({1, 1, 2}, std::vector<float>{1, 0});
  Tensor gate({4, 2}, std::vector<float>{0, 0, 2, 0, 1, 0, 2, 0});
  Routing plain = take(moeRouter(x, gate, 4, 2, false));
  EXPECT_EQ(plain.indices.data, (std::vector<int64_t>{1, 3}));
  EXPECT_NEAR(plain.weights.data[0], 0.39948630465030277, 1e-6);
  EXPECT_NEAR(plain.weights.data[1], 0.39948630465030277, 1e-6);
  Routing renorm = take(moeRouter(x, gate, 4, 2, true));
  EXPECT_EQ(renorm.indices.data, (std::vector<int64_t>{1, 3}));
  EXPECT_FLOAT_EQ(renorm.weights.data[0], 0.5f);
  EXPECT_FLOAT_EQ(renorm.weights.data[1], 0.5f);
  // top-3 takes expert 2 next.
  Routing three = take(moeRouter(x, gate, 4, 3, true));
  EXPECT_EQ(three.indices.data, (std::vector<int64_t>{1, 3, 2}));
}

TEST(ReferenceMoE, ExpertsHeldElsewhereContributeNothing) {
  Tensor x = randomTensor({1, 2, 4}, 7);
  std::vector<Tensor> w;
  for (unsigned i = 0; i < 6; ++i)
    w.push_back(randomTensor(i % 3 == 2 ? std::vector<int64_t>{4, 3}
                                        : std::vector<int64_t>{3, 4},
                             10 + i));
  ExpertWeights e0{0, &w[0], &w[1], &w[2]}, e1{1, &w[3], &w[4], &w[5]};
  Tensor rw({1, 2, 2}, std::vector<float>{0.7f, 0.3f, 0.4f, 0.6f});
  IntTensor ri({1, 2, 2}, std::vector<int64_t>{0, 1, 1, 0});
  Tensor both = take(experts(x, rw, ri, {e0, e1}));
  Tensor only0 = take(experts(x, rw, ri, {e0}));
  Tensor only1 = take(experts(x, rw, ri, {e1}));
  for (size_t i = 0; i < both.data.size(); ++i)
    EXPECT_NEAR(both.data[i], only0.data[i] + only1.data[i], 1e-6);
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

TEST(ReferenceOutput, ArgmaxLowestIndexOnTies) {
  Tensor logits({2, 1, 4}, std::vector<float>{1, 3, 3, 0, -1, -1, -1, -1});
  IntTensor ids = take(argmax(logits));
  EXPECT_EQ(ids.shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ids.data, (std::vector<int64_t>{1, 0}));
}

TEST(ReferenceOutput, SampleIsDeterministicAndRespectsTopK) {
  Tensor logits = randomTensor({3, 1, 16}, 9);
  IntTensor a = take(sample(logits, 42, 1.0, 1.0, 0));
  IntTensor b = take(sample(logits, 42, 1.0, 1.0, 0));
  EXPECT_EQ(a.data, b.data);
  // top_k = 1 is greedy whatever the seed.
  IntTensor greedy = take(argmax(logits));
  for (uint64_t seed = 0; seed < 8; ++seed)
    EXPECT_EQ(take(sample(logits, seed, 1.0, 1.0, 1)).data, greedy.data);
}

TEST(ReferenceKernels, EmbeddingRangeAndVocabParallel) {
  Tensor table({4, 2}, std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  IntTensor ids({1, 2}, std::vector<int64_t>{1, 5});
  llvm::Expected<Tensor> plain = embedding(ids, table, std::nullopt);
  ASSERT_FALSE(bool(plain));
  EXPECT_NE(message(plain.takeError()).find("token id 5 is out of range"),
            std::string::npos);
  // This rank holds rows [4, 8): id 5 is its row 1, id 1 another rank's.
  Tensor part = take(embedding(ids, table, 4));
  EXPECT_EQ(part.data, (std::vector<float>{0, 0, 2, 3}));
}

//===----------------------------------------------------------------------===//
// Communicator
//===----------------------------------------------------------------------===//

TEST(ReferenceCommunicator, AllReduceSumsInRankOrder) {
  // 1e8 + 1 - 1e8 + 1 depends on the order in fp32: rank order gives
  // ((1e8 + 1) - 1e8) + 1 = 1 (1e8 + 1 rounds to 1e8).
  InProcessCommunicator comm(4);
  std::vector<float> contributions = {1e8f, 1.0f, -1e8f, 1.0f};
  std::vector<Tensor> results(4);
  runRanks(4, [&](int r) {
    Tensor t({2}, std::vector<float>{contributions[r], float(r)});
    EXPECT_EQ(message(comm.allReduce(r, {0, 1, 2, 3}, t)), "");
    results[r] = t;
  });
  float want = ((1e8f + 1.0f) + -1e8f) + 1.0f;
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(results[r].data[0], want);
    EXPECT_EQ(results[r].data[1], 6.0f);
  }
}

TEST(ReferenceCommunicator, AllGatherAllToAllSendRecv) {
  InProcessCommunicator comm(4);
  runRanks(4, [&](int r) {
    // Two groups of two gather concurrently.
    std::vector<int> pair = r < 2 ? std::vector<int>{0, 1}
                                  : std::vector<int>{2, 3};
    auto gathered = take(comm.allGather(r, pair, IntTensor({1}, r)));
    ASSERT_EQ(gathered.size(), 2u);
    EXPECT_EQ(std::get<IntTensor>(gathered[0]).data[0], pair[0]);
    EXPECT_EQ(std::get<IntTensor>(gathered[1]).data[0], pair[1]);

    // all_to_all: rank i gives 10 i + j to rank j.
    std::vector<AnyTensor> pieces;
    for (int j = 0; j < 4; ++j)
      pieces.push_back(Tensor({1}, float(10 * r + j)));
    auto got = take(comm.allToAll(r, {0, 1, 2, 3}, std::move(pieces)));
    ASSERT_EQ(got.size(), 4u);
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(std::get<Tensor>(got[j]).data[0], float(10 * j + r));

    // A ring of sends, twice: messages arrive in order.
    for (int round = 0; round < 2; ++round)
      EXPECT_EQ(message(comm.send(r, (r + 1) % 4,
                                  Tensor({1}, float(100 * round + r)))),
                "");
    for (int round = 0; round < 2; ++round) {
      auto msg = take(comm.recv(r, (r + 3) % 4));
      EXPECT_EQ(std::get<Tensor>(msg).data[0],
                float(100 * round + (r + 3) % 4));
    }
  });
  EXPECT_FALSE(comm.firstFailure().has_value());
}

TEST(ReferenceCommunicator, FailingRankWakesTheOthers) {
  InProcessCommunicator comm(4);
  std::vector<std::string> errors(4);
  runRanks(4, [&](int r) {
    if (r == 2) {
      // Give the others time to block in the collective first.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      comm.fail(2, "embedding: token id 300 is out of range [0, 256)");
      comm.finish(2);
      return;
    }
    Tensor t({1}, 1.0f);
    errors[r] = message(comm.allReduce(r, {0, 1, 2, 3}, t));
  });
  for (int r : {0, 1, 3}) {
    EXPECT_NE(errors[r].find("rank 2 failed"), std::string::npos) << errors[r];
    EXPECT_NE(errors[r].find("token id 300"), std::string::npos) << errors[r];
  }
  ASSERT_TRUE(comm.firstFailure().has_value());
  EXPECT_EQ(comm.firstFailure()->first, 2);
}

TEST(ReferenceCommunicator, MissingPeerIsADeadlockNotAHang) {
  // Rank 3 finishes without joining the all-reduce and rank 1 waits for a
  // message nobody sends.
  InProcessCommunicator comm(4);
  std::vector<std::string> errors(4);
  runRanks(4, [&](int r) {
    if (r == 3) {
      comm.finish(3);
      return;
    }
    if (r == 1) {
      llvm::Expected<AnyTensor> m = comm.recv(1, 0);
      errors[r] = m ? "" : message(m.takeError());
    } else {
      Tensor t({1}, 1.0f);
      errors[r] = message(comm.allReduce(r, {0, 2, 3}, t));
    }
    comm.finish(r);
  });
  for (int r : {0, 1, 2})
    EXPECT_NE(errors[r].find("deadlock"), std::string::npos)
        << "rank " << r << ": " << errors[r];
}

TEST(ReferenceCommunicator, MismatchedCollectivesAreReported) {
  InProcessCommunicator comm(2);
  std::vector<std::string> errors(2);
  runRanks(2, [&](int r) {
    if (r == 0) {
      Tensor t({1}, 1.0f);
      errors[r] = message(comm.allReduce(0, {0, 1}, t));
    } else {
      llvm::Expected<std::vector<AnyTensor>> g =
          comm.allGather(1, {0, 1}, Tensor({1}, 1.0f));
      errors[r] = g ? "" : message(g.takeError());
    }
  });
  EXPECT_TRUE(errors[0].find("all_gather") != std::string::npos ||
              errors[1].find("all_reduce") != std::string::npos)
      << errors[0] << " | " << errors[1];
  EXPECT_FALSE(errors[0].empty());
  EXPECT_FALSE(errors[1].empty());
}

} // namespace
