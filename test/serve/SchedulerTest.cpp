//===- SchedulerTest.cpp - continuous batching against an unbatched oracle ===//
//
// The fake model's tokens depend on every KV entry a sequence reads through
// its block table, so these tests compare whole token streams (and their
// logprobs) with FakeModel::reference, the same request run alone without a
// cache: any block shared wrongly, overwritten, recycled while in use or
// skipped shows up as a different token or a refused read.
//
//===----------------------------------------------------------------------===//

#include "runtime/serve/Scheduler.h"
#include "test/serve/FakeModel.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace llmc::serve;
using namespace llmc::serve::test;

namespace {

SchedulerConfig configFor(const FakeModel &m, int64_t maxSeqs,
                          int64_t maxTokens, bool prefix = true,
                          int64_t decodeStepTokens = 0) {
  SchedulerConfig c = schedulerConfigFor(m.facts());
  c.maxNumSeqs = maxSeqs;
  c.maxNumBatchedTokens = maxTokens;
  c.decodeStepTokens = decodeStepTokens;
  c.prefixCaching = prefix;
  return c;
}

/// Drives a scheduler and a fake model step by step, checking the
/// scheduler's invariants around every step.
struct Harness {
  Harness(FakeModelConfig m, int64_t maxSeqs, int64_t maxTokens,
          bool prefix = true, int64_t decodeStepTokens = 0)
      : model(m), sched(configFor(model, maxSeqs, maxTokens, prefix,
                                  decodeStepTokens)) {
    model.onWrite = [this](int32_t replica, int32_t block) {
      const BlockPool &pool = sched.pool(replica);
      if (pool.refCount(block) != 1 || pool.isCached(block))
        badWrites.push_back(block);
    };
  }

  void add(const SequenceSpec &s) {
    Status st = sched.add(s);
    ASSERT_TRUE(st) << st.message();
    specs[s.id] = s;
  }
  void cancel(uint64_t id) {
    if (sched.finish(id))
      ends[id].push_back(FinishReason::Cancelled);
  }
  /// One step; false when there was nothing to run.
  bool step() {
    StepPlan plan = sched.schedule();
    Status inv = sched.checkInvariants();
    EXPECT_TRUE(inv) << inv.message();
    if (plan.sequences.empty())
      return false;
    plans.push_back(plan);
    Expected<StepResult> r = model.step(plan);
    EXPECT_TRUE(r) << r.status().message();
    if (!r)
      return false;
    Expected<std::vector<TokenUpdate>> u = sched.update(plan, *r);
    EXPECT_TRUE(u) << u.status().message();
    if (!u)
      return false;
    for (const TokenUpdate &t : *u) {
      outputs[t.seqId].push_back(t.sampled);
      EXPECT_EQ(t.index, int64_t(outputs[t.seqId].size()) - 1);
      if (t.finish != FinishReason::None)
        ends[t.seqId].push_back(t.finish);
    }
    inv = sched.checkInvariants();
    EXPECT_TRUE(inv) << inv.message();
    EXPECT_TRUE(badWrites.empty()) << "wrote into shared block "
                                   << badWrites.front();
    return true;
  }
  void runToEnd(int maxSteps = 100000) {
    for (int i = 0; i < maxSteps && !sched.idle(); ++i)
      ASSERT_TRUE(step()) << "no progress with work left";
    ASSERT_TRUE(sched.idle());
  }
  /// Every request ended exactly once; finished ones equal the oracle,
  /// cancelled ones are a prefix of it; no block is held.
  void checkOutputs() {
    for (const auto &[id, spec] : specs) {
      ASSERT_EQ(ends[id].size(), 1u) << "request " << id << " ended "
                                     << ends[id].size() << " times";
      std::vector<SampledToken> want = model.reference(spec);
      const std::vector<SampledToken> &got = outputs[id];
      if (ends[id][0] == FinishReason::Cancelled) {
        ASSERT_LE(got.size(), want.size()) << "request " << id;
        want.resize(got.size());
      }
      ASSERT_EQ(got.size(), want.size()) << "request " << id;
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << "request " << id << " token " << i;
    }
    for (int32_t r = 0; r < sched.config().replicas; ++r)
      EXPECT_EQ(sched.pool(r).numUsed(), 0) << "replica " << r;
  }

