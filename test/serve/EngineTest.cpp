//===- EngineTest.cpp - the serving loop with the fake model --------------===//

#include "runtime/serve/Engine.h"
#include "test/serve/FakeModel.h"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <thread>

using namespace llmc::serve;
using namespace llmc::serve::test;

namespace {

EngineConfig engineConfig(const FakeModel &m, int64_t maxSeqs = 8,
                          int64_t maxQueued = 1000) {
  EngineConfig c;
  c.scheduler = schedulerConfigFor(m.facts());
  c.scheduler.maxNumSeqs = maxSeqs;
  c.scheduler.maxNumBatchedTokens = 32;
  c.maxQueuedRequests = maxQueued;
  return c;
}

/// What the callbacks of one request saw.
struct Record {
  std::mutex mu;
  std::vector<TokenEvent> tokens;
  std::vector<FinishEvent> finishes;
  std::promise<void> done;
  /// Stop (as a stop string would) after this many tokens; 0: never.
  size_t stopAfter = 0;
};

GenerationRequest request(std::vector<int32_t> prompt, int64_t maxTokens,
                          std::shared_ptr<Record> rec,
                          SamplingParams p = {0, 1, 0, 0, -1},
                          bool seeded = true) {
  GenerationRequest g;
  g.spec.prompt = std::move(prompt);
  g.spec.maxTokens = maxTokens;
  g.spec.sampling = p;
  g.spec.ignoreEos = true;
  g.seeded = seeded;
  g.onToken = [rec](const TokenEvent &ev) {
    std::lock_guard<std::mutex> lock(rec->mu);
    rec->tokens.push_back(ev);
    return rec->stopAfter == 0 || rec->tokens.size() < rec->stopAfter;
  };
  g.onFinish = [rec](const FinishEvent &ev) {
    std::lock_guard<std::mutex> lock(rec->mu);
    rec->finishes.push_back(ev);
    if (rec->finishes.size() == 1)
      rec->done.set_value();
  };
  return g;
}

bool waitFor(const std::function<bool()> &cond, double seconds = 10) {
  auto end = std::chrono::steady_clock::now() +
             std::chrono::duration<double>(seconds);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

} // namespace

TEST(Engine, ConcurrentSubmissionsMatchTheOracle) {
  FakeModelConfig mc;
  mc.numBlocks = 24;
  mc.maxModelLen = 64;
  FakeModel model(mc);
  auto engine = Engine::create(model, engineConfig(model, 4));
  ASSERT_TRUE(engine) << engine.status().message();
  const int threads = 4, perThread = 25;
  std::vector<std::thread> pool;
  std::mutex mu;
  std::vector<std::pair<GenerationRequest, std::shared_ptr<Record>>> all;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < perThread; ++i) {
        auto rec = std::make_shared<Record>();
        std::vector<int32_t> prompt;
        for (int k = 0; k < 3 + (t * 7 + i) % 20; ++k)
          prompt.push_back(1 + (t * 13 + i * 5 + k) % 60);
        SamplingParams p{i % 2 ? 0.9f : 0.0f, 1, 0, uint64_t(t * 100 + i), 1};
        GenerationRequest g = request(prompt, 1 + (i % 9), rec, p);
        GenerationRequest copy = g;
        SubmitResult r = (*engine)->submit(std::move(g));
        ASSERT_EQ(r.code, SubmitResult::Code::Ok) << r.message;
        std::lock_guard<std::mutex> lock(mu);
        all.emplace_back(std::move(copy), rec);
      }
    });
  for (std::thread &t : pool)
    t.join();
  ASSERT_TRUE((*engine)->waitIdle(30));
  for (auto &[g, rec] : all) {
    std::lock_guard<std::mutex> lock(rec->mu);
    ASSERT_EQ(rec->finishes.size(), 1u);
    EXPECT_EQ(rec->finishes[0].reason, FinishReason::Length);
    std::vector<SampledToken> want = model.reference(g.spec);
    ASSERT_EQ(rec->tokens.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(rec->tokens[i].token, want[i].token);
      EXPECT_EQ(rec->tokens[i].logprob, want[i].logprob);
      EXPECT_EQ(rec->tokens[i].index, int64_t(i));
    }
    EXPECT_EQ(rec->finishes[0].completionTokens, int64_t(want.size()));
    EXPECT_EQ(rec->finishes[0].promptTokens, int64_t(g.spec.prompt.size()));
  }
  SchedulerStats s = (*engine)->stats();
  EXPECT_EQ(s.running + s.waiting, 0);
  EXPECT_EQ(s.blocksUsed, 0);
  std::string metrics = (*engine)->metricsText();
  EXPECT_NE(metrics.find("llmc:request_success_total{model_name=\"fake\","
                         "finished_reason=\"length\"} 100"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("llmc:time_to_first_token_seconds_count{model_name="
                         "\"fake\"} 100"),
            std::string::npos);
}

