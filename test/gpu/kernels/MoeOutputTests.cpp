//===- MoeOutputTests.cpp - MoE, output, random weights, errors, graphs ---===//
//
// Second half of llmc-gpu-kernel-tests (see KernelTests.cpp): the MoE
// router, routed and shared experts, last token / argmax / sampling, the
// device random-weight generator against the CPU one bit for bit, error
// messages through Rank::fail, and a decode step captured as a CUDA graph.
//
//===----------------------------------------------------------------------===//

#include "test/gpu/kernels/TestUtil.h"

#include "runtime/kernels/Kernels.h"
#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <memory>
#include <numeric>

using namespace llmc;
using rt::Act;
using rt::Step;
using rt::Weight;

namespace llmc::test {

extern bool quickMode;
void recordResult(const std::string &test, const std::string &config,
                  const Stats &s, const std::string &note = "");

namespace {

void record(const std::string &test, const std::string &config, const Stats &s,
            const std::string &note = "") {
  recordResult(test, config, s, note);
}

void recordBool(const std::string &test, const std::string &config, bool pass,
                const std::string &note = "") {
  Stats s;
  s.count = 1;
  s.bad = pass ? 0 : 1;
  recordResult(test, config, s, note);
}



double silu(double x) { return x / (1.0 + std::exp(-x)); }

double dot(const float *a, const float *b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i)
    s += double(a[i]) * b[i];
  return s;
}

//===----------------------------------------------------------------------===//
// MoE
//===----------------------------------------------------------------------===//

void testRouter(FakeRank &r, Rng &rng) {
  struct Cfg {
    int64_t tokens, hidden;
    int experts, topK;
    bool renorm, ties;
  } cfgs[] = {{33, 256, 8, 2, true, false},
              {33, 256, 8, 2, false, false},
              {17, 128, 60, 4, false, false},
              {9, 64, 8, 3, true, true},
              {4, 64, 8, 8, true, false}};
  for (Cfg c : cfgs) {
    std::vector<float> x = randomBf16(rng, size_t(c.tokens * c.hidden));
    std::vector<float> gate = randomBf16(rng, size_t(c.experts * c.hidden),
                                         float(4.0 / std::sqrt(c.hidden)));
    if (c.ties) // experts 2, 5 and 6 always tie
      for (int e : {5, 6})
        std::copy_n(gate.begin() + 2 * c.hidden, c.hidden,
                    gate.begin() + e * c.hidden);
    DevBuf<uint16_t> dx = toDevice(x), dg = toDevice(gate);
    size_t n = size_t(c.tokens * c.topK);
    DevBuf<float> w(n);
    DevBuf<int32_t> ids(n);
    w.poison();
    ids.poison();
    rt::moeRouter(r, actOf(w, c.tokens, c.topK), actOf(ids, c.tokens, c.topK),
                  act(dx, c.tokens, c.hidden),
                  weightOf(dg, c.experts, c.hidden), c.experts, c.topK,
                  c.renorm);
    sync(r);
    std::vector<float> gw = w.download();
    std::vector<int32_t> gi = ids.download();
    std::vector<double> refW(n);
    int64_t idMismatch = 0;
    for (int64_t t = 0; t < c.tokens; ++t) {
      std::vector<double> p(static_cast<size_t>(c.experts));
      double mx = -INFINITY, sum = 0;
      for (int e = 0; e < c.experts; ++e) {
        p[size_t(e)] = dot(&x[size_t(t * c.hidden)],
                           &gate[size_t(e * c.hidden)], c.hidden);
        mx = std::max(mx, p[size_t(e)]);
      }
      for (double &v : p)
        sum += (v = std::exp(v - mx));
      for (double &v : p)
        v /= sum;
      std::vector<int> order(static_cast<size_t>(c.experts));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return p[size_t(a)] > p[size_t(b)];
      });
      double kept = 0;
      for (int j = 0; j < c.topK; ++j)
        kept += p[size_t(order[size_t(j)])];
      for (int j = 0; j < c.topK; ++j) {
        size_t at = size_t(t * c.topK + j);
        refW[at] = p[size_t(order[size_t(j)])] / (c.renorm ? kept : 1.0);
        idMismatch += gi[at] != order[size_t(j)];
      }
    }
    Stats s = compare(gw, refW, 1e-5, 1e-4);
    s.bad += idMismatch;
    record("moeRouter",
           fmt("T=%lld E=%d k=%d%s%s", (long long)c.tokens, c.experts, c.topK,
               c.renorm ? " renorm" : "", c.ties ? " ties(2,5,6)" : ""),
           s, fmt("id mismatches %lld", (long long)idMismatch));
  }
}

