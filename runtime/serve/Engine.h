//===- Engine.h - the serving loop around a scheduler and a model -*- C++ -*-===//
//
// One thread runs the loop: take new requests and cancellations, plan a
// step (Scheduler), run it (ModelStep), hand every sampled token to its
// request's callback, repeat while there is work. Server threads call
// submit() and cancel() at any time. Callbacks run on the engine thread
// and must be quick (they detokenize and queue text for the HTTP thread);
// a token callback returning false ends the request as FinishReason::Stop
// (a stop string, decided by the text layer) and its blocks are released
// before the next step. Every accepted request gets exactly one finish
// callback.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_ENGINE_H
#define LLMC_RUNTIME_SERVE_ENGINE_H

#include "runtime/serve/Metrics.h"
#include "runtime/serve/ModelStep.h"
#include "runtime/serve/Scheduler.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

namespace llmc::serve {

/// A generated token as a request's callback sees it.
struct TokenEvent {
  int32_t token = 0;
  float logprob = 0.0f;              ///< when sampling.logprobs >= 0
  std::vector<TokenLogprob> top;     ///< when sampling.logprobs > 0
  int64_t index = 0;                 ///< 0 for the first generated token
  /// Not None: the scheduler ends the request with this token (EOS, stop
  /// token id, max_tokens, max model length); the callback's answer is
  /// ignored.
  FinishReason finish = FinishReason::None;
};

/// How a request ended.
struct FinishEvent {
  FinishReason reason = FinishReason::None;
  int64_t promptTokens = 0;
  int64_t completionTokens = 0;
  int64_t cachedPromptTokens = 0; ///< prompt tokens found in the prefix cache
  std::string error;              ///< for FinishReason::Error
};

/// A request for the engine.
struct GenerationRequest {
  /// What to generate; `spec.id` is assigned by submit().
  SequenceSpec spec;
  /// spec.sampling.seed came from the client; otherwise the engine draws
  /// one.
  bool seeded = false;
  /// Engine thread, per token; return false to stop (FinishReason::Stop).
  std::function<bool(const TokenEvent &)> onToken;
  /// Engine thread (or the caller of stop()), exactly once.
  std::function<void(const FinishEvent &)> onFinish;
};

struct EngineConfig {
  SchedulerConfig scheduler;
  /// Requests accepted but not running, beyond which submit() answers
  /// QueueFull (HTTP 429).
  int64_t maxQueuedRequests = 512;
  /// Non-empty: one JSON line per step into this file (--step-trace): the
  /// step's rows, the model's time and the host's time around it.
  std::string stepTrace;
};

/// submit()'s answer.
struct SubmitResult {
  enum class Code {
    Ok,
    Invalid,     ///< the request breaks a rule (message names it): HTTP 400
    QueueFull,   ///< HTTP 429
    Unavailable, ///< draining, stopped, or failed: HTTP 503
  };
  Code code = Code::Ok;
  uint64_t id = 0;
  std::string message;
};

class Engine {
public:
  /// Checks `config` (validateSchedulerConfig) and starts the loop thread.
  static Expected<std::unique_ptr<Engine>> create(ModelStep &model,
                                                  EngineConfig config);
  /// stop().
  ~Engine();

  /// Thread-safe. On Ok the request is queued and will get its finish
  /// callback; otherwise no callback is ever called.
  SubmitResult submit(GenerationRequest request);
  /// Thread-safe; ends the request (FinishReason::Cancelled) and releases
  /// its blocks before the next step. Unknown or finished ids are ignored.
  void cancel(uint64_t id);

  /// Refuses new submissions from now on (Unavailable); accepted requests
  /// run to their end.
  void drain();
  /// Waits until no accepted request remains; false on timeout.
  bool waitIdle(double seconds);
  /// Cancels every request and joins the loop thread. Idempotent.
  void stop();

  /// False once a model step has failed (every request then failed too).
  bool healthy() const { return healthy_.load(); }
  bool draining() const { return draining_.load(); }
  /// Accepted requests not finished yet.
  int64_t inFlight() const { return inSystem_.load(); }
  const ModelFacts &facts() const { return model_.facts(); }
  const EngineConfig &config() const { return config_; }
  /// Scheduler counters as of the last step.
  SchedulerStats stats() const;
  /// The /metrics page.
  std::string metricsText() const;

private:
  using Clock = std::chrono::steady_clock;
  struct Active {
    GenerationRequest request;
    Clock::time_point arrival, firstToken, lastToken;
    bool scheduled = false;
    int64_t tokens = 0;
    int64_t cachedPromptTokens = 0;
  };

  Engine(ModelStep &model, EngineConfig config);
  void loop();
  void finishRequest(uint64_t id, FinishReason reason,
                     const std::string &error = "");
  void failAll(const std::string &error);
  /// Copies the scheduler's stats for stats() and /metrics; returns them.
  SchedulerStats publishStats();
  /// One --step-trace line: `st` the stats after the step, `previous` ended
  /// the last step's processing, the model ran from `start` to `modelDone`.
  void traceStep(const StepPlan &plan, const SchedulerStats &st,
                 Clock::time_point previous, Clock::time_point start,
                 Clock::time_point modelDone, double issueMs);

  ModelStep &model_;
  EngineConfig config_;
  Scheduler scheduler_;
  std::unordered_map<uint64_t, Active> active_; ///< engine thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;       ///< wakes the loop
  std::condition_variable idleCv_;   ///< waitIdle
  std::vector<std::pair<uint64_t, Active>> submitted_;
  std::vector<uint64_t> cancelled_;
  bool stopRequested_ = false;
  uint64_t nextId_ = 1;
  std::mt19937_64 seeds_;

  std::atomic<bool> healthy_{true}, draining_{false};
  std::atomic<int64_t> inSystem_{0}, running_{0};

  mutable std::mutex metricsMu_;
  SchedulerStats stats_;
  EngineMetrics metrics_;

  /// --step-trace (engine thread only once started).
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> trace_{nullptr,
                                                          &std::fclose};
  Clock::time_point epoch_ = Clock::now();

  std::thread thread_;
};

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_ENGINE_H
