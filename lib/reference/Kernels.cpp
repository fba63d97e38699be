//===- Kernels.cpp - fp32 math of the llm ops, Hugging Face semantics -----===//
//
// Plain loops, written for clarity over speed: the reference runs tiny
// models. Dot products accumulate in double and round once, so the
// reference stays within an ulp or two of a sharded run that sums partial
// products in a different order.
//
//===----------------------------------------------------------------------===//

#include "llmc/Reference/Kernels.h"

#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

std::string str(llvm::ArrayRef<int64_t> shape) { return shapeString(shape); }

Error requireRank(llvm::StringRef op, llvm::StringRef what,
                  llvm::ArrayRef<int64_t> shape, int64_t rank) {
  if (static_cast<int64_t>(shape.size()) == rank)
    return Error::success();
  return createStringError("%s: %s must have rank %lld, got a %s tensor",
                           op.str().c_str(), what.str().c_str(),
                           (long long)rank, str(shape).c_str());
}

Error requireSameShape(llvm::StringRef op, const Tensor &a, const Tensor &b) {
  if (a.shape == b.shape)
    return Error::success();
  return createStringError("%s: operand shapes differ: %s vs %s",
                           op.str().c_str(), str(a.shape).c_str(),
                           str(b.shape).c_str());
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

double dot(const float *a, const float *b, int64_t n) {
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i)
    acc += double(a[i]) * double(b[i]);
  return acc;
}

/// y[r, o] = sum_i x[r, i] * w[o, i] for `rows` rows.
void matmulTransposed(const float *x, const float *w, float *y, int64_t rows,
                      int64_t in, int64_t out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o)
      y[r * out + o] = float(dot(x + r * in, w + o * in, in));
}

/// Checks that `w` is a [rows, cols] matrix whose column count matches the
/// input's last dim `in`.
Error checkMatrix(llvm::StringRef op, llvm::StringRef what, const Tensor &w,
                  int64_t in) {
  if (w.rank() != 2 || w.dim(1) != in)
    return createStringError(
        "%s: %s must be [out, %lld] to match the input, got %s",
        op.str().c_str(), what.str().c_str(), (long long)in,
        str(w.shape).c_str());
  return Error::success();
}

/// down(silu(gate x) * up x) for one token row; each projection's fp32
/// result is multiplied by its weight's row scale (1 for float weights).
void swigluMlpRow(const float *x, const Tensor &gate, const Tensor &up,
                  const Tensor &down, std::vector<float> &hidden, float *out,
                  RowScales gateScale = {}, RowScales upScale = {},
                  RowScales downScale = {}) {
  int64_t h = gate.dim(1), inter = gate.dim(0);
  hidden.resize(inter);
  for (int64_t i = 0; i < inter; ++i) {
    float g = float(dot(x, gate.data.data() + i * h, h)) * gateScale(i);
    float u = float(dot(x, up.data.data() + i * h, h)) * upScale(i);
    hidden[i] = silu(g) * u;
  }
  for (int64_t o = 0; o < down.dim(0); ++o)
    out[o] = float(dot(hidden.data(), down.data.data() + o * inter, inter)) *
             downScale(o);
}

Error checkMlp(llvm::StringRef op, const Tensor &gate, const Tensor &up,
               const Tensor &down, int64_t hidden) {
  if (Error e = checkMatrix(op, "gate weight", gate, hidden))
    return e;
  if (up.shape != gate.shape)
    return createStringError("%s: up weight %s differs from gate weight %s",
                             op.str().c_str(), str(up.shape).c_str(),
                             str(gate.shape).c_str());
  if (down.rank() != 2 || down.dim(0) != hidden || down.dim(1) != gate.dim(0))
    return createStringError("%s: down weight must be [%lld, %lld], got %s",
                             op.str().c_str(), (long long)hidden,
                             (long long)gate.dim(0), str(down.shape).c_str());
  return Error::success();
}

Error checkMlpScales(llvm::StringRef op, const Tensor &gate, const Tensor &down,
                     RowScales gateScale, RowScales upScale,
                     RowScales downScale) {
  if (Error e = checkRowScales(op, "gate weight", gateScale, gate.dim(0)))
    return e;
  if (Error e = checkRowScales(op, "up weight", upScale, gate.dim(0)))
    return e;
  return checkRowScales(op, "down weight", downScale, down.dim(0));
}

} // namespace