void testExperts(FakeRank &r, Rng &rng) {
  struct Cfg {
    int64_t tokens, hidden, inter;
    int experts, topK;
    int ownedEvery; // expert e is local when e % ownedEvery == 0... see below
    const char *name;
  } cfgs[] = {{33, 256, 512, 8, 2, 1, "all local"},
              {33, 256, 512, 8, 2, 2, "even experts local (ep2)"},
              {300, 200, 264, 8, 2, 1, "many rows, N/K tails"},
              {5, 128, 256, 60, 4, 3, "60 experts, every 3rd local"},
              {1, 256, 512, 8, 2, 1, "decode T=1"}};
  for (Cfg c : cfgs) {
    r.clearWeights();
    std::vector<float> x = randomBf16(rng, size_t(c.tokens * c.hidden));
    std::vector<std::vector<float>> g(size_t(c.experts)), u(size_t(c.experts)),
        d(size_t(c.experts));
    std::vector<DevBuf<uint16_t>> dev;
    std::vector<int> gi(size_t(c.experts), -1), ui = gi, di = gi;
    std::unique_ptr<bool[]> owned(new bool[size_t(c.experts)]);
    for (int e = 0; e < c.experts; ++e) {
      owned[size_t(e)] = e % c.ownedEvery == 0;
      if (!owned[size_t(e)])
        continue;
      g[size_t(e)] = randomBf16(rng, size_t(c.inter * c.hidden),
                                float(2.0 / std::sqrt(c.hidden)));
      u[size_t(e)] = randomBf16(rng, size_t(c.inter * c.hidden),
                                float(2.0 / std::sqrt(c.hidden)));
      d[size_t(e)] = randomBf16(rng, size_t(c.hidden * c.inter),
                                float(1.0 / std::sqrt(c.inter)));
      dev.push_back(toDevice(g[size_t(e)]));
      gi[size_t(e)] = r.addWeight(weightOf(dev.back(), c.inter, c.hidden));
      dev.push_back(toDevice(u[size_t(e)]));
      ui[size_t(e)] = r.addWeight(weightOf(dev.back(), c.inter, c.hidden));
      dev.push_back(toDevice(d[size_t(e)]));
      di[size_t(e)] = r.addWeight(weightOf(dev.back(), c.hidden, c.inter));
    }
    // Distinct experts per token, weights in (0, 1).
    size_t n = size_t(c.tokens * c.topK);
    std::vector<int32_t> ids(n);
    std::vector<float> wts(n);
    for (int64_t t = 0; t < c.tokens; ++t) {
      std::vector<int> perm(static_cast<size_t>(c.experts));
      std::iota(perm.begin(), perm.end(), 0);
      for (int j = 0; j < c.topK; ++j) {
        std::swap(perm[size_t(j)], perm[size_t(j + rng.below(c.experts - j))]);
        ids[size_t(t * c.topK + j)] = perm[size_t(j)];
        wts[size_t(t * c.topK + j)] = rng.uniform(0.05f, 1.f);
      }
    }
    DevBuf<uint16_t> dx = toDevice(x), out(size_t(c.tokens * c.hidden));
    DevBuf<int32_t> did = toDeviceRaw(ids);
    DevBuf<float> dw = toDeviceRaw(wts);
    out.poison();
    rt::experts(r, act(out, c.tokens, c.hidden), act(dx, c.tokens, c.hidden),
                actOf(dw, c.tokens, c.topK), actOf(did, c.tokens, c.topK),
                gi.data(), ui.data(), di.data(), c.experts, owned.get());
    sync(r);
    std::vector<double> ref(size_t(c.tokens * c.hidden), 0.0);
    std::vector<double> h(static_cast<size_t>(c.inter));
    std::vector<float> hf(static_cast<size_t>(c.inter));
    for (int64_t t = 0; t < c.tokens; ++t) {
      const float *xt = &x[size_t(t * c.hidden)];
      for (int j = 0; j < c.topK; ++j) {
        int e = ids[size_t(t * c.topK + j)];
        if (!owned[size_t(e)])
          continue;
        for (int64_t i = 0; i < c.inter; ++i)
          hf[size_t(i)] = float(
              silu(dot(xt, &g[size_t(e)][size_t(i * c.hidden)], c.hidden)) *
              dot(xt, &u[size_t(e)][size_t(i * c.hidden)], c.hidden));
        for (int64_t o = 0; o < c.hidden; ++o)
          ref[size_t(t * c.hidden + o)] +=
              wts[size_t(t * c.topK + j)] *
              dot(hf.data(), &d[size_t(e)][size_t(o * c.inter)], c.inter);
      }
    }
    // gate, up, silu, the activation and each expert's output are bf16.
    record("experts",
           fmt("T=%lld H=%lld I=%lld E=%d k=%d", (long long)c.tokens,
               (long long)c.hidden, (long long)c.inter, c.experts, c.topK),
           compare(fromDevice(out), ref, 1e-2, 1.0 / 32), c.name);
  }
  r.clearWeights();
}