  FakeModel model;
  Scheduler sched;
  std::map<uint64_t, SequenceSpec> specs;
  std::map<uint64_t, std::vector<SampledToken>> outputs;
  std::map<uint64_t, std::vector<FinishReason>> ends;
  std::vector<StepPlan> plans;
  std::vector<int32_t> badWrites;
};

SequenceSpec spec(uint64_t id, std::vector<int32_t> prompt,
                  int64_t maxTokens, SamplingParams p = {0, 1, 0, 0, -1}) {
  SequenceSpec s;
  s.id = id;
  s.prompt = std::move(prompt);
  s.maxTokens = maxTokens;
  s.sampling = p;
  s.ignoreEos = true;
  return s;
}

std::vector<int32_t> iota(int32_t from, int32_t n) {
  std::vector<int32_t> v;
  for (int32_t i = 0; i < n; ++i)
    v.push_back(1 + (from + i) % 60);
  return v;
}

} // namespace

TEST(Scheduler, ChunkedPrefillThenDecode) {
  FakeModelConfig m;
  Harness h(m, 4, 4);
  h.add(spec(1, iota(0, 10), 3));
  ASSERT_TRUE(h.step());
  ASSERT_EQ(h.plans[0].sequences.size(), 1u);
  EXPECT_EQ(h.plans[0].sequences[0].tokens.size(), 4u);
  EXPECT_FALSE(h.plans[0].sequences[0].sample);
  ASSERT_TRUE(h.step());
  EXPECT_EQ(h.plans[1].sequences[0].startPos, 4);
  ASSERT_TRUE(h.step());
  EXPECT_EQ(h.plans[2].sequences[0].tokens.size(), 2u);
  EXPECT_TRUE(h.plans[2].sequences[0].sample);
  EXPECT_EQ(h.plans[2].sequences[0].drawIndex, 0u);
  h.runToEnd();
  // Two decode steps of one token each.
  ASSERT_EQ(h.plans.size(), 5u);
  EXPECT_EQ(h.plans[4].sequences[0].tokens.size(), 1u);
  EXPECT_EQ(h.plans[4].sequences[0].drawIndex, 2u);
  EXPECT_EQ(h.ends[1][0], FinishReason::Length);
  h.checkOutputs();
}

TEST(Scheduler, DecodesFirstThenPrefillsUnderTheBudget) {
  FakeModelConfig m;
  Harness h(m, 4, 6);
  h.add(spec(1, iota(0, 3), 10));
  ASSERT_TRUE(h.step()); // 1's prompt
  h.add(spec(2, iota(5, 20), 2));
  ASSERT_TRUE(h.step());
  const StepPlan &p = h.plans[1];
  ASSERT_EQ(p.sequences.size(), 2u);
  EXPECT_EQ(p.sequences[0].seqId, 1u); // decode token first
  EXPECT_EQ(p.sequences[0].tokens.size(), 1u);
  EXPECT_EQ(p.sequences[1].seqId, 2u); // then a 5-token chunk
  EXPECT_EQ(p.sequences[1].tokens.size(), 5u);
  EXPECT_EQ(p.numTokens(), 6);
  h.runToEnd();
  h.checkOutputs();
}

TEST(Scheduler, StepsWithDecodeTokensTakeTheDecodeStepBudget) {
  FakeModelConfig m;
  Harness h(m, 4, 32, true, 8);
  h.add(spec(1, iota(0, 3), 10));
  h.add(spec(2, iota(7, 3), 10));
  ASSERT_TRUE(h.step()); // both prompts: nobody decodes yet
  EXPECT_EQ(h.plans[0].numTokens(), 6);
  h.add(spec(3, iota(5, 100), 2));
  // Two decode tokens and a 6-token chunk: the decode-step budget of 8,
  // not the 32 of a step without decode tokens.
  for (int k = 1; k <= 3; ++k) {
    ASSERT_TRUE(h.step());
    const StepPlan &p = h.plans[size_t(k)];
    ASSERT_EQ(p.sequences.size(), 3u);
    EXPECT_EQ(p.sequences[2].seqId, 3u);
    EXPECT_EQ(p.sequences[2].tokens.size(), 6u);
    EXPECT_EQ(p.numTokens(), 8);
  }
  h.runToEnd();
  h.checkOutputs();
  // 1 and 2 end after 10 tokens (step 9); 3's prompt goes on alone, in
  // chunks of the full budget again.
  const StepPlan &last = h.plans.back();
  EXPECT_EQ(last.sequences.size(), 1u);
  EXPECT_EQ(last.sequences[0].seqId, 3u);
  bool fullChunk = false;
  for (const StepPlan &p : h.plans)
    fullChunk |= p.sequences.size() == 1 && p.numTokens() > 8;
  EXPECT_TRUE(fullChunk);
}