TEST(Engine, CancelAndStopFromTheCallback) {
  FakeModelConfig mc;
  mc.stepSeconds = 0.002;
  FakeModel model(mc);
  auto engine = Engine::create(model, engineConfig(model));
  ASSERT_TRUE(engine);
  auto longRec = std::make_shared<Record>();
  SubmitResult r = (*engine)->submit(request({1, 2, 3}, 100, longRec));
  ASSERT_EQ(r.code, SubmitResult::Code::Ok);
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard<std::mutex> lock(longRec->mu);
    return longRec->tokens.size() >= 2;
  }));
  (*engine)->cancel(r.id);
  (*engine)->cancel(r.id); // twice: still one finish
  (*engine)->cancel(987654); // unknown: ignored
  ASSERT_EQ(longRec->done.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);

  auto stopRec = std::make_shared<Record>();
  stopRec->stopAfter = 3;
  ASSERT_EQ((*engine)->submit(request({4, 5}, 50, stopRec)).code,
            SubmitResult::Code::Ok);
  ASSERT_TRUE((*engine)->waitIdle(10));
  {
    std::lock_guard<std::mutex> lock(longRec->mu);
    ASSERT_EQ(longRec->finishes.size(), 1u);
    EXPECT_EQ(longRec->finishes[0].reason, FinishReason::Cancelled);
    EXPECT_LT(longRec->tokens.size(), 100u);
  }
  std::lock_guard<std::mutex> lock(stopRec->mu);
  ASSERT_EQ(stopRec->finishes.size(), 1u);
  EXPECT_EQ(stopRec->finishes[0].reason, FinishReason::Stop);
  EXPECT_EQ(stopRec->tokens.size(), 3u);
  EXPECT_EQ(stopRec->finishes[0].completionTokens, 3);
  EXPECT_EQ((*engine)->stats().blocksUsed, 0);
}

TEST(Engine, FullQueueDrainAndInvalidRequests) {
  FakeModelConfig mc;
  mc.stepSeconds = 0.005;
  mc.maxModelLen = 2048; // request a runs until cancelled
  mc.numBlocks = 600;
  FakeModel model(mc);
  auto engine = Engine::create(model, engineConfig(model, 1, 1));
  ASSERT_TRUE(engine);
  Engine &e = **engine;
  auto a = std::make_shared<Record>(), b = std::make_shared<Record>(),
       c = std::make_shared<Record>();
  SubmitResult first = e.submit(request({1}, 100000, a));
  ASSERT_EQ(first.code, SubmitResult::Code::Ok);
  ASSERT_TRUE(waitFor([&] { return e.stats().running == 1; }));
  ASSERT_EQ(e.submit(request({2}, 2, b)).code, SubmitResult::Code::Ok);
  SubmitResult full = e.submit(request({3}, 2, c));
  EXPECT_EQ(full.code, SubmitResult::Code::QueueFull);
  EXPECT_NE(full.message.find("--max-queued-requests"), std::string::npos);

  SubmitResult tooLong =
      e.submit(request(std::vector<int32_t>(2048, 1), 1, c));
  EXPECT_EQ(tooLong.code, SubmitResult::Code::Invalid);
  EXPECT_NE(tooLong.message.find("has 2048 tokens"), std::string::npos)
      << tooLong.message;

  e.drain();
  EXPECT_EQ(e.submit(request({3}, 2, c)).code, SubmitResult::Code::Unavailable);
  e.cancel(first.id); // b then runs to its end
  ASSERT_TRUE(e.waitIdle(10));
  EXPECT_EQ(a->finishes.size(), 1u);
  EXPECT_EQ(b->finishes.size(), 1u);
  EXPECT_TRUE(c->finishes.empty()); // refused requests get no callback
  EXPECT_NE(e.metricsText().find("llmc:request_rejected_total{model_name="
                                 "\"fake\"} 2"),
            std::string::npos);
}

TEST(Engine, AModelFailureFailsEveryRequestOnce) {
  FakeModelConfig mc;
  mc.stepSeconds = 0.002;
  FakeModel model(mc);
  auto engine = Engine::create(model, engineConfig(model));
  ASSERT_TRUE(engine);
  Engine &e = **engine;
  auto a = std::make_shared<Record>(), b = std::make_shared<Record>();
  ASSERT_EQ(e.submit(request({1, 2}, 50, a)).code, SubmitResult::Code::Ok);
  ASSERT_EQ(e.submit(request({3, 4}, 50, b)).code, SubmitResult::Code::Ok);
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard<std::mutex> lock(a->mu);
    return !a->tokens.empty();
  }));
  model.failNextStep = true; // read by the engine thread at its next step
  ASSERT_TRUE(e.waitIdle(10));
  for (auto &rec : {a, b}) {
    ASSERT_EQ(rec->finishes.size(), 1u);
    EXPECT_EQ(rec->finishes[0].reason, FinishReason::Error);
    EXPECT_NE(rec->finishes[0].error.find("told to fail"), std::string::npos);
  }
  EXPECT_FALSE(e.healthy());
  EXPECT_EQ(e.submit(request({1}, 1, a)).code, SubmitResult::Code::Unavailable);
}