void testSharedExpert(FakeRank &r, Rng &rng) {
  int64_t tokens = 5, hidden = 256, inter = 512;
  std::vector<float> x = randomBf16(rng, size_t(tokens * hidden));
  float s1 = float(2.0 / std::sqrt(hidden)), s2 = float(1.0 / std::sqrt(inter));
  std::vector<float> g = randomBf16(rng, size_t(inter * hidden), s1),
                     u = randomBf16(rng, size_t(inter * hidden), s1),
                     d = randomBf16(rng, size_t(hidden * inter), s2),
                     eg = randomBf16(rng, size_t(hidden), s1);
  DevBuf<uint16_t> dx = toDevice(x), dg = toDevice(g), du = toDevice(u),
                   dd = toDevice(d), deg = toDevice(eg),
                   out(size_t(tokens * hidden));
  out.poison();
  rt::sharedExpert(r, act(out, tokens, hidden), act(dx, tokens, hidden),
                   weightOf(dg, inter, hidden), weightOf(du, inter, hidden),
                   weightOf(dd, hidden, inter), weightOf(deg, 1, hidden));
  sync(r);
  std::vector<double> ref(size_t(tokens * hidden));
  std::vector<float> h(static_cast<size_t>(inter));
  for (int64_t t = 0; t < tokens; ++t) {
    const float *xt = &x[size_t(t * hidden)];
    for (int64_t i = 0; i < inter; ++i)
      h[size_t(i)] = float(silu(dot(xt, &g[size_t(i * hidden)], hidden)) *
                           dot(xt, &u[size_t(i * hidden)], hidden));
    double sg = 1.0 / (1.0 + std::exp(-dot(xt, eg.data(), hidden)));
    for (int64_t o = 0; o < hidden; ++o)
      ref[size_t(t * hidden + o)] =
          sg * dot(h.data(), &d[size_t(o * inter)], inter);
  }
  record("sharedExpert", "T=5 H=256 I=512",
         compare(fromDevice(out), ref, 1e-2, 1.0 / 32));
}

} // namespace

void testMoe(FakeRank &r) {
  Rng rng(8);
  testRouter(r, rng);
  testExperts(r, rng);
  testSharedExpert(r, rng);
}

//===----------------------------------------------------------------------===//
// Output: last token, argmax, sampling
//===----------------------------------------------------------------------===//