TEST(Scheduler, DecodeStepBudgetNeverStarvesDecodes) {
  FakeModelConfig m;
  Harness h(m, 6, 16, true, 2);
  for (uint64_t i = 1; i <= 5; ++i)
    h.add(spec(i, iota(int32_t(i), 2), 6));
  ASSERT_TRUE(h.step());
  h.add(spec(9, iota(3, 30), 2));
  ASSERT_TRUE(h.step());
  // Five decode tokens exceed the budget of 2: all of them run, and the
  // waiting prompt gets nothing this step.
  EXPECT_EQ(h.plans[1].numTokens(), 5);
  h.runToEnd();
  h.checkOutputs();
}

TEST(Scheduler, MaxNumSeqsBoundsTheRunningBatch) {
  FakeModelConfig m;
  Harness h(m, 2, 64);
  for (uint64_t i = 1; i <= 5; ++i)
    h.add(spec(i, iota(int32_t(i), 3), 4));
  while (h.step())
    EXPECT_LE(h.plans.back().sequences.size(), 2u);
  h.checkOutputs();
  EXPECT_EQ(h.sched.stats().steps, int64_t(h.plans.size()));
}

TEST(Scheduler, EosStopTokensAndModelLengthEndSequences) {
  FakeModelConfig m;
  m.maxModelLen = 12;
  m.numBlocks = 8;
  Harness h(m, 4, 16);
  SequenceSpec probe = spec(1, iota(0, 5), 50);
  std::vector<SampledToken> free = h.model.reference(probe);
  ASSERT_EQ(free.size(), 7u); // 5 + 7 = the max model length
  // The third token as a stop token id; the same token as EOS when EOS is
  // not ignored.
  SequenceSpec stop = probe;
  stop.id = 2;
  stop.stopTokenIds = {free[2].token};
  h.add(probe);
  h.add(stop);
  h.runToEnd();
  EXPECT_EQ(h.ends[1][0], FinishReason::Length);
  EXPECT_EQ(h.outputs[1].size(), 7u);
  EXPECT_EQ(h.ends[2][0], FinishReason::Stop);
  EXPECT_LE(h.outputs[2].size(), 3u);
  h.checkOutputs();

  FakeModelConfig e = m;
  e.eosTokenIds = {free[1].token};
  Harness he(e, 4, 16);
  SequenceSpec eos = probe;
  eos.ignoreEos = false;
  he.add(eos);
  he.runToEnd();
  EXPECT_EQ(he.ends[1][0], FinishReason::Stop);
  EXPECT_LE(he.outputs[1].size(), 2u);
  he.checkOutputs();
}

TEST(Scheduler, PrefixCacheSkipsTheSharedPrefix) {
  FakeModelConfig m;
  Harness h(m, 4, 64);
  std::vector<int32_t> system = iota(0, 13); // 3 full blocks + 1
  std::vector<int32_t> a = system, b = system;
  a.insert(a.end(), {7, 8});
  b.insert(b.end(), {9, 10, 11});
  h.add(spec(1, a, 3));
  h.runToEnd();
  h.add(spec(2, b, 3));
  ASSERT_TRUE(h.step());
  const SequenceStep &first = h.plans.back().sequences[0];
  EXPECT_EQ(first.startPos, 12); // three cached blocks
  EXPECT_EQ(first.tokens.size(), 4u);
  h.runToEnd();
  SchedulerStats s = h.sched.stats();
  EXPECT_EQ(s.prefixHitTokens, 12);
  EXPECT_EQ(s.prefixQueryTokens, 15 + 16);
  // A prompt of three cached blocks still computes its last token: the
  // third block is not taken from the cache.
  h.add(spec(3, std::vector<int32_t>(system.begin(), system.begin() + 12), 2));
  ASSERT_TRUE(h.step());
  EXPECT_EQ(h.plans.back().sequences[0].startPos, 8);
  EXPECT_EQ(h.plans.back().sequences[0].tokens.size(), 4u);
  h.runToEnd();
  h.checkOutputs();

  Harness off(m, 4, 64, /*prefix=*/false);
  off.add(spec(1, a, 3));
  off.runToEnd();
  off.add(spec(2, b, 3));
  ASSERT_TRUE(off.step());
  EXPECT_EQ(off.plans.back().sequences[0].startPos, 0);
  off.runToEnd();
  off.checkOutputs();
  EXPECT_EQ(off.sched.stats().prefixHitTokens, 0);
}