Error checkRowScales(llvm::StringRef op, llvm::StringRef what,
                     RowScales scales, int64_t rows) {
  if (!scales.scales || scales.scales->numElements() == 1)
    return Error::success();
  const Tensor &t = *scales.scales;
  if (t.numElements() != rows || t.innerSize() != 1)
    return createStringError("%s: the scales of the %s must be [%lld, 1] or "
                             "one element, got %s",
                             op.str().c_str(), what.str().c_str(),
                             (long long)rows, str(t.shape).c_str());
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Normalisation, projections, elementwise
//===----------------------------------------------------------------------===//

Expected<Tensor> rmsNorm(const Tensor &x, const Tensor &weight, double eps) {
  int64_t h = x.innerSize();
  if (weight.rank() != 1 || weight.dim(0) != h)
    return createStringError("rms_norm: weight must be [%lld], got %s",
                             (long long)h, str(weight.shape).c_str());
  Tensor y(x.shape);
  for (int64_t r = 0; r < x.outerSize(); ++r) {
    const float *in = x.data.data() + r * h;
    // HF: variance = mean(x^2) in fp32; x * rsqrt(variance + eps); w * x.
    float variance = float(dot(in, in, h) / double(h));
    float inv = float(1.0 / std::sqrt(double(variance) + eps));
    for (int64_t i = 0; i < h; ++i)
      y.data[r * h + i] = weight.data[i] * (in[i] * inv);
  }
  return y;
}

Expected<Tensor> linear(const Tensor &x, const Tensor &weight,
                        const Tensor *bias) {
  int64_t in = x.innerSize();
  if (x.rank() < 1)
    return createStringError("linear: input must have rank >= 1");
  if (Error e = checkMatrix("linear", "weight", weight, in))
    return std::move(e);
  int64_t out = weight.dim(0);
  if (bias && (bias->rank() != 1 || bias->dim(0) != out))
    return createStringError("linear: bias must be [%lld], got %s",
                             (long long)out, str(bias->shape).c_str());
  std::vector<int64_t> shape = x.shape;
  shape.back() = out;
  Tensor y(shape);
  matmulTransposed(x.data.data(), weight.data.data(), y.data.data(),
                   x.outerSize(), in, out);
  if (bias)
    for (int64_t r = 0; r < x.outerSize(); ++r)
      for (int64_t o = 0; o < out; ++o)
        y.data[r * out + o] += bias->data[o];
  return y;
}

Expected<Tensor> biasAdd(const Tensor &x, const Tensor &bias) {
  int64_t n = x.innerSize();
  if (bias.rank() != 1 || bias.dim(0) != n)
    return createStringError("bias_add: bias must be [%lld], got %s",
                             (long long)n, str(bias.shape).c_str());
  Tensor y = x;
  for (int64_t r = 0; r < x.outerSize(); ++r)
    for (int64_t i = 0; i < n; ++i)
      y.data[r * n + i] += bias.data[i];
  return y;
}

Expected<Tensor> swiglu(const Tensor &gate, const Tensor &up) {
  if (Error e = requireSameShape("swiglu", gate, up))
    return std::move(e);
  Tensor y(gate.shape);
  for (int64_t i = 0; i < y.numElements(); ++i)
    y.data[i] = silu(gate.data[i]) * up.data[i];
  return y;
}

Expected<Tensor> add(const Tensor &lhs, const Tensor &rhs) {
  if (Error e = requireSameShape("add", lhs, rhs))
    return std::move(e);
  Tensor y(lhs.shape);
  for (int64_t i = 0; i < y.numElements(); ++i)
    y.data[i] = lhs.data[i] + rhs.data[i];
  return y;
}

Expected<Tensor> embedding(const IntTensor &ids, const Tensor &table,
                           std::optional<int64_t> vocabStart) {
  if (table.rank() != 2)
    return createStringError("embedding: table must be [rows, hidden], got %s",
                             str(table.shape).c_str());
  int64_t rows = table.dim(0), h = table.dim(1);
  std::vector<int64_t> shape = ids.shape;
  shape.push_back(h);
  Tensor y(shape);
  int64_t start = vocabStart.value_or(0);
  for (int64_t t = 0; t < ids.numElements(); ++t) {
    int64_t id = ids.data[t];
    int64_t row = id - start;
    if (row < 0 || row >= rows) {
      if (vocabStart)
        continue; // held by another rank: a zero row
      return createStringError(
          "embedding: token id %lld is out of range [0, %lld)", (long long)id,
          (long long)rows);
    }
    std::copy_n(table.data.begin() + row * h, h, y.data.begin() + t * h);
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Rotary position embedding
//===----------------------------------------------------------------------===//

std::vector<double> ropeInverseFrequencies(const RopeConfig &config,
                                           int64_t headDim) {
  int64_t half = headDim / 2;
  std::vector<double> inv(half);
  for (int64_t i = 0; i < half; ++i)
    inv[i] = std::pow(config.theta, -double(2 * i) / double(headDim));
  switch (config.scaling) {
  case RopeScaling::None:
    break;
  case RopeScaling::Linear:
    for (double &f : inv)
      f /= config.factor;
    break;
  case RopeScaling::Llama3: {
    // transformers' _compute_llama3_parameters (Llama 3.1).
    double orig = double(config.originalMaxPosition);
    double lowWavelen = orig / config.lowFreqFactor;
    double highWavelen = orig / config.highFreqFactor;
    for (double &f : inv) {
      double wavelen = 2.0 * M_PI / f;
      if (wavelen > lowWavelen) {
        f = f / config.factor;
      } else if (wavelen < highWavelen) {
        // High frequencies are kept.
      } else {
        double smooth = (orig / wavelen - config.lowFreqFactor) /
                        (config.highFreqFactor - config.lowFreqFactor);
        f = (1.0 - smooth) * f / config.factor + smooth * f;
      }
    }
    break;
  }
  }
  return inv;
}

Expected<Tensor> rope(const Tensor &x, const IntTensor &positions,
                      int64_t headDim, const RopeConfig &config) {
  if (Error e = requireRank("rope", "input", x.shape, 3))
    return std::move(e);
  if (positions.shape != std::vector<int64_t>{x.dim(0), x.dim(1)})
    return createStringError("rope: positions must be [%lld, %lld], got %s",
                             (long long)x.dim(0), (long long)x.dim(1),
                             str(positions.shape).c_str());
  if (headDim <= 0 || headDim % 2 != 0 || x.dim(2) % headDim != 0)
    return createStringError("rope: head_dim %lld must be even and divide the "
                             "feature size %lld",
                             (long long)headDim, (long long)x.dim(2));
  std::vector<double> inv = ropeInverseFrequencies(config, headDim);
  int64_t half = headDim / 2, heads = x.dim(2) / headDim;
  Tensor y(x.shape);
  std::vector<float> cosv(half), sinv(half);
  for (int64_t t = 0; t < positions.numElements(); ++t) {
    double pos = double(positions.data[t]);
    for (int64_t i = 0; i < half; ++i) {
      double angle = pos * inv[i];
      cosv[i] = float(std::cos(angle));
      sinv[i] = float(std::sin(angle));
    }
    for (int64_t h = 0; h < heads; ++h) {
      const float *in = x.data.data() + t * x.dim(2) + h * headDim;
      float *out = y.data.data() + t * x.dim(2) + h * headDim;
      for (int64_t i = 0; i < half; ++i) {
        float a = in[i], b = in[i + half];
        out[i] = a * cosv[i] - b * sinv[i];
        out[i + half] = b * cosv[i] + a * sinv[i];
      }
    }
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

namespace {

/// Softmax-weighted sum of `values` rows with `scores` (in place: scores
/// become probabilities), into `out` of size headDim.
void softmaxCombine(std::vector<float> &scores,
                    const std::vector<const float *> &values, int64_t headDim,
                    float *out) {
  float maxScore = -INFINITY;
  for (float s : scores)
    maxScore = std::max(maxScore, s);
  float sum = 0.0f;
  for (float &s : scores) {
    s = std::exp(s - maxScore);
    sum += s;
  }
  for (int64_t d = 0; d < headDim; ++d) {
    double acc = 0.0;
    for (size_t j = 0; j < scores.size(); ++j)
      acc += double(scores[j] / sum) * double(values[j][d]);
    out[d] = float(acc);
  }
}

Error checkCacheRows(const CacheBinding &cache, int64_t batch) {
  if (cache.rowOffset < 0 || cache.rowOffset + batch > cache.cache->maxBatch())
    return createStringError("attention: batch rows [%lld, %lld) are outside "
                             "the KV cache's %lld rows",
                             (long long)cache.rowOffset,
                             (long long)(cache.rowOffset + batch),
                             (long long)cache.cache->maxBatch());
  return Error::success();
}

} // namespace

Error checkAttentionOperands(const Tensor &q, const Tensor &k, const Tensor &v,
                             const IntTensor &positions,
                             const AttentionConfig &config) {
  int64_t nh = config.numHeads, nkv = config.numKvHeads, hd = config.headDim;
  if (nh <= 0 || nkv <= 0 || hd <= 0 || nh % nkv != 0)
    return createStringError("attention: %lld heads are not a multiple of "
                             "%lld kv heads",
                             (long long)nh, (long long)nkv);
  for (const Tensor *t : {&q, &k, &v})
    if (Error e = requireRank("attention", "q, k and v", t->shape, 3))
      return e;
  int64_t batch = q.dim(0), seq = q.dim(1);
  if (q.dim(2) != nh * hd)
    return createStringError("attention: q must be [%lld, %lld, %lld], got %s",
                             (long long)batch, (long long)seq,
                             (long long)(nh * hd), str(q.shape).c_str());
  std::vector<int64_t> kvShape = {batch, seq, nkv * hd};
  if (k.shape != kvShape || v.shape != kvShape)
    return createStringError("attention: k and v must be %s, got %s and %s",
                             str(kvShape).c_str(), str(k.shape).c_str(),
                             str(v.shape).c_str());
  if (positions.shape != std::vector<int64_t>{batch, seq})
    return createStringError("attention: positions must be [%lld, %lld], got "
                             "%s",
                             (long long)batch, (long long)seq,
                             str(positions.shape).c_str());
  return Error::success();
}

Error storeKeysValues(const Tensor &k, const Tensor &v,
                      const IntTensor &positions,
                      const AttentionConfig &config,
                      const CacheBinding &binding,
                      const std::function<bool(int64_t)> &keep) {
  KVCache &cache = *binding.cache;
  int64_t batch = k.dim(0), seq = k.dim(1), hd = config.headDim;
  if (Error e = checkCacheRows(binding, batch))
    return e;
  Expected<KVCache::Slot *> s =
      cache.slot(binding.slot, config.numKvHeads, hd);
  if (!s)
    return s.takeError();
  KVCache::Slot &slot = **s;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t row = binding.rowOffset + b;
    for (int64_t t = 0; t < seq; ++t) {
      int64_t p = positions.data[b * seq + t];
      if (p < 0 || p >= cache.capacity(row))
        return createStringError(
            "attention: position %lld is beyond the KV cache's %lld positions "
            "(prompt length + max new tokens)",
            (long long)p, (long long)cache.capacity(row));
      if (keep && !keep(p))
        continue;
      for (int64_t h = 0; h < config.numKvHeads; ++h) {
        int64_t src = (b * seq + t) * config.numKvHeads * hd + h * hd;
        int64_t dst = cache.offset(slot, row, h, p);
        std::copy_n(k.data.begin() + src, hd, slot.keys.begin() + dst);
        std::copy_n(v.data.begin() + src, hd, slot.values.begin() + dst);
      }
      slot.written[cache.positionIndex(row, p)] = 1;
    }
  }
  return Error::success();
}

std::vector<KeyValue> cachedKeys(const CacheBinding &binding, int64_t row) {
  std::vector<KeyValue> keys;
  KVCache &cache = *binding.cache;
  KVCache::Slot *slot = cache.find(binding.slot);
  if (!slot)
    return keys;
  int64_t r = binding.rowOffset + row;
  for (int64_t p = 0, n = cache.length(r); p < n; ++p) {
    if (!slot->written[cache.positionIndex(r, p)])
      continue;
    int64_t off = cache.offset(*slot, r, 0, p);
    keys.push_back(KeyValue{p, slot->keys.data() + off,
                            slot->values.data() + off,
                            cache.headStride(*slot)});
  }
  return keys;
}

Expected<Tensor> attendToKeys(const Tensor &q, const IntTensor &positions,
                              llvm::ArrayRef<std::vector<KeyValue>> keys,
                              const AttentionConfig &config,
                              bool requireEveryPosition) {
  int64_t nh = config.numHeads, nkv = config.numKvHeads, hd = config.headDim;
  int64_t batch = q.dim(0), seq = q.dim(1);
  if (int64_t(keys.size()) != batch)
    return createStringError("attention: keys for %zu batch rows, queries "
                             "for %lld",
                             keys.size(), (long long)batch);
  float scale = float(config.scale.value_or(1.0 / std::sqrt(double(hd))));
  int64_t group = nh / nkv;
  auto allowed = [&](int64_t keyPos, int64_t queryPos) {
    if (config.causal && keyPos > queryPos)
      return false;
    if (config.slidingWindow && keyPos <= queryPos - *config.slidingWindow)
      return false;
    return true;
  };

  Tensor out(q.shape);
  std::vector<float> scores;
  std::vector<const float *> values;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < seq; ++s) {
      int64_t qpos = positions.data[b * seq + s];
      if (requireEveryPosition && config.causal) {
        int64_t lo = config.slidingWindow
                         ? std::max<int64_t>(0, qpos - *config.slidingWindow + 1)
                         : 0;
        int64_t expect = lo;
        for (const KeyValue &kv : keys[b]) {
          if (kv.position < lo || kv.position > qpos)
            continue;
          if (kv.position != expect)
            break;
          ++expect;
        }
        if (expect <= qpos)
          return createStringError("attention: the KV cache has no key at "
                                   "position %lld of batch row %lld (query at "
                                   "position %lld)",
                                   (long long)expect, (long long)b,
                                   (long long)qpos);
      }
      for (int64_t h = 0; h < nh; ++h) {
        int64_t kvh = h / group;
        const float *qv = q.data.data() + (b * seq + s) * nh * hd + h * hd;
        scores.clear();
        values.clear();
        for (const KeyValue &kv : keys[b]) {
          if (!allowed(kv.position, qpos))
            continue;
          scores.push_back(
              float(dot(qv, kv.key + kvh * kv.headStride, hd)) * scale);
          values.push_back(kv.value + kvh * kv.headStride);
        }
        float *o = out.data.data() + (b * seq + s) * nh * hd + h * hd;
        if (scores.empty()) {
          std::fill_n(o, hd, 0.0f);
          continue;
        }
        softmaxCombine(scores, values, hd, o);
      }
    }
  }
  return out;
}

PartialAttention::PartialAttention(int64_t batch, int64_t seq, int64_t heads,
                                   int64_t headDim)
    : batch(batch), seq(seq), heads(heads), headDim(headDim),
      max(batch * seq * heads, -std::numeric_limits<float>::infinity()),
      sum(batch * seq * heads, 0.0f), acc(batch * seq * heads * headDim, 0.0f) {}

void PartialAttention::accumulate(const Tensor &q, const IntTensor &positions,
                                  llvm::ArrayRef<std::vector<KeyValue>> keys,
                                  const AttentionConfig &config) {
  int64_t nkv = config.numKvHeads, hd = headDim;
  int64_t group = heads / nkv;
  float scale = float(config.scale.value_or(1.0 / std::sqrt(double(hd))));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < seq; ++s) {
      int64_t qpos = positions.data[b * seq + s];
      for (int64_t h = 0; h < heads; ++h) {
        int64_t state = (b * seq + s) * heads + h;
        const float *qv = q.data.data() + state * hd;
        float *a = acc.data() + state * hd;
        for (const KeyValue &kv : keys[b]) {
          if (config.causal && kv.position > qpos)
            continue;
          if (config.slidingWindow &&
              kv.position <= qpos - *config.slidingWindow)
            continue;
          int64_t kvh = h / group;
          float score =
              float(dot(qv, kv.key + kvh * kv.headStride, hd)) * scale;
          float newMax = std::max(max[state], score);
          float rescale = std::exp(max[state] - newMax);
          float weight = std::exp(score - newMax);
          const float *value = kv.value + kvh * kv.headStride;
          for (int64_t d = 0; d < hd; ++d)
            a[d] = a[d] * rescale + weight * value[d];
          sum[state] = sum[state] * rescale + weight;
          max[state] = newMax;
        }
      }
    }
}

void PartialAttention::merge(const PartialAttention &other) {
  for (size_t state = 0; state < max.size(); ++state) {
    if (other.sum[state] == 0.0f)
      continue;
    if (sum[state] == 0.0f) {
      max[state] = other.max[state];
      sum[state] = other.sum[state];
      std::copy_n(other.acc.data() + state * headDim, headDim,
                  acc.data() + state * headDim);
      continue;
    }
    float newMax = std::max(max[state], other.max[state]);
    float mine = std::exp(max[state] - newMax);
    float theirs = std::exp(other.max[state] - newMax);
    for (int64_t d = 0; d < headDim; ++d)
      acc[state * headDim + d] = acc[state * headDim + d] * mine +
                                 other.acc[state * headDim + d] * theirs;
    sum[state] = sum[state] * mine + other.sum[state] * theirs;
    max[state] = newMax;
  }
}

Tensor PartialAttention::finalize() const {
  Tensor out({batch, seq, heads * headDim});
  for (size_t state = 0; state < max.size(); ++state)
    if (sum[state] > 0.0f)
      for (int64_t d = 0; d < headDim; ++d)
        out.data[state * headDim + d] = acc[state * headDim + d] / sum[state];
  return out;
}

Tensor PartialAttention::pack() const {
  int64_t rows = int64_t(max.size());
  Tensor packed({rows, 2 + headDim});
  for (int64_t r = 0; r < rows; ++r) {
    float *row = packed.data.data() + r * (2 + headDim);
    row[0] = max[r];
    row[1] = sum[r];
    std::copy_n(acc.data() + r * headDim, headDim, row + 2);
  }
  return packed;
}

Expected<PartialAttention> PartialAttention::unpack(const Tensor &packed,
                                                    int64_t batch, int64_t seq,
                                                    int64_t heads,
                                                    int64_t headDim) {
  PartialAttention state(batch, seq, heads, headDim);
  int64_t rows = batch * seq * heads;
  if (packed.shape != std::vector<int64_t>{rows, 2 + headDim})
    return createStringError("ring attention: a rank sent a partial result "
                             "of another shape");
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = packed.data.data() + r * (2 + headDim);
    state.max[r] = row[0];
    state.sum[r] = row[1];
    std::copy_n(row + 2, headDim, state.acc.data() + r * headDim);
  }
  return state;
}