namespace {

int64_t refArgmax(const float *row, int64_t v) {
  int64_t best = 0;
  for (int64_t i = 1; i < v; ++i)
    if (row[i] > row[best])
      best = i;
  return best;
}

/// lib/reference's sample(), row by row.
int64_t refSample(const float *row, int64_t v, uint64_t seed, int64_t r,
                  double temperature, double topP, int64_t topK) {
  int64_t keep = topK > 0 ? std::min(topK, v) : v;
  std::vector<double> probs(static_cast<size_t>(v));
  std::vector<int64_t> order(static_cast<size_t>(v));
  double maxLogit = -INFINITY;
  for (int64_t i = 0; i < v; ++i)
    maxLogit = std::max(maxLogit, double(row[i]) / temperature);
  for (int64_t i = 0; i < v; ++i)
    probs[size_t(i)] = std::exp(double(row[i]) / temperature - maxLogit);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return probs[size_t(a)] > probs[size_t(b)];
  });
  double mass = 0;
  for (int64_t j = 0; j < keep; ++j)
    mass += probs[size_t(order[size_t(j)])];
  int64_t n = 0;
  double cumulative = 0;
  while (n < keep) {
    cumulative += probs[size_t(order[size_t(n)])] / mass;
    ++n;
    if (cumulative >= topP)
      break;
  }
  double kept = 0;
  for (int64_t j = 0; j < n; ++j)
    kept += probs[size_t(order[size_t(j)])];
  uint64_t bits = rt::splitmix64(seed ^ rt::splitmix64(uint64_t(r)));
  double u = double(bits >> 11) * 0x1p-53 * kept;
  int64_t choice = order[size_t(n - 1)];
  double acc = 0;
  for (int64_t j = 0; j < n; ++j) {
    acc += probs[size_t(order[size_t(j)])];
    if (u < acc) {
      choice = order[size_t(j)];
      break;
    }
  }
  return choice;
}

void testLastTokenArgmax(FakeRank &r, Rng &rng) {
  for (int64_t hidden : {256, 100}) {
    int64_t batch = 3, seq = 7;
    std::vector<float> x = randomBf16(rng, size_t(batch * seq * hidden));
    DevBuf<uint16_t> dx = toDevice(x), out(size_t(batch * hidden));
    DevBuf<int64_t> pos =
        toDeviceRaw(std::vector<int64_t>(size_t(batch * seq)));
    Step s;
    s.batch = batch;
    s.seq = seq;
    s.positions = pos.get();
    out.poison();
    rt::lastToken(r, act(out, batch, hidden), act(dx, batch * seq, hidden), s);
    sync(r);
    std::vector<double> ref;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < hidden; ++i)
        ref.push_back(x[size_t((b * seq + seq - 1) * hidden + i)]);
    record("lastToken", fmt("B=3 S=7 H=%lld", (long long)hidden),
           compare(fromDevice(out), ref, 0, 0));
  }
  // 1003: rows past the first are not 16-byte aligned (the scalar path);
  // 1000 and 128256: 16-byte loads, 128256 past one round of kU per thread.
  for (int64_t vocab : {1000, 1003, 128256}) {
    if (quickMode && vocab > 1003)
      continue;
    int64_t rows = 4;
    std::vector<float> l(size_t(rows * vocab));
    for (float &v : l)
      v = rng.uniform(-5.f, 5.f);
    l[10] = l[500] = 100.f; // row 0: tie -> 10
    for (int64_t i = 0; i < vocab; ++i)
      l[size_t(vocab + i)] = -INFINITY;      // row 1: nothing larger -> 0
    l[size_t(2 * vocab + 3)] = NAN;          // row 2: NaN is never chosen
    l[size_t(3 * vocab + vocab - 1)] = 50.f; // row 3: the last id
    DevBuf<float> dl = toDeviceRaw(l);
    DevBuf<int64_t> out(static_cast<size_t>(rows));
    out.poison();
    rt::argmax(r, out.get(), actOf(dl, rows, vocab));
    sync(r);
    std::vector<int64_t> got = out.download();
    bool ok = true;
    for (int64_t i = 0; i < rows; ++i)
      ok &= got[size_t(i)] == refArgmax(&l[size_t(i * vocab)], vocab);
    recordBool("argmax", fmt("rows=4 V=%lld ties,-inf,NaN", (long long)vocab),
               ok,
               fmt("got %lld %lld %lld %lld", (long long)got[0],
                   (long long)got[1], (long long)got[2], (long long)got[3]));
  }
}

