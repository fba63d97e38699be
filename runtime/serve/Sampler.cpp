//===- Sampler.cpp - host-side sampling with per-sequence draws -----------===//
//
// Same arithmetic as lib/reference sample() (double precision, a stable
// sort by probability, top-k then top-p then one draw), so the CPU
// reference executor can use this directly in serving; only the uniform
// differs: per sequence and per draw instead of per row of a batch.
//
//===----------------------------------------------------------------------===//

#include "runtime/serve/Sampler.h"

#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace llmc::serve {

uint64_t drawBits(uint64_t seed, uint64_t index) {
  return rt::splitmix64(rt::splitmix64(seed) + index);
}

double drawUniform(uint64_t seed, uint64_t index) {
  return double(drawBits(seed, index) >> 11) * 0x1p-53;
}

namespace {

double logitOf(const float *logits, int64_t i) {
  float l = logits[i];
  return std::isnan(l) ? -INFINITY : double(l);
}

/// Whether token a ranks before token b: higher logit, then lower id.
struct ByLogit {
  const float *logits;
  bool operator()(int64_t a, int64_t b) const {
    double la = logitOf(logits, a), lb = logitOf(logits, b);
    return la > lb || (la == lb && a < b);
  }
};

} // namespace

Expected<SampledToken> sampleLogits(const float *logits, int64_t vocab,
                                    const SamplingParams &p,
                                    uint64_t drawIndex) {
  double maxLogit = -INFINITY;
  int64_t best = -1;
  for (int64_t i = 0; i < vocab; ++i) {
    double l = logitOf(logits, i);
    if (l > maxLogit) {
      maxLogit = l;
      best = i;
    }
  }
  if (best < 0 || !std::isfinite(maxLogit))
    return Expected<SampledToken>::fromError(Status::error(
        "sampling: every one of the " + std::to_string(vocab) +
        " logits is NaN or infinite"));

  SampledToken out;
  out.token = int32_t(best);
  if (p.temperature > 0.0f) {
    double t = double(p.temperature);
    std::vector<double> probs(static_cast<size_t>(vocab), 0.0);
    for (int64_t i = 0; i < vocab; ++i)
      probs[size_t(i)] = std::exp((logitOf(logits, i) - maxLogit) / t);
    std::vector<int64_t> order(static_cast<size_t>(vocab));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return probs[size_t(a)] > probs[size_t(b)];
    });
    int64_t keep = p.topK > 0 ? std::min<int64_t>(p.topK, vocab) : vocab;
    double mass = 0.0;
    for (int64_t j = 0; j < keep; ++j)
      mass += probs[size_t(order[size_t(j)])];
    // The shortest prefix of the renormalised top-k reaching top_p (at
    // least one token).
    int64_t n = 0;
    double cumulative = 0.0;
    while (n < keep) {
      cumulative += probs[size_t(order[size_t(n)])] / mass;
      ++n;
      if (cumulative >= double(p.topP))
        break;
    }
    double kept = 0.0;
    for (int64_t j = 0; j < n; ++j)
      kept += probs[size_t(order[size_t(j)])];
    double u = drawUniform(p.seed, drawIndex) * kept;
    out.token = int32_t(order[size_t(n - 1)]);
    double acc = 0.0;
    for (int64_t j = 0; j < n; ++j) {
      acc += probs[size_t(order[size_t(j)])];
      if (u < acc) {
        out.token = int32_t(order[size_t(j)]);
        break;
      }
    }
  }

  if (p.logprobs >= 0) {
    double sum = 0.0;
    for (int64_t i = 0; i < vocab; ++i)
      sum += std::exp(logitOf(logits, i) - maxLogit);
    double lse = maxLogit + std::log(sum);
    auto logprob = [&](int64_t i) { return float(logitOf(logits, i) - lse); };
    out.logprob = logprob(out.token);
    int64_t k = std::min<int64_t>(p.logprobs, vocab);
    if (k > 0) {
      std::vector<int64_t> ids(static_cast<size_t>(vocab));
      std::iota(ids.begin(), ids.end(), 0);
      std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                        ByLogit{logits});
      for (int64_t j = 0; j < k; ++j)
        out.top.push_back({int32_t(ids[size_t(j)]), logprob(ids[size_t(j)])});
    }
  }
  return out;
}

} // namespace llmc::serve