Expected<Tensor> attention(const Tensor &q, const Tensor &k, const Tensor &v,
                           const IntTensor &positions,
                           const AttentionConfig &config,
                           const CacheBinding *cache) {
  if (Error e = checkAttentionOperands(q, k, v, positions, config))
    return std::move(e);
  int64_t batch = q.dim(0), seq = q.dim(1);
  int64_t kvWidth = config.numKvHeads * config.headDim;
  std::vector<std::vector<KeyValue>> keys(batch);
  if (cache) {
    if (Error e = storeKeysValues(k, v, positions, config, *cache))
      return std::move(e);
    for (int64_t b = 0; b < batch; ++b)
      keys[b] = cachedKeys(*cache, b);
    return attendToKeys(q, positions, keys, config,
                        /*requireEveryPosition=*/true);
  }
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t)
      keys[b].push_back(KeyValue{positions.data[b * seq + t],
                                 k.data.data() + (b * seq + t) * kvWidth,
                                 v.data.data() + (b * seq + t) * kvWidth,
                                 config.headDim});
  return attendToKeys(q, positions, keys, config,
                      /*requireEveryPosition=*/false);
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

Expected<Routing> moeRouter(const Tensor &x, const Tensor &gate,
                            int64_t numExperts, int64_t topK,
                            bool renormalize) {
  int64_t h = x.innerSize();
  if (Error e = checkMatrix("moe_router", "gate", gate, h))
    return std::move(e);
  if (gate.dim(0) != numExperts)
    return createStringError("moe_router: gate has %lld rows for %lld experts",
                             (long long)gate.dim(0), (long long)numExperts);
  if (topK < 1 || topK > numExperts)
    return createStringError("moe_router: top_k %lld is not in [1, %lld]",
                             (long long)topK, (long long)numExperts);
  std::vector<int64_t> shape = x.shape;
  shape.back() = topK;
  Routing r{Tensor(shape), IntTensor(shape)};
  std::vector<float> probs(numExperts);
  std::vector<int64_t> order(numExperts);
  for (int64_t t = 0; t < x.outerSize(); ++t) {
    const float *in = x.data.data() + t * h;
    float maxLogit = -INFINITY;
    for (int64_t e = 0; e < numExperts; ++e) {
      probs[e] = float(dot(in, gate.data.data() + e * h, h));
      maxLogit = std::max(maxLogit, probs[e]);
    }
    float sum = 0.0f;
    for (float &p : probs) {
      p = std::exp(p - maxLogit);
      sum += p;
    }
    for (float &p : probs)
      p /= sum;
    std::iota(order.begin(), order.end(), 0);
    // stable_sort keeps the lower id first among equal probabilities.
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return probs[a] > probs[b]; });
    float kept = 0.0f;
    for (int64_t j = 0; j < topK; ++j)
      kept += probs[order[j]];
    for (int64_t j = 0; j < topK; ++j) {
      float w = probs[order[j]];
      r.weights.data[t * topK + j] = renormalize ? w / kept : w;
      r.indices.data[t * topK + j] = order[j];
    }
  }
  return r;
}