void testSample(FakeRank &r, Rng &rng) {
  struct Cfg {
    int64_t vocab, rows;
    float temperature, topP;
    int topK;
    bool quantised; // many exactly equal logits
  } cfgs[] = {
      {1000, 4, 0.8f, 1.f, 0, false},  {1000, 4, 0.8f, 0.9f, 0, false},
      {1000, 4, 1.f, 0.5f, 40, false}, {50000, 2, 0.7f, 0.95f, 50, false},
      {1000, 4, 1.f, 1.f, 1, false},   {1000, 8, 1.f, 0.8f, 0, true},
      {1000, 8, 1.5f, 0.9f, 20, true}, {128256, 1, 0.6f, 0.9f, 0, false}};
  for (Cfg c : cfgs) {
    if (quickMode && c.vocab > 1000)
      continue;
    std::vector<float> l(size_t(c.rows * c.vocab));
    for (float &v : l) {
      // Roughly normal, scale 3: a peaked but not degenerate distribution.
      float z = rng.uniform() + rng.uniform() + rng.uniform();
      v = 3.f * z;
      if (c.quantised)
        v = std::round(v * 2.f) / 2.f;
    }
    DevBuf<float> dl = toDeviceRaw(l);
    DevBuf<int64_t> out(size_t(c.rows)), again(size_t(c.rows));
    int64_t mismatches = 0, draws = 0;
    bool deterministic = true;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      out.poison();
      again.poison();
      rt::sample(r, out.get(), actOf(dl, c.rows, c.vocab), c.temperature,
                 c.topP, c.topK, seed);
      rt::sample(r, again.get(), actOf(dl, c.rows, c.vocab), c.temperature,
                 c.topP, c.topK, seed);
      sync(r);
      std::vector<int64_t> got = out.download(), got2 = again.download();
      deterministic &= got == got2;
      for (int64_t i = 0; i < c.rows; ++i) {
        ++draws;
        mismatches +=
            got[size_t(i)] != refSample(&l[size_t(i * c.vocab)], c.vocab, seed,
                                        i, c.temperature, c.topP, c.topK);
      }
    }
    recordBool("sample",
               fmt("V=%lld T=%.1f p=%.2f k=%d%s", (long long)c.vocab,
                   c.temperature, c.topP, c.topK, c.quantised ? " ties" : ""),
               mismatches == 0 && deterministic,
               fmt("%lld/%lld draws differ from the reference%s",
                   (long long)mismatches, (long long)draws,
                   deterministic ? "" : ", NOT deterministic"));
  }
}

} // namespace

void testOutput(FakeRank &r) {
  Rng rng(9);
  testLastTokenArgmax(r, rng);
  testSample(r, rng);
}

//===----------------------------------------------------------------------===//
// Random weights
//===----------------------------------------------------------------------===//

void testRandomWeights() {
  struct Cfg {
    const char *name;
    std::vector<int64_t> shape;
    std::optional<rt::Slice> slice;
  } cfgs[] = {
      {"model.layers.0.input_layernorm.weight", {4096}, std::nullopt},
      {"model.layers.1.self_attn.q_proj.bias", {1024}, rt::Slice{0, 256, 512}},
      {"model.layers.2.mlp.down_proj.weight", {256, 1000}, std::nullopt},
      {"model.layers.2.mlp.down_proj.weight",
       {256, 1000},
       rt::Slice{0, 64, 100}},
      {"model.layers.2.mlp.down_proj.weight",
       {256, 1000},
       rt::Slice{1, 200, 300}},
      {"model.embed_tokens.weight", {5000, 64}, rt::Slice{0, 2500, 2500}},
      {"model.layers.3.block_sparse_moe.experts",
       {4, 6, 10},
       rt::Slice{1, 2, 3}},
  };
  for (const Cfg &c : cfgs)
    for (uint64_t seed : {0ull, 42ull}) {
      std::vector<int64_t> shape =
          c.slice ? rt::slicedShape(c.shape, *c.slice) : c.shape;
      size_t n = size_t(rt::numElements(shape));
      std::vector<float> cpu(n);
      if (!rt::fillRandom(seed, c.name, c.shape, c.slice, cpu.data()))
        throw RankFailure("fillRandom failed");
      DevBuf<uint16_t> dev(n);
      dev.poison();
      rt::Status st =
          rt::fillRandomBf16(seed, c.name, c.shape, c.slice,
                             reinterpret_cast<rt::bf16 *>(dev.get()), nullptr);
      cudaCheck(cudaDeviceSynchronize(), "fillRandomBf16");
      std::vector<uint16_t> bits = dev.download();
      int64_t diff = 0;
      for (size_t i = 0; i < n; ++i)
        diff += bits[i] != rt::floatToBf16(cpu[i]);
      std::string shapeStr;
      for (int64_t d : c.shape)
        shapeStr += (shapeStr.empty() ? "" : "x") + std::to_string(d);
      std::string cfg = std::string(c.name).substr(0, 22) + ".. " + shapeStr;
      if (c.slice)
        cfg += fmt(" dim%d[%lld+%lld]", c.slice->dim,
                   (long long)c.slice->offset, (long long)c.slice->size);
      recordBool("fillRandomBf16",
                 cfg + fmt(" seed %llu", (unsigned long long)seed),
                 st.isOk() && diff == 0,
                 fmt("%lld of %zu bf16 differ", (long long)diff, n));
    }
  // An invalid slice is refused without launching.
  rt::Status bad =
      rt::fillRandomBf16(1, "w", {4, 4}, rt::Slice{1, 3, 2}, nullptr, nullptr);
  recordBool("fillRandomBf16", "invalid slice refused", !bad.isOk(),
             bad.message());
}

