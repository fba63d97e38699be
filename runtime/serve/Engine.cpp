//===- Engine.cpp - the serving loop around a scheduler and a model -------===//

#include "runtime/serve/Engine.h"

#include <cerrno>
#include <cstring>

namespace llmc::serve {

Expected<std::unique_ptr<Engine>> Engine::create(ModelStep &model,
                                                 EngineConfig config) {
  using R = Expected<std::unique_ptr<Engine>>;
  if (Status s = validateSchedulerConfig(config.scheduler); !s)
    return R::fromError(s);
  if (config.maxQueuedRequests < 1)
    return R::fromError(Status::error(
        "--max-queued-requests is " +
        std::to_string(config.maxQueuedRequests) + "; it must be at least 1"));
  std::unique_ptr<Engine> e(new Engine(model, std::move(config)));
  if (!e->config_.stepTrace.empty()) {
    e->trace_.reset(std::fopen(e->config_.stepTrace.c_str(), "w"));
    if (!e->trace_)
      return R::fromError(Status::error("--step-trace: cannot open '" +
                                        e->config_.stepTrace +
                                        "' for writing: " +
                                        std::strerror(errno)));
  }
  e->publishStats();
  e->thread_ = std::thread([p = e.get()] { p->loop(); });
  return R(std::move(e));
}

Engine::Engine(ModelStep &model, EngineConfig config)
    : model_(model), config_(std::move(config)), scheduler_(config_.scheduler),
      seeds_(std::random_device{}()) {}

Engine::~Engine() { stop(); }

SubmitResult Engine::submit(GenerationRequest request) {
  SubmitResult out;
  if (Status s = checkSequence(config_.scheduler, request.spec); !s) {
    out.code = SubmitResult::Code::Invalid;
    out.message = s.message();
    return out;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (stopRequested_ || draining_ || !healthy_) {
    out.code = SubmitResult::Code::Unavailable;
    out.message = !healthy_      ? "the model failed; the server is unhealthy"
                  : stopRequested_ ? "the server is stopping"
                                   : "the server is shutting down (draining)";
  } else if (inSystem_ - running_ >= config_.maxQueuedRequests) {
    out.code = SubmitResult::Code::QueueFull;
    out.message = "the server has " +
                  std::to_string(config_.maxQueuedRequests) +
                  " requests waiting (--max-queued-requests); retry later";
  }
  if (out.code != SubmitResult::Code::Ok) {
    std::lock_guard<std::mutex> m(metricsMu_);
    ++metrics_.rejected;
    return out;
  }
  if (!request.seeded)
    request.spec.sampling.seed = seeds_();
  out.id = nextId_++;
  request.spec.id = out.id;
  Active a;
  a.request = std::move(request);
  a.arrival = Clock::now();
  submitted_.emplace_back(out.id, std::move(a));
  ++inSystem_;
  cv_.notify_all();
  return out;
}

void Engine::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_.push_back(id);
  cv_.notify_all();
}

void Engine::drain() { draining_ = true; }

bool Engine::waitIdle(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  return idleCv_.wait_for(lock, std::chrono::duration<double>(seconds),
                          [&] { return inSystem_.load() == 0; });
}

void Engine::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopRequested_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

SchedulerStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(metricsMu_);
  return stats_;
}

std::string Engine::metricsText() const {
  std::lock_guard<std::mutex> lock(metricsMu_);
  return renderPrometheus(model_.facts().name, stats_, metrics_);
}

SchedulerStats Engine::publishStats() {
  SchedulerStats s = scheduler_.stats();
  running_ = s.running;
  std::lock_guard<std::mutex> lock(metricsMu_);
  stats_ = s;
  return s;
}

void Engine::finishRequest(uint64_t id, FinishReason reason,
                           const std::string &error) {
  auto it = active_.find(id);
  if (it == active_.end())
    return;
  Active a = std::move(it->second);
  active_.erase(it);
  Clock::time_point now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(metricsMu_);
    ++metrics_.finished[int(reason)];
    metrics_.e2e.observe(std::chrono::duration<double>(now - a.arrival).count());
    if (a.tokens >= 2)
      metrics_.tpot.observe(
          std::chrono::duration<double>(a.lastToken - a.firstToken).count() /
          double(a.tokens - 1));
  }
  FinishEvent ev;
  ev.reason = reason;
  ev.promptTokens = int64_t(a.request.spec.prompt.size());
  ev.completionTokens = a.tokens;
  ev.cachedPromptTokens = a.cachedPromptTokens;
  ev.error = error;
  if (a.request.onFinish)
    a.request.onFinish(ev);
  // The request's blocks are free now; whoever waits for it sees that.
  publishStats();
  std::lock_guard<std::mutex> lock(mu_);
  --inSystem_;
  idleCv_.notify_all();
}

void Engine::failAll(const std::string &error) {
  healthy_ = false;
  std::vector<uint64_t> ids;
  for (const auto &[id, a] : active_)
    ids.push_back(id);
  for (uint64_t id : ids) {
    scheduler_.finish(id);
    finishRequest(id, FinishReason::Error, error);
  }
  publishStats();
}