Expected<Tensor> experts(const Tensor &x, const Tensor &routingWeights,
                         const IntTensor &routingIndices,
                         llvm::ArrayRef<ExpertWeights> experts) {
  int64_t h = x.innerSize();
  if (routingWeights.shape != routingIndices.shape)
    return createStringError("experts: routing weights %s and ids %s differ",
                             str(routingWeights.shape).c_str(),
                             str(routingIndices.shape).c_str());
  std::vector<int64_t> tokenShape(routingWeights.shape.begin(),
                                  routingWeights.shape.end() - 1);
  std::vector<int64_t> xTokens(x.shape.begin(), x.shape.end() - 1);
  if (routingWeights.rank() < 1 || tokenShape != xTokens)
    return createStringError("experts: routing %s does not match input %s",
                             str(routingWeights.shape).c_str(),
                             str(x.shape).c_str());
  for (const ExpertWeights &e : experts) {
    if (Error err = checkMlp("experts", *e.gate, *e.up, *e.down, h))
      return std::move(err);
    if (Error err = checkMlpScales("experts", *e.gate, *e.down, e.gateScale,
                                   e.upScale, e.downScale))
      return std::move(err);
  }
  int64_t k = routingWeights.innerSize();
  Tensor y(x.shape);
  std::vector<float> hidden, contribution(h);
  for (int64_t t = 0; t < x.outerSize(); ++t) {
    const float *in = x.data.data() + t * h;
    float *out = y.data.data() + t * h;
    for (int64_t j = 0; j < k; ++j) {
      int64_t id = routingIndices.data[t * k + j];
      const ExpertWeights *e = nullptr;
      for (const ExpertWeights &cand : experts)
        if (cand.id == id)
          e = &cand;
      if (!e)
        continue; // held by another rank
      swigluMlpRow(in, *e->gate, *e->up, *e->down, hidden,
                   contribution.data(), e->gateScale, e->upScale,
                   e->downScale);
      float w = routingWeights.data[t * k + j];
      for (int64_t i = 0; i < h; ++i)
        out[i] += w * contribution[i];
    }
  }
  return y;
}

