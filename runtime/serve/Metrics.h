//===- Metrics.h - serving metrics in the Prometheus text format -*- C++ -*-===//
//
// Names follow vLLM's (`vllm:` becomes `llmc:`), so dashboards built for it
// read these: running/waiting requests, KV cache usage, prompt and
// generation token counters, preemptions, prefix cache queries and hits,
// finished requests by reason, and TTFT / TPOT / inter-token latency /
// end-to-end latency / queue time histograms.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_METRICS_H
#define LLMC_RUNTIME_SERVE_METRICS_H

#include "runtime/serve/Scheduler.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::serve {

/// A Prometheus histogram: cumulative buckets by upper bound, sum, count.
class Histogram {
public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double> &bounds() const { return bounds_; }
  /// Observations <= bounds()[i] (cumulative); the last entry is +Inf.
  std::vector<uint64_t> cumulative() const;
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_; ///< per bucket, last: above every bound
  double sum_ = 0;
  uint64_t count_ = 0;
};

/// What the engine measures itself (the scheduler's counters come from
/// SchedulerStats).
struct EngineMetrics {
  EngineMetrics();
  Histogram ttft;     ///< arrival -> first token, seconds
  Histogram tpot;     ///< per request: (last - first token) / (n - 1)
  Histogram itl;      ///< every gap between two tokens of a request
  Histogram e2e;      ///< arrival -> finish
  Histogram queue;    ///< arrival -> first scheduled
  /// Finished requests by FinishReason (index = the enum's value).
  uint64_t finished[5] = {0, 0, 0, 0, 0};
  uint64_t rejected = 0;   ///< submissions refused (queue full, draining)
  double stepSeconds = 0;  ///< time inside ModelStep::step
};

/// The /metrics page. `model` labels every series.
std::string renderPrometheus(const std::string &model,
                             const SchedulerStats &scheduler,
                             const EngineMetrics &engine);

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_METRICS_H