void Engine::loop() {
  // --step-trace: where the previous step's processing ended (the host's
  // time between steps: scheduling, admissions, waiting for work).
  Clock::time_point lastEnd = Clock::now();
  for (;;) {
    std::vector<std::pair<uint64_t, Active>> submitted;
    std::vector<uint64_t> cancelled;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        return stopRequested_ || !submitted_.empty() || !cancelled_.empty() ||
               !scheduler_.idle();
      });
      submitted.swap(submitted_);
      cancelled.swap(cancelled_);
      stopping = stopRequested_;
    }
    for (auto &[id, a] : submitted) {
      Status st = scheduler_.add(a.request.spec);
      active_.emplace(id, std::move(a));
      if (!st)
        finishRequest(id, FinishReason::Error, st.message());
    }
    for (uint64_t id : cancelled)
      if (active_.count(id)) {
        scheduler_.finish(id);
        finishRequest(id, FinishReason::Cancelled);
      }
    if (stopping) {
      std::vector<uint64_t> ids;
      for (const auto &[id, a] : active_)
        ids.push_back(id);
      for (uint64_t id : ids) {
        scheduler_.finish(id);
        finishRequest(id, FinishReason::Cancelled);
      }
      publishStats();
      return;
    }
    if (scheduler_.idle()) {
      publishStats();
      continue;
    }

    StepPlan plan = scheduler_.schedule();
    publishStats();
    if (plan.sequences.empty()) {
      // Validated limits guarantee progress; refuse to spin if not.
      failAll("the scheduler planned an empty step with " +
              std::to_string(active_.size()) + " requests in flight");
      continue;
    }
    Clock::time_point start = Clock::now();
    for (const SequenceStep &s : plan.sequences) {
      auto it = active_.find(s.seqId);
      if (it == active_.end() || it->second.scheduled)
        continue;
      it->second.scheduled = true;
      it->second.cachedPromptTokens = scheduler_.cachedPromptTokens(s.seqId);
      std::lock_guard<std::mutex> lock(metricsMu_);
      metrics_.queue.observe(
          std::chrono::duration<double>(start - it->second.arrival).count());
    }
    Expected<StepResult> result = model_.step(plan);
    Clock::time_point now = Clock::now();
    double issueMs = result ? result->issueMs : 0.0;
    {
      std::lock_guard<std::mutex> lock(metricsMu_);
      metrics_.stepSeconds += std::chrono::duration<double>(now - start).count();
    }
    if (!result) {
      failAll("model step " + std::to_string(plan.stepIndex) + " failed: " +
              result.status().message());
      continue;
    }
    Expected<std::vector<TokenUpdate>> updates =
        scheduler_.update(plan, *result);
    if (!updates) {
      failAll(updates.status().message());
      continue;
    }
    for (TokenUpdate &u : *updates) {
      auto it = active_.find(u.seqId);
      if (it == active_.end())
        continue;
      Active &a = it->second;
      {
        std::lock_guard<std::mutex> lock(metricsMu_);
        if (a.tokens == 0)
          metrics_.ttft.observe(
              std::chrono::duration<double>(now - a.arrival).count());
        else
          metrics_.itl.observe(
              std::chrono::duration<double>(now - a.lastToken).count());
      }
      if (a.tokens == 0)
        a.firstToken = now;
      a.lastToken = now;
      ++a.tokens;
      TokenEvent ev;
      ev.token = u.sampled.token;
      ev.logprob = u.sampled.logprob;
      ev.top = std::move(u.sampled.top);
      ev.index = u.index;
      ev.finish = u.finish;
      bool more = a.request.onToken ? a.request.onToken(ev) : true;
      if (u.finish != FinishReason::None) {
        finishRequest(u.seqId, u.finish);
      } else if (!more) {
        scheduler_.finish(u.seqId);
        finishRequest(u.seqId, FinishReason::Stop);
      }
    }
    SchedulerStats published = publishStats();
    if (trace_)
      traceStep(plan, published, lastEnd, start, now, issueMs);
    lastEnd = Clock::now();
  }
}

void Engine::traceStep(const StepPlan &plan, const SchedulerStats &st,
                       Clock::time_point previous, Clock::time_point start,
                       Clock::time_point modelDone, double issueMs) {
  int64_t decode = 0, chunks = 0, chunkTokens = 0;
  for (const SequenceStep &s : plan.sequences) {
    if (s.tokens.size() == 1) {
      ++decode;
    } else {
      ++chunks;
      chunkTokens += int64_t(s.tokens.size());
    }
  }
  auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  std::fprintf(trace_.get(),
               "{\"step\":%llu,\"t_ms\":%.3f,\"decode\":%lld,"
               "\"chunks\":%lld,\"chunk_tokens\":%lld,\"running\":%lld,"
               "\"waiting\":%lld,\"blocks_used\":%lld,\"host_ms\":%.3f,"
               "\"model_ms\":%.3f,\"issue_ms\":%.3f,\"post_ms\":%.3f}\n",
               (unsigned long long)plan.stepIndex, ms(start - epoch_),
               (long long)decode, (long long)chunks, (long long)chunkTokens,
               (long long)st.running, (long long)st.waiting,
               (long long)st.blocksUsed, ms(start - previous),
               ms(modelDone - start), issueMs, ms(Clock::now() - modelDone));
  // Whole lines for a reader following the file during the run (one
  // write per step: microseconds against a step's milliseconds).
  std::fflush(trace_.get());
}

} // namespace llmc::serve
