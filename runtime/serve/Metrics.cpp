//===- Metrics.cpp - serving metrics in the Prometheus text format --------===//

#include "runtime/serve/Metrics.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace llmc::serve {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = size_t(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                    bounds_.begin());
  ++counts_[i];
  sum_ += value;
  ++count_;
}

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(counts_.size());
  uint64_t acc = 0;
  for (size_t i = 0; i < counts_.size(); ++i)
    out[i] = acc += counts_[i];
  return out;
}

namespace {

// Latencies from a GPU decode step (milliseconds) to a long queue wait.
const std::vector<double> kFirstTokenBounds = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
    0.75,  1.0,   2.5,  5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0};
const std::vector<double> kTokenGapBounds = {
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04,
    0.05,  0.075,  0.1,   0.15,   0.2,  0.3,   0.4,  0.5,   0.75, 1.0,
    2.5,   5.0,    10.0,  20.0,   80.0};
const std::vector<double> kRequestBounds = {
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
    40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

/// Writes one metric family at a time.
class Writer {
public:
  explicit Writer(const std::string &model)
      : label_("model_name=\"" + escape(model) + "\"") {}

  void gauge(const std::string &name, const std::string &help, double v) {
    scalar(name, help, "gauge", v);
  }
  void counter(const std::string &name, const std::string &help, double v) {
    scalar(name, help, "counter", v);
  }
  void labelledCounter(const std::string &name, const std::string &help,
                       const std::string &key,
                       const std::vector<std::pair<std::string, double>> &v) {
    head(name, help, "counter");
    for (const auto &[value, count] : v)
      out_ << name << "{" << label_ << "," << key << "=\"" << value << "\"} "
           << number(count) << "\n";
  }
  void histogram(const std::string &name, const std::string &help,
                 const Histogram &h) {
    head(name, help, "histogram");
    std::vector<uint64_t> cum = h.cumulative();
    for (size_t i = 0; i < h.bounds().size(); ++i)
      out_ << name << "_bucket{" << label_ << ",le=\"" << number(h.bounds()[i])
           << "\"} " << cum[i] << "\n";
    out_ << name << "_bucket{" << label_ << ",le=\"+Inf\"} " << cum.back()
         << "\n";
    out_ << name << "_sum{" << label_ << "} " << number(h.sum()) << "\n";
    out_ << name << "_count{" << label_ << "} " << h.count() << "\n";
  }
  std::string text() const { return out_.str(); }

private:
  static std::string escape(const std::string &s) {
    std::string o;
    for (char c : s) {
      if (c == '\\' || c == '"')
        o += '\\';
      if (c == '\n') {
        o += "\\n";
        continue;
      }
      o += c;
    }
    return o;
  }
  void scalar(const std::string &name, const std::string &help,
              const char *type, double v) {
    head(name, help, type);
    out_ << name << "{" << label_ << "} " << number(v) << "\n";
  }
  void head(const std::string &name, const std::string &help,
            const char *type) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " "
         << type << "\n";
  }
  std::string label_;
  std::ostringstream out_;
};

} // namespace

EngineMetrics::EngineMetrics()
    : ttft(kFirstTokenBounds), tpot(kTokenGapBounds), itl(kTokenGapBounds),
      e2e(kRequestBounds), queue(kRequestBounds) {}

std::string renderPrometheus(const std::string &model,
                             const SchedulerStats &s,
                             const EngineMetrics &e) {
  Writer w(model);
  w.gauge("llmc:num_requests_running",
          "Requests in the running batch (holding KV blocks).", double(s.running));
  w.gauge("llmc:num_requests_waiting",
          "Requests waiting to be scheduled (new or preempted).",
          double(s.waiting));
  w.gauge("llmc:kv_cache_usage_perc",
          "Fraction of KV blocks held by requests (1 = full).",
          s.blocksTotal ? double(s.blocksUsed) / double(s.blocksTotal) : 0.0);
  w.gauge("llmc:kv_blocks_used", "KV blocks held by requests, all replicas.",
          double(s.blocksUsed));
  w.gauge("llmc:kv_blocks_total", "KV blocks, all replicas.",
          double(s.blocksTotal));
  w.gauge("llmc:kv_blocks_cached_free",
          "Free KV blocks still holding a reusable prefix.",
          double(s.blocksCachedFree));
  w.counter("llmc:prompt_tokens_total", "Prompt tokens of accepted requests.",
            double(s.promptTokens));
  w.counter("llmc:generation_tokens_total", "Generated tokens.",
            double(s.generatedTokens));
  w.counter("llmc:num_preemptions_total",
            "Sequences preempted (to be recomputed) for lack of KV blocks.",
            double(s.preemptions));
  w.counter("llmc:prefix_cache_queries_total",
            "Prompt tokens looked up in the prefix cache.",
            double(s.prefixQueryTokens));
  w.counter("llmc:prefix_cache_hits_total",
            "Prompt tokens found in the prefix cache.",
            double(s.prefixHitTokens));
  w.counter("llmc:engine_steps_total", "Model steps run.", double(s.steps));
  w.counter("llmc:model_step_seconds_total", "Time spent in model steps.",
            e.stepSeconds);
  std::vector<std::pair<std::string, double>> reasons;
  for (FinishReason r : {FinishReason::Stop, FinishReason::Length,
                         FinishReason::Cancelled, FinishReason::Error})
    reasons.push_back({finishReasonName(r), double(e.finished[int(r)])});
  w.labelledCounter("llmc:request_success_total",
                    "Finished requests by finish reason.", "finished_reason",
                    reasons);
  w.counter("llmc:request_rejected_total",
            "Requests refused at submission (queue full, draining).",
            double(e.rejected));
  w.histogram("llmc:time_to_first_token_seconds",
              "Arrival to first generated token.", e.ttft);
  w.histogram("llmc:time_per_output_token_seconds",
              "Per request, mean gap between generated tokens.", e.tpot);
  w.histogram("llmc:inter_token_latency_seconds",
              "Gap between two consecutive tokens of a request.", e.itl);
  w.histogram("llmc:e2e_request_latency_seconds",
              "Arrival to the end of a request.", e.e2e);
  w.histogram("llmc:request_queue_time_seconds",
              "Arrival to the first step that runs the request.", e.queue);
  return w.text();
}

} // namespace llmc::serve