TEST(Scheduler, PreemptsTheNewestWhenBlocksRunOut) {
  FakeModelConfig m;
  m.numBlocks = 8; // 32 tokens
  m.maxModelLen = 32;
  Harness h(m, 4, 64, /*prefix=*/false);
  SamplingParams sampled{0.8f, 0.95f, 0, 1234, 2};
  h.add(spec(1, iota(0, 6), 20, sampled));
  h.add(spec(2, iota(9, 6), 20, sampled));
  h.runToEnd();
  EXPECT_GT(h.sched.stats().preemptions, 0);
  h.checkOutputs();
  // The older sequence was never preempted: its steps are consecutive.
  int64_t expectPos = 0;
  for (const StepPlan &p : h.plans)
    for (const SequenceStep &s : p.sequences)
      if (s.seqId == 1) {
        EXPECT_EQ(s.startPos, expectPos);
        expectPos = s.startPos + int64_t(s.tokens.size());
      }
}

TEST(Scheduler, CancelReleasesBlocksAtOnce) {
  FakeModelConfig m;
  Harness h(m, 4, 64);
  h.add(spec(1, iota(0, 10), 20));
  h.add(spec(2, iota(3, 10), 20));
  ASSERT_TRUE(h.step());
  int64_t used = h.sched.stats().blocksUsed;
  EXPECT_EQ(used, 6);
  h.cancel(2);
  EXPECT_EQ(h.sched.stats().blocksUsed, 3);
  EXPECT_FALSE(h.sched.finish(2));
  h.cancel(1);
  EXPECT_EQ(h.sched.stats().blocksUsed, 0);
  EXPECT_TRUE(h.sched.idle());
  // Cancelled between planning and the result: the result is dropped.
  h.add(spec(3, iota(1, 4), 5));
  StepPlan p = h.sched.schedule();
  Expected<StepResult> r = h.model.step(p);
  ASSERT_TRUE(r);
  h.cancel(3);
  Expected<std::vector<TokenUpdate>> u = h.sched.update(p, *r);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->empty());
  h.checkOutputs();
}

TEST(Scheduler, ReplicasGetTheirOwnSharesAndPools) {
  FakeModelConfig m;
  m.replicas = 2;
  Harness h(m, 4, 64);
  // One request: replica 1's share is empty, which is legal.
  h.add(spec(1, iota(0, 5), 3));
  ASSERT_TRUE(h.step());
  EXPECT_EQ(h.plans[0].replicaShare(0).size() +
                h.plans[0].replicaShare(1).size(),
            1u);
  // Three (an odd number): spread over both replicas.
  h.add(spec(2, iota(10, 5), 3));
  h.add(spec(3, iota(20, 5), 3));
  ASSERT_TRUE(h.step());
  EXPECT_EQ(h.plans[1].replicaShare(0).size(), 2u);
  EXPECT_EQ(h.plans[1].replicaShare(1).size(), 1u);
  h.runToEnd();
  h.checkOutputs();
  // A shared prefix goes where it is cached.
  h.add(spec(4, iota(10, 9), 2));
  ASSERT_TRUE(h.step());
  const SequenceStep &s = h.plans.back().sequences[0];
  EXPECT_EQ(s.startPos, 4);
  h.runToEnd();
  h.checkOutputs();
}

TEST(Scheduler, RefusesBadRequestsAndConfigs) {
  FakeModel m(FakeModelConfig{});
  SchedulerConfig c = configFor(m, 4, 8);
  Scheduler s(c);
  auto error = [&](SequenceSpec sp) {
    Status st = s.add(sp);
    return st ? std::string() : st.message();
  };
  EXPECT_NE(error(spec(1, {}, 1)).find("the prompt is empty"),
            std::string::npos);
  EXPECT_NE(error(spec(1, iota(0, 128), 1)).find("has 128 tokens"),
            std::string::npos);
  EXPECT_NE(error(spec(1, {64}, 1)).find("token id 64"), std::string::npos);
  EXPECT_NE(error(spec(1, {1}, 0)).find("max_tokens is 0"), std::string::npos);
  EXPECT_EQ(error(spec(1, {1}, 1)), "");
  EXPECT_NE(error(spec(1, {1}, 1)).find("already scheduled"),
            std::string::npos);

  auto bad = [&](auto change) {
    SchedulerConfig x = c;
    change(x);
    Status st = validateSchedulerConfig(x);
    return st ? std::string() : st.message();
  };
  EXPECT_EQ(bad([](SchedulerConfig &) {}), "");
  EXPECT_NE(bad([](SchedulerConfig &x) { x.maxNumBatchedTokens = 3; })
                .find("at least --max-num-seqs (4)"),
            std::string::npos);
  EXPECT_NE(bad([](SchedulerConfig &x) { x.numBlocks = 31; })
                .find("fewer than one sequence"),
            std::string::npos);
  EXPECT_NE(bad([](SchedulerConfig &x) { x.eosTokenIds = {99}; })
                .find("EOS token id 99"),
            std::string::npos);
}

