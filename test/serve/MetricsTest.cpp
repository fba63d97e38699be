//===- MetricsTest.cpp - the Prometheus text of the serving metrics -------===//

#include "runtime/serve/Metrics.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace llmc::serve;

TEST(Histogram, CumulativeBuckets) {
  Histogram h({0.1, 1.0});
  for (double v : {0.05, 0.1, 0.5, 3.0})
    h.observe(v);
  EXPECT_EQ(h.cumulative(), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 3.65);
}

TEST(Metrics, PrometheusTextFormat) {
  SchedulerStats s;
  s.running = 3;
  s.waiting = 2;
  s.blocksUsed = 25;
  s.blocksTotal = 100;
  s.promptTokens = 1234;
  s.generatedTokens = 567;
  s.preemptions = 4;
  EngineMetrics e;
  e.ttft.observe(0.02);
  e.finished[int(FinishReason::Length)] = 9;
  std::string text = renderPrometheus("llama \"8b\"", s, e);
  const std::string label = "{model_name=\"llama \\\"8b\\\"\"}";
  for (const std::string &line :
       {"llmc:num_requests_running" + label + " 3",
        "llmc:num_requests_waiting" + label + " 2",
        "llmc:kv_cache_usage_perc" + label + " 0.25",
        "llmc:prompt_tokens_total" + label + " 1234",
        "llmc:generation_tokens_total" + label + " 567",
        "llmc:num_preemptions_total" + label + " 4",
        std::string("llmc:request_success_total{model_name=\"llama "
                    "\\\"8b\\\"\",finished_reason=\"length\"} 9"),
        std::string("llmc:time_to_first_token_seconds_bucket{model_name="
                    "\"llama \\\"8b\\\"\",le=\"0.02\"} 1"),
        std::string("llmc:time_to_first_token_seconds_bucket{model_name="
                    "\"llama \\\"8b\\\"\",le=\"+Inf\"} 1"),
        "llmc:time_to_first_token_seconds_count" + label + " 1",
        std::string("# TYPE llmc:time_per_output_token_seconds histogram")})
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n"
                                                         << text;
  // Every sample line is "name{labels} value".
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0)
      continue;
    size_t brace = line.find('{'), close = line.rfind('}');
    ASSERT_NE(brace, std::string::npos) << line;
    ASSERT_NE(close, std::string::npos) << line;
    EXPECT_EQ(line[close + 1], ' ') << line;
  }
}