TEST(Engine, StopCancelsWhatIsLeftAndSeedsDiffer) {
  FakeModelConfig mc;
  mc.stepSeconds = 0.001;
  FakeModel model(mc);
  auto engine = Engine::create(model, engineConfig(model));
  ASSERT_TRUE(engine);
  // Unseeded sampled requests draw different seeds; seeded ones repeat.
  SamplingParams hot{1.0f, 1, 0, 5, -1};
  std::vector<std::shared_ptr<Record>> recs;
  for (int i = 0; i < 4; ++i) {
    recs.push_back(std::make_shared<Record>());
    ASSERT_EQ((*engine)
                  ->submit(request({7, 8, 9}, 12, recs.back(), hot, i >= 2))
                  .code,
              SubmitResult::Code::Ok);
  }
  ASSERT_TRUE((*engine)->waitIdle(10));
  auto tokens = [](const std::shared_ptr<Record> &r) {
    std::vector<int32_t> t;
    for (const TokenEvent &e : r->tokens)
      t.push_back(e.token);
    return t;
  };
  EXPECT_NE(tokens(recs[0]), tokens(recs[1]));
  EXPECT_EQ(tokens(recs[2]), tokens(recs[3]));

  auto left = std::make_shared<Record>();
  ASSERT_EQ((*engine)->submit(request({1}, 120, left)).code,
            SubmitResult::Code::Ok);
  (*engine)->stop();
  ASSERT_EQ(left->finishes.size(), 1u);
  EXPECT_EQ(left->finishes[0].reason, FinishReason::Cancelled);
  (*engine)->stop(); // idempotent
}

TEST(Engine, RefusesABadConfig) {
  FakeModel model(FakeModelConfig{});
  EngineConfig c = engineConfig(model);
  c.scheduler.maxNumBatchedTokens = 2;
  auto e = Engine::create(model, c);
  ASSERT_FALSE(e);
  EXPECT_NE(e.status().message().find("--max-num-batched-tokens"),
            std::string::npos);
  c = engineConfig(model);
  c.maxQueuedRequests = 0;
  EXPECT_FALSE(Engine::create(model, c));
}

TEST(Engine, StepTraceHasOneLinePerStepWithItsRows) {
  FakeModelConfig mc;
  mc.numBlocks = 256; // no preemption: each token is computed once
  mc.maxModelLen = 64;
  FakeModel model(mc);
  std::string path = ::testing::TempDir() + "engine-step-trace.jsonl";
  EngineConfig c = engineConfig(model, 4);
  c.stepTrace = path;
  int64_t promptTokens = 0, generated = 0;
  {
    auto engine = Engine::create(model, c);
    ASSERT_TRUE(engine) << engine.status().message();
    std::vector<std::shared_ptr<Record>> recs;
    for (int i = 0; i < 6; ++i) {
      auto rec = std::make_shared<Record>();
      std::vector<int32_t> prompt(size_t(5 + 9 * i), 7 + i);
      promptTokens += int64_t(prompt.size());
      generated += 3 + i;
      ASSERT_EQ((*engine)->submit(request(prompt, 3 + i, rec)).code,
                SubmitResult::Code::Ok);
      recs.push_back(rec);
    }
    ASSERT_TRUE((*engine)->waitIdle(30));
    ASSERT_EQ((*engine)->stats().preemptions, 0);
  } // the engine closes the trace
  std::FILE *f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char line[512];
  int64_t steps = 0, chunkTokens = 0, decode = 0, last = -1;
  while (std::fgets(line, sizeof line, f)) {
    long long step, d, ch, ct, run, wait, blocks;
    double t, host, modelMs, issue, post;
    ASSERT_EQ(std::sscanf(line,
                          "{\"step\":%lld,\"t_ms\":%lf,\"decode\":%lld,"
                          "\"chunks\":%lld,\"chunk_tokens\":%lld,"
                          "\"running\":%lld,\"waiting\":%lld,"
                          "\"blocks_used\":%lld,\"host_ms\":%lf,"
                          "\"model_ms\":%lf,\"issue_ms\":%lf,"
                          "\"post_ms\":%lf}",
                          &step, &t, &d, &ch, &ct, &run, &wait, &blocks,
                          &host, &modelMs, &issue, &post),
              12)
        << line;
    EXPECT_GT(step, last) << line;
    EXPECT_GE(host, 0.0);
    EXPECT_GE(modelMs, 0.0);
    EXPECT_LE(ct, c.scheduler.maxNumBatchedTokens);
    last = step;
    ++steps;
    chunkTokens += ct;
    decode += d;
  }
  std::fclose(f);
  EXPECT_GT(steps, 0);
  // Every prompt token went through a chunk or a one-token row, and every
  // token after a request's first was a decode row.
  EXPECT_EQ(chunkTokens + decode, promptTokens + generated - 6);
  EXPECT_GE(decode, generated - 6);
  std::remove(path.c_str());

  c.stepTrace = ::testing::TempDir() + "no-such-dir/trace.jsonl";
  auto bad = Engine::create(model, c);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("--step-trace: cannot open"),
            std::string::npos)
      << bad.status().message();
}