namespace {

/// Thousands of random arrivals, cancellations and preemptions under a
/// tiny block pool, with shared prefixes, sampled and greedy requests.
void randomWorkload(int32_t replicas, bool prefix, int requests,
                    uint64_t seed, int64_t *preemptions, int64_t *hits,
                    int64_t decodeStepTokens = 0) {
  FakeModelConfig m;
  m.vocabSize = 64;
  m.blockSize = 4;
  m.numBlocks = 20;
  m.maxModelLen = 64;
  m.replicas = replicas;
  m.eosTokenIds = {0};
  Harness h(m, 6, 16, prefix, decodeStepTokens);
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int32_t>> bases;
  for (int b = 0; b < 4; ++b) {
    std::vector<int32_t> base;
    for (uint64_t n = rng() % 24; n > 0; --n)
      base.push_back(int32_t(1 + rng() % 63));
    bases.push_back(base);
  }
  uint64_t next = 1;
  int added = 0;
  while (added < requests || !h.sched.idle()) {
    for (uint64_t k = rng() % 4; k > 0 && added < requests; --k, ++added) {
      std::vector<int32_t> prompt = bases[rng() % bases.size()];
      for (uint64_t n = 1 + rng() % 12; n > 0; --n)
        prompt.push_back(int32_t(1 + rng() % 63));
      if (rng() % 20 == 0) // near the context limit
        while (prompt.size() < 60)
          prompt.push_back(int32_t(1 + rng() % 63));
      SamplingParams p;
      if (rng() % 2)
        p = {0.0f, 1.0f, 0, 0, -1};
      else
        p = {float(0.5 + double(rng() % 100) / 100), 0.9f,
             int32_t(rng() % 10), rng(), int32_t(rng() % 4) - 1};
      SequenceSpec s = spec(next++, prompt, int64_t(1 + rng() % 24), p);
      s.ignoreEos = rng() % 3 == 0;
      if (rng() % 10 == 0)
        s.stopTokenIds = {int32_t(1 + rng() % 63)};
      h.add(s);
    }
    if (rng() % 8 == 0 && next > 1)
      h.cancel(1 + rng() % (next - 1));
    if (!h.step() && !h.sched.idle())
      FAIL() << "no progress";
    if (::testing::Test::HasFailure())
      return;
  }
  h.checkOutputs();
  *preemptions = h.sched.stats().preemptions;
  *hits = h.sched.stats().prefixHitTokens;
}

} // namespace

TEST(SchedulerRandom, OneReplicaWithPrefixCache) {
  int64_t preemptions = 0, hits = 0;
  randomWorkload(1, true, 1200, 11, &preemptions, &hits);
  EXPECT_GT(preemptions, 50);
  EXPECT_GT(hits, 1000);
}

TEST(SchedulerRandom, ThreeReplicasWithPrefixCache) {
  int64_t preemptions = 0, hits = 0;
  randomWorkload(3, true, 1200, 12, &preemptions, &hits);
  EXPECT_GT(preemptions, 10);
  EXPECT_GT(hits, 1000);
}

TEST(SchedulerRandom, TwoReplicasWithADecodeStepBudget) {
  int64_t preemptions = 0, hits = 0;
  randomWorkload(2, true, 800, 14, &preemptions, &hits, 7);
  EXPECT_GT(preemptions, 10);
  EXPECT_GT(hits, 500);
}

TEST(SchedulerRandom, TwoReplicasWithoutPrefixCache) {
  int64_t preemptions = 0, hits = 0;
  randomWorkload(2, false, 800, 13, &preemptions, &hits);
  EXPECT_GT(preemptions, 10);
  EXPECT_EQ(hits, 0);
}