//===----------------------------------------------------------------------===//
// Errors and graph capture
//===----------------------------------------------------------------------===//

void testErrorsAndGraphs(FakeRank &r) {
  Rng rng(10);
  DevBuf<uint16_t> a(64 * 64), b(64 * 64), c(64 * 64);
  expectFailure("Rank::fail", "linear shape mismatch", "linear: [4, 64] x weight [32, 48]",
                [&] {
                  rt::linear(r, act(c, 4, 32), act(a, 4, 64),
                             weightOf(b, 32, 48), nullptr);
                });
  DevBuf<int64_t> pos = toDeviceRaw(std::vector<int64_t>{0});
  Step s;
  s.batch = 1;
  s.seq = 1;
  s.positions = pos.get();
  expectFailure("Rank::fail", "attention without cache slot", "no KV cache slot 99", [&] {
    rt::AttentionParams p;
    p.heads = 4;
    p.kvHeads = 1;
    p.cacheSlot = 99;
    rt::attention<64, 4>(r, act(c, 1, 256), act(a, 1, 256), act(b, 1, 64),
                         act(b, 1, 64), s, p, true);
  });
  // Column views (Ops.h `columns`): a range outside the owner, an op that
  // takes dense rows only, and k and v of different strides are refused.
  expectFailure("Rank::fail", "columns out of range",
                "columns [48, 80) are not a range", [&] {
                  rt::columns(r, act(a, 4, 64), 48, 32);
                });
  expectFailure("Rank::fail", "rmsNorm of a column view",
                "this op takes dense activations only", [&] {
                  rt::rmsNorm(r, act(c, 4, 32),
                              rt::columns(r, act(a, 4, 64), 0, 32),
                              weightOf(b, 1, 32), 1e-5f);
                });
  expectFailure("Rank::fail", "attention k/v strides differ",
                "k's equal to v's", [&] {
                  rt::AttentionParams p;
                  p.heads = 4;
                  p.kvHeads = 1;
                  rt::Act kv = act(b, 1, 128);
                  rt::attention<64, 4>(r, act(c, 1, 256), act(a, 1, 256),
                                       rt::columns(r, kv, 0, 64),
                                       act(b, 1, 64), s, p, false);
                });
  expectFailure("Rank::fail", "router top_k > experts", "top_k 9 of 8 experts", [&] {
    DevBuf<float> w(9);
    rt::moeRouter(r, actOf(w, 1, 9), actOf(w, 1, 9), act(a, 1, 64),
                  weightOf(b, 8, 64), 8, 9, true);
  });

  // A decode step's layers captured as a CUDA graph: proves none of them
  // synchronises or allocates, and the replay matches the eager run.
  const int hd = 128, heads = 8, kv = 2, hidden = heads * hd, vocab = 5000;
  int64_t batch = 2, maxSeq = 256;
  std::vector<float> x0 = randomBf16(rng, size_t(batch * hidden));
  DevBuf<uint16_t>
      x = toDevice(x0),
      resid = toDevice(x0), nw = toDevice(randomBf16(rng, hidden, 0.1f, 1.f)),
      wq = toDevice(randomBf16(rng, size_t(hidden * hidden), 0.03f)),
      wk = toDevice(randomBf16(rng, size_t(kv * hd * hidden), 0.03f)),
      wo = toDevice(randomBf16(rng, size_t(hidden * hidden), 0.03f)),
      head = toDevice(randomBf16(rng, size_t(vocab * hidden), 0.03f));
  DevBuf<uint16_t> kc(size_t(4 * kv * maxSeq * hd)), vc(kc.size());
  cudaCheck(cudaMemset(kc.get(), 0, kc.size() * 2), "memset");
  cudaCheck(cudaMemset(vc.get(), 0, vc.size() * 2), "memset");
  cudaCheck(cudaDeviceSynchronize(), "memset"); // legacy stream vs FakeRank's
  rt::CacheView view{reinterpret_cast<rt::bf16 *>(kc.get()),
                     reinterpret_cast<rt::bf16 *>(vc.get()),
                     4,
                     kv,
                     maxSeq,
                     hd};
  r.setCache(0, view);
  DevBuf<int64_t> dpos = toDeviceRaw(std::vector<int64_t>{37, 100});
  Step st;
  st.batch = batch;
  st.seq = 1;
  st.positions = dpos.get();
  st.cacheRow = 1;
  DevBuf<float> logits(size_t(batch * vocab));
  DevBuf<int64_t> next(static_cast<size_t>(batch)),
      sampled(static_cast<size_t>(batch));
  rt::RopeParams rp;
  rp.theta = 500000.f;
  auto step = [&] {
    r.resetArena();
    Act h{r.arenaAlloc(size_t(batch * hidden * 2)), batch, hidden};
    Act q{r.arenaAlloc(size_t(batch * hidden * 2)), batch, hidden};
    Act k{r.arenaAlloc(size_t(batch * kv * hd * 2)), batch, kv * hd};
    Act o{r.arenaAlloc(size_t(batch * hidden * 2)), batch, hidden};
    rt::rmsNorm(r, h, act(x, batch, hidden), weightOf(nw, 1, hidden), 1e-5f);
    rt::linear(r, q, h, weightOf(wq, hidden, hidden), nullptr);
    rt::linear(r, k, h, weightOf(wk, kv * hd, hidden), nullptr);
    rt::AttentionParams p;
    p.heads = heads;
    p.kvHeads = kv;
    p.cacheSlot = 0;
    // The one-launch decode (RoPE, cache write, last-block merge).
    rt::ropeAttention<hd, heads / kv>(r, o, q, k, k, st, rp, p, true);
    rt::linear(r, h, o, weightOf(wo, hidden, hidden), nullptr);
    rt::addRmsNorm(r, o, act(resid, batch, hidden), h, weightOf(nw, 1, hidden),
                   1e-5f);
    rt::lmHead(r, actOf(logits, batch, vocab), o,
               weightOf(head, vocab, hidden));
    rt::argmax(r, next.get(), actOf(logits, batch, vocab));
    rt::sample(r, sampled.get(), actOf(logits, batch, vocab), 0.8f, 0.9f, 40,
               7);
  };
  // Eager once (the residual is updated in place: restore it after).
  step();
  sync(r);
  std::vector<float> eagerLogits = logits.download();
  std::vector<int64_t> eagerNext = next.download(),
                       eagerSampled = sampled.download();
  resid = toDevice(x0);
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  std::string err = captureGraph(r, step, graph, exec);
  bool same = false;
  size_t nodes = 0;
  if (err.empty()) {
    cudaGraphGetNodes(graph, nullptr, &nodes);
    logits.poison();
    next.poison();
    cudaCheck(cudaGraphLaunch(exec, r.stream()), "graph launch");
    sync(r);
    same = logits.download() == eagerLogits && next.download() == eagerNext &&
           sampled.download() == eagerSampled;
  }
  cudaGetLastError();
  if (exec)
    cudaGraphExecDestroy(exec);
  if (graph)
    cudaGraphDestroy(graph);
  recordBool("CUDA graph capture", "decode step (norm..sample), B=2",
             err.empty() && same,
             err.empty() ? fmt("%zu nodes; replay %s eager", nodes,
                               same ? "bit-identical to" : "DIFFERS from")
                         : err);
}

} // namespace llmc::test