Expected<Tensor> sharedExpert(const Tensor &x, const Tensor &gate,
                              const Tensor &up, const Tensor &down,
                              const Tensor &expertGate, RowScales gateScale,
                              RowScales upScale, RowScales downScale) {
  int64_t h = x.innerSize();
  if (Error e = checkMlp("shared_expert", gate, up, down, h))
    return std::move(e);
  if (Error e = checkMlpScales("shared_expert", gate, down, gateScale,
                               upScale, downScale))
    return std::move(e);
  if (expertGate.shape != std::vector<int64_t>{1, h})
    return createStringError("shared_expert: expert gate must be [1, %lld], "
                             "got %s",
                             (long long)h, str(expertGate.shape).c_str());
  Tensor y(x.shape);
  std::vector<float> hidden;
  for (int64_t t = 0; t < x.outerSize(); ++t) {
    const float *in = x.data.data() + t * h;
    float *out = y.data.data() + t * h;
    swigluMlpRow(in, gate, up, down, hidden, out, gateScale, upScale,
                 downScale);
    float g = float(dot(in, expertGate.data.data(), h));
    float sig = 1.0f / (1.0f + std::exp(-g));
    for (int64_t i = 0; i < h; ++i)
      out[i] *= sig;
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

Expected<Tensor> lastToken(const Tensor &x) {
  if (Error e = requireRank("last_token", "input", x.shape, 3))
    return std::move(e);
  if (x.dim(1) < 1)
    return createStringError("last_token: the input has no positions");
  return sliceAlong(x, 1, x.dim(1) - 1, 1);
}

Expected<IntTensor> argmax(const Tensor &logits) {
  if (logits.rank() < 1 || logits.innerSize() < 1)
    return createStringError("argmax: logits %s have no last dim to reduce",
                             str(logits.shape).c_str());
  std::vector<int64_t> shape(logits.shape.begin(), logits.shape.end() - 1);
  IntTensor y(shape);
  int64_t v = logits.innerSize();
  for (int64_t r = 0; r < logits.outerSize(); ++r) {
    const float *row = logits.data.data() + r * v;
    int64_t best = 0;
    for (int64_t i = 1; i < v; ++i)
      if (row[i] > row[best])
        best = i;
    y.data[r] = best;
  }
  return y;
}

Expected<IntTensor> sample(const Tensor &logits, uint64_t seed,
                           double temperature, double topP, int64_t topK) {
  if (temperature <= 0.0)
    return argmax(logits);
  if (logits.rank() < 1 || logits.innerSize() < 1)
    return createStringError("sample: logits %s have no last dim",
                             str(logits.shape).c_str());
  std::vector<int64_t> shape(logits.shape.begin(), logits.shape.end() - 1);
  IntTensor y(shape);
  int64_t v = logits.innerSize();
  int64_t keep = topK > 0 ? std::min(topK, v) : v;
  std::vector<double> probs(v);
  std::vector<int64_t> order(v);
  for (int64_t r = 0; r < logits.outerSize(); ++r) {
    const float *row = logits.data.data() + r * v;
    double maxLogit = -INFINITY;
    for (int64_t i = 0; i < v; ++i)
      maxLogit = std::max(maxLogit, double(row[i]) / temperature);
    for (int64_t i = 0; i < v; ++i)
      probs[i] = std::exp(double(row[i]) / temperature - maxLogit);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return probs[a] > probs[b]; });
    // Top-k, then the smallest prefix of the renormalised top-k whose mass
    // reaches top_p (at least one token).
    double mass = 0.0;
    for (int64_t j = 0; j < keep; ++j)
      mass += probs[order[j]];
    int64_t n = 0;
    double cumulative = 0.0;
    while (n < keep) {
      cumulative += probs[order[n]] / mass;
      ++n;
      if (cumulative >= topP)
        break;
    }
    double kept = 0.0;
    for (int64_t j = 0; j < n; ++j)
      kept += probs[order[j]];
    uint64_t bits = rt::splitmix64(seed ^ rt::splitmix64(uint64_t(r)));
    double u = double(bits >> 11) * 0x1p-53 * kept;
    int64_t choice = order[n - 1];
    double acc = 0.0;
    for (int64_t j = 0; j < n; ++j) {
      acc += probs[order[j]];
      if (u < acc) {
        choice = order[j];
        break;
      }
    }
    y.data[r] = choice;
  }
  return y;
}

} // namespace llmc::ref
