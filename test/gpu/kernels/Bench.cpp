//===- Bench.cpp - timings of the kernels issue 8 depends on --------------===//
//
// `llmc-gpu-kernel-tests --bench`: Llama-3-8B-shaped projections at batch 1
// (GEMV: bytes/time against the measured device-to-device copy rate) and at
// 2048 rows (TFLOP/s), decode attention over the KV cache, prefill attention,
// norms, MoE grouped GEMMs and sampling. Weights come from the device random
// generator; small weights rotate over several copies so batch-1 timings
// read DRAM, not L2. Each figure is the median of 7 event-timed batches.
//
//===----------------------------------------------------------------------===//

#include "test/gpu/kernels/TestUtil.h"

#include "runtime/kernels/Kernels.h"

#include <algorithm>
#include <cstdio>
#include <functional>

using namespace llmc;
using rt::Act;
using rt::Step;
using rt::Weight;

namespace llmc::test {

void benchFp8(FakeRank &r, double copyGBs); // Fp8Tests.cpp

/// Median over 7 batches of `reps` calls, in milliseconds per call.
double timeMs(FakeRank &r, const std::function<void()> &f, int reps) {
  for (int i = 0; i < 3; ++i)
    f();
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<double> t;
  for (int k = 0; k < 7; ++k) {
    cudaEventRecord(a, r.stream());
    for (int i = 0; i < reps; ++i)
      f();
    cudaEventRecord(b, r.stream());
    cudaCheck(cudaEventSynchronize(b), "bench sync");
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    t.push_back(double(ms) / reps);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

/// As timeMs, but `reps` calls are captured once as a CUDA graph and the
/// graph is replayed: what a captured decode step pays, without the host's
/// launch overhead.
double timeGraphMs(FakeRank &r, const std::function<void()> &f, int reps) {
  f();
  cudaCheck(cudaStreamSynchronize(r.stream()), "bench warm-up");
  cudaGraph_t g = nullptr;
  cudaGraphExec_t e = nullptr;
  cudaCheck(
      cudaStreamBeginCapture(r.stream(), cudaStreamCaptureModeThreadLocal),
      "begin capture");
  for (int i = 0; i < reps; ++i)
    f();
  cudaCheck(cudaStreamEndCapture(r.stream(), &g), "end capture");
  cudaCheck(cudaGraphInstantiate(&e, g, 0), "instantiate");
  double ms = timeMs(
                  r, [&] { cudaGraphLaunch(e, r.stream()); }, 1) /
              reps;
  cudaGraphExecDestroy(e);
  cudaGraphDestroy(g);
  return ms;
}

/// n device-generated bf16 values (fan-in `fanIn`); DecodeGemmTests.cpp
/// uses it too.
DevBuf<uint16_t> randomDevice(size_t n, const char *name, uint64_t seed,
                              int64_t fanIn) {
  DevBuf<uint16_t> d(n);
  rt::Status s =
      rt::fillRandomBf16(seed, name, {int64_t(n) / fanIn, fanIn}, std::nullopt,
                         reinterpret_cast<rt::bf16 *>(d.get()), nullptr);
  if (!s)
    throw RankFailure(s.message());
  // The fill runs on the legacy stream, the timed kernels on the rank's
  // non-blocking one: finish it before any of them reads the buffer.
  cudaCheck(cudaDeviceSynchronize(), "randomDevice");
  return d;
}

/// Device-to-device copy of 2 GiB on the rank's stream: GB/s counted as
/// read + write (the bandwidth the bench's "% of copy" figures divide by).
double copyRateGBs(FakeRank &r, double *ms) {
  size_t bytes = size_t(2) << 30;
  DevBuf<char> src(bytes), dst(bytes);
  cudaCheck(cudaMemset(src.get(), 1, bytes), "memset");
  cudaCheck(cudaDeviceSynchronize(), "memset");
  double t = timeMs(
      r,
      [&] {
        cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice,
                        r.stream());
      },
      5);
  if (ms)
    *ms = t;
  return 2.0 * bytes / (t * 1e-3) / 1e9;
}

/// A decode attention call's operands: a random bf16 cache of `maxSeq`
/// positions in slot 0 of `r`, random q and this step's k (also used as v),
/// the output, and a Step of `batch` rows at position `ctx`.
struct DecodeBuffers {
  DecodeBuffers(FakeRank &r, int64_t batch, int64_t ctx, int64_t maxSeq,
                int64_t heads, int64_t kvHeads, int64_t hd)
      : kc(randomDevice(size_t(batch * kvHeads * maxSeq * hd), "k", 6, hd)),
        vc(randomDevice(size_t(batch * kvHeads * maxSeq * hd), "v", 7, hd)),
        q(randomDevice(size_t(batch * heads * hd), "q", 8, hd)),
        k(randomDevice(size_t(batch * kvHeads * hd), "kk", 9, hd)),
        out(size_t(batch * heads * hd)),
        pos(toDeviceRaw(std::vector<int64_t>(size_t(batch), ctx))) {
    r.setCache(0, rt::CacheView{reinterpret_cast<rt::bf16 *>(kc.get()),
                                reinterpret_cast<rt::bf16 *>(vc.get()), batch,
                                kvHeads, maxSeq, hd});
    step.batch = batch;
    step.seq = 1;
    step.positions = pos.get();
  }
  DevBuf<uint16_t> kc, vc, q, k, out;
  DevBuf<int64_t> pos;
  Step step;
};

/// Causal prefill attention of one sequence, 32 heads over 8 kv heads, at
/// head_dim 128 (Llama-3-8B) and 64 (~1B): keys from this call's k/v, and
/// (the compiled model's prefill) written into the cache first and read
/// from it. TFLOP/s counts half the S x S scores, QK^T and PV.
void benchPrefillAttention(FakeRank &r) {
  const int heads = 32, kvHeads = 8;
  rt::AttentionParams p;
  p.heads = heads;
  p.kvHeads = kvHeads;
  p.cacheSlot = 0;
  for (int hd : {128, 64})
    for (int64_t seq : {512, 2048})
      for (bool cache : {false, true}) {
        r.resetArena();
        int64_t tokens = seq;
        DevBuf<uint16_t> q = randomDevice(size_t(tokens * heads * hd), "q", 1,
                                          hd),
                         k = randomDevice(size_t(tokens * kvHeads * hd), "k",
                                          2, hd),
                         v = randomDevice(size_t(tokens * kvHeads * hd), "v",
                                          3, hd),
                         out(size_t(tokens * heads * hd)),
                         kc(size_t(cache ? tokens * kvHeads * hd : 1)),
                         vc(size_t(cache ? tokens * kvHeads * hd : 1));
        if (cache)
          r.setCache(0, rt::CacheView{reinterpret_cast<rt::bf16 *>(kc.get()),
                                      reinterpret_cast<rt::bf16 *>(vc.get()),
                                      1, kvHeads, seq, hd});
        std::vector<int64_t> pv(static_cast<size_t>(tokens));
        for (int64_t i = 0; i < tokens; ++i)
          pv[size_t(i)] = i;
        DevBuf<int64_t> pos = toDeviceRaw(pv);
        Step s;
        s.batch = 1;
        s.seq = seq;
        s.positions = pos.get();
        auto call = [&] {
          rt::Act o = act(out, tokens, heads * hd), qa = act(q, tokens, heads * hd),
                  ka = act(k, tokens, kvHeads * hd),
                  va = act(v, tokens, kvHeads * hd);
          if (hd == 128)
            rt::attention<128, 4>(r, o, qa, ka, va, s, p, cache);
          else
            rt::attention<64, 4>(r, o, qa, ka, va, s, p, cache);
        };
        // Both kernels on an sm_90 GPU (LaunchPolicy::wgmmaPrefill), the
        // wgmma one's time also as a ratio to mma.sync's of this run.
        const rt::LaunchPolicy saved = rt::launchPolicy();
        double msMma = 0;
        for (bool wg : {false, true}) {
          rt::LaunchPolicy pol = saved;
          pol.wgmmaPrefill = wg;
          rt::setLaunchPolicy(pol);
          if (wg && !rt::wgmmaPrefill())
            break; // not sm_90, or LLMC_WGMMA_PREFILL=0
          double ms = timeMs(r, call, 10);
          double flops = 4.0 * heads * hd * double(seq) * double(seq) / 2.0;
          std::string speed = wg ? fmt("  %.2fx mma.sync", msMma / ms) : "";
          if (!wg)
            msMma = ms;
          std::printf("%-44s %9.4f ms  %7.1f TFLOP/s%s\n",
                      (std::string("prefill attention S=") +
                       std::to_string(seq) + " 32/8x" + std::to_string(hd) +
                       (cache ? " causal, cache" : " causal") +
                       (wg ? " wgmma" : ""))
                          .c_str(),
                      ms, flops / (ms * 1e-3) / 1e12, speed.c_str());
        }
        rt::setLaunchPolicy(saved);
      }
}

void runBench(FakeRank &r) {
  std::printf("\nbench (median of 7 batches; GB/s counts bytes that must "
              "move once)\n");
  r.resetArena();
  double copyMs = 0, copyGBs = copyRateGBs(r, &copyMs);
  std::printf("%-44s %9.3f ms  %8.0f GB/s (read+write)\n", "D2D copy 2 GiB",
              copyMs, copyGBs);

  struct Shape {
    const char *name;
    int64_t n, k;
    bool inLayer; ///< one of the 4 GEMV shapes of a fused Llama-3-8B layer
  } shapes[] = {{"qkv 6144x4096", 6144, 4096, true},
                {"o 4096x4096", 4096, 4096, true},
                {"k 1024x4096", 1024, 4096, false},
                {"gate+up 28672x4096", 28672, 4096, true},
                {"down 4096x14336", 4096, 14336, true}};
  double gemvMs = 0, gemvBytes = 0;
  for (const Shape &s : shapes) {
    size_t wn = size_t(s.n * s.k);
    int copies = wn * 2 < (size_t(200) << 20) ? 4 : 1;
    std::vector<DevBuf<uint16_t>> w;
    for (int i = 0; i < copies; ++i)
      w.push_back(randomDevice(wn, s.name, uint64_t(i), s.k));
    for (int64_t m : {1, 8, 16, 2048}) {
      DevBuf<uint16_t> x = randomDevice(size_t(m * s.k), "x", 9, s.k);
      DevBuf<uint16_t> y(size_t(m * s.n));
      int i = 0;
      double ms = timeMs(
          r,
          [&] {
            rt::linear(r, act(y, m, s.n), act(x, m, s.k),
                       weightOf(w[size_t(i++ % copies)], s.n, s.k), nullptr);
          },
          m == 2048 ? 10 : 50);
      double bytes = 2.0 * (wn + m * s.k + m * s.n);
      double flops = 2.0 * m * s.n * s.k;
      std::string name =
          std::string("linear M=") + std::to_string(m) + " " + s.name;
      std::printf("%-44s %9.4f ms  %8.0f GB/s %5.1f%% copy  %7.1f TFLOP/s\n",
                  name.c_str(), ms, bytes / (ms * 1e-3) / 1e9,
                  100.0 * bytes / (ms * 1e-3) / 1e9 / copyGBs,
                  flops / (ms * 1e-3) / 1e12);
      if (m == 1) {
        double gms = timeGraphMs(
            r,
            [&] {
              rt::linear(r, act(y, m, s.n), act(x, m, s.k),
                         weightOf(w[size_t(i++ % copies)], s.n, s.k), nullptr);
            },
            4 * copies);
        if (s.inLayer) {
          gemvMs += gms;
          gemvBytes += bytes;
        }
        std::printf("%-44s %9.4f ms  %8.0f GB/s %5.1f%% copy\n",
                    (name + " (graph)").c_str(), gms,
                    bytes / (gms * 1e-3) / 1e9,
                    100.0 * bytes / (gms * 1e-3) / 1e9 / copyGBs);
      }
    }
  }
  std::printf("%-44s %9.4f ms  %8.0f GB/s %5.1f%% copy (x32 layers = %.2f "
              "ms)\n",
              "one layer's 4 GEMVs (M=1, graph)", gemvMs,
              gemvBytes / (gemvMs * 1e-3) / 1e9,
              100.0 * gemvBytes / (gemvMs * 1e-3) / 1e9 / copyGBs, 32 * gemvMs);
  {
    int64_t vocab = 128256, k = 4096;
    DevBuf<uint16_t> w = randomDevice(size_t(vocab * k), "lm_head", 1, k);
    DevBuf<uint16_t> x = randomDevice(size_t(k), "x", 2, k);
    DevBuf<float> logits(static_cast<size_t>(vocab));
    double ms = timeMs(
        r,
        [&] {
          rt::lmHead(r, actOf(logits, 1, vocab), act(x, 1, k),
                     weightOf(w, vocab, k));
        },
        20);
    double bytes = 2.0 * vocab * k;
    std::printf("%-44s %9.4f ms  %8.0f GB/s %5.1f%% copy\n",
                "lmHead M=1 128256x4096 fp32", ms, bytes / (ms * 1e-3) / 1e9,
                100.0 * bytes / (ms * 1e-3) / 1e9 / copyGBs);
    DevBuf<int64_t> next(1);
    ms = timeMs(
        r, [&] { rt::argmax(r, next.get(), actOf(logits, 1, vocab)); }, 50);
    std::printf("%-44s %9.4f ms\n", "argmax V=128256", ms);
    ms = timeMs(
        r,
        [&] {
          rt::sample(r, next.get(), actOf(logits, 1, vocab), 0.7f, 0.9f, 0, 5);
        },
        20);
    std::printf("%-44s %9.4f ms\n", "sample V=128256 T=0.7 p=0.9", ms);
    ms = timeMs(
        r,
        [&] {
          rt::sample(r, next.get(), actOf(logits, 1, vocab), 0.7f, 1.f, 50, 5);
        },
        20);
    std::printf("%-44s %9.4f ms\n", "sample V=128256 T=0.7 k=50", ms);
  }
  {
    DevBuf<uint16_t> x = randomDevice(size_t(64 * 4096), "x", 3, 4096),
                     d = randomDevice(size_t(64 * 4096), "d", 4, 4096),
                     w = randomDevice(4096, "n", 5, 4096), o(size_t(64 * 4096));
    for (int64_t m : {1, 64}) {
      auto call = [&] {
        rt::addRmsNorm(r, act(o, m, 4096), act(x, m, 4096), act(d, m, 4096),
                       weightOf(w, 1, 4096), 1e-5f);
      };
      std::printf("%-44s %9.4f ms; graph %.4f ms\n",
                  (std::string("addRmsNorm M=") + std::to_string(m) + " H=4096")
                      .c_str(),
                  timeMs(r, call, 100), timeGraphMs(r, call, 50));
    }
  }

  // Attention: Llama-3-8B layer (32 heads, 8 kv heads, head_dim 128).
  const int heads = 32, kvHeads = 8, hd = 128;
  rt::AttentionParams p;
  p.heads = heads;
  p.kvHeads = kvHeads;
  p.cacheSlot = 0;
  struct Dec {
    int64_t batch, ctx;
  } decs[] = {{1, 192},   {8, 192},  {64, 160},   {1, 1024},
              {1, 4096},  {1, 8192}, {16, 2048}, {64, 1024}};
  for (Dec dcfg : decs) {
    DecodeBuffers buf(r, dcfg.batch, dcfg.ctx, dcfg.ctx + 1, heads, kvHeads,
                      hd);
    DevBuf<uint16_t> &q = buf.q, &k = buf.k, &out = buf.out;
    Step &s = buf.step;
    auto call = [&] {
      r.resetArena();
      rt::attention<128, 4>(r, act(out, dcfg.batch, heads * hd),
                            act(q, dcfg.batch, heads * hd),
                            act(k, dcfg.batch, kvHeads * hd),
                            act(k, dcfg.batch, kvHeads * hd), s, p, true);
    };
    double ms = timeMs(r, call, 50), gms = timeGraphMs(r, call, 20);
    // What a layer's attention was before ropeAttention (two RoPE launches,
    // then attention) against the one-launch form, both in a graph.
    rt::RopeParams rp;
    rp.theta = 500000.f;
    auto separate = [&] {
      r.resetArena();
      rt::rope<128>(r, act(q, dcfg.batch, heads * hd), s, rp, heads);
      rt::rope<128>(r, act(k, dcfg.batch, kvHeads * hd), s, rp, kvHeads);
      call();
    };
    auto fused = [&] {
      r.resetArena();
      rt::ropeAttention<128, 4>(r, act(out, dcfg.batch, heads * hd),
                                act(q, dcfg.batch, heads * hd),
                                act(k, dcfg.batch, kvHeads * hd),
                                act(k, dcfg.batch, kvHeads * hd), s, rp, p,
                                true);
    };
    std::printf("%-44s graph: rope x2 + attention %.4f ms, ropeAttention "
                "%.4f ms\n",
                (std::string("decode layer attention B=") +
                 std::to_string(dcfg.batch) + " ctx=" +
                 std::to_string(dcfg.ctx))
                    .c_str(),
                timeGraphMs(r, separate, 20), timeGraphMs(r, fused, 20));
    double bytes = 2.0 * 2.0 * dcfg.batch * kvHeads * (dcfg.ctx + 1) * hd;
    std::printf("%-44s %9.4f ms  %8.0f GB/s %5.1f%% copy; graph %.4f ms "
                "%5.1f%%\n",
                (std::string("decode attention B=") +
                 std::to_string(dcfg.batch) +
                 " ctx=" + std::to_string(dcfg.ctx) + " 32/8x128")
                    .c_str(),
                ms, bytes / (ms * 1e-3) / 1e9,
                100.0 * bytes / (ms * 1e-3) / 1e9 / copyGBs, gms,
                100.0 * bytes / (gms * 1e-3) / 1e9 / copyGBs);
  }
  benchPrefillAttention(r);

  // MoE (Mixtral-shaped): 8 experts, top-2, H=4096, I=14336.
  {
    int experts = 8, topK = 2;
    int64_t hidden = 4096, inter = 14336;
    r.clearWeights();
    std::vector<DevBuf<uint16_t>> w;
    std::vector<int> gi, ui, di;
    for (int e = 0; e < experts; ++e) {
      w.push_back(
          randomDevice(size_t(inter * hidden), "g", uint64_t(e), hidden));
      gi.push_back(r.addWeight(weightOf(w.back(), inter, hidden)));
      w.push_back(
          randomDevice(size_t(inter * hidden), "u", uint64_t(e), hidden));
      ui.push_back(r.addWeight(weightOf(w.back(), inter, hidden)));
      w.push_back(
          randomDevice(size_t(hidden * inter), "d", uint64_t(e), inter));
      di.push_back(r.addWeight(weightOf(w.back(), hidden, inter)));
    }
    bool owned[8] = {true, true, true, true, true, true, true, true};
    for (int64_t tokens : {1, 2048}) {
      Rng rng(11);
      std::vector<int32_t> ids(size_t(tokens * topK));
      std::vector<float> wts(ids.size(), 0.5f);
      for (int64_t t = 0; t < tokens; ++t) {
        int a = int(rng.below(experts)), b = int(rng.below(experts - 1));
        ids[size_t(2 * t)] = a;
        ids[size_t(2 * t + 1)] = b >= a ? b + 1 : b;
      }
      DevBuf<int32_t> did = toDeviceRaw(ids);
      DevBuf<float> dw = toDeviceRaw(wts);
      DevBuf<uint16_t> x = randomDevice(size_t(tokens * hidden), "x", 3,
                                        hidden),
                       out(size_t(tokens * hidden));
      double ms = timeMs(
          r,
          [&] {
            r.resetArena();
            rt::experts(r, act(out, tokens, hidden), act(x, tokens, hidden),
                        actOf(dw, tokens, topK), actOf(did, tokens, topK),
                        gi.data(), ui.data(), di.data(), experts, owned);
          },
          tokens == 1 ? 20 : 3);
      double flops = 2.0 * tokens * topK * 3.0 * hidden * inter;
      // Batch 1 reads the two chosen experts' weights.
      double bytes = 2.0 * topK * 3.0 * hidden * inter;
      std::printf("%-44s %9.4f ms  %8.0f GB/s  %7.1f TFLOP/s\n",
                  (std::string("experts T=") + std::to_string(tokens) +
                   " 8x(4096->14336) top-2")
                      .c_str(),
                  ms, bytes / (ms * 1e-3) / 1e9, flops / (ms * 1e-3) / 1e12);
    }
    r.clearWeights();
  }
  r.resetArena();
  benchFp8(r, copyGBs);
}

/// --only=attention --bench: the prefill attention (benchPrefillAttention)
/// and the one-launch decode attention (rope, cache
/// write, flash-decoding splits, last-block merge) of the 8B (head_dim 128)
/// and ~1B (head_dim 64) shapes, 32 heads over 8 kv heads, at the batches
/// and contexts of the decode matrix, under each blocks-per-SM value of the
/// split rule (LaunchPolicy::decodeAttentionBlocksPerSm; the default 2
/// marked *). GB/s counts the K and V bytes read once.
void benchDecodeAttention(FakeRank &r) {
  r.resetArena();
  double copyMs = 0, copyGBs = copyRateGBs(r, &copyMs);
  std::printf("\ndecode attention vs the split rule (CUDA graphs; %% of the "
              "%.0f GB/s copy)\n%-34s",
              copyGBs, "shape");
  const int perSm[] = {2, 4, 8, 16, 32};
  for (int b : perSm)
    std::printf("  %6d/SM%s     ", b,
                b == rt::LaunchPolicy().decodeAttentionBlocksPerSm ? "*"
                                                                    : " ");
  std::printf("\n");
  const int heads = 32, kvHeads = 8;
  rt::LaunchPolicy saved = rt::launchPolicy();
  struct Case {
    int hd;
    int64_t batch, ctx, maxSeq;
  } cases[] = {{128, 1, 136, 256},    {128, 8, 136, 256},
               {128, 64, 136, 256},   {128, 128, 136, 256},
               {128, 64, 1000, 2048}, {64, 1, 136, 256},
               {64, 64, 136, 256},    {64, 128, 136, 256}};
  for (const Case &c : cases) {
    int64_t hd = c.hd;
    DecodeBuffers buf(r, c.batch, c.ctx, c.maxSeq, heads, kvHeads, hd);
    DevBuf<uint16_t> &q = buf.q, &k = buf.k, &out = buf.out;
    Step &s = buf.step;
    rt::AttentionParams p;
    p.heads = heads;
    p.kvHeads = kvHeads;
    p.cacheSlot = 0;
    rt::RopeParams rp;
    rp.theta = 500000.f;
    auto call = [&] {
      r.resetArena();
      if (hd == 128)
        rt::ropeAttention<128, 4>(r, act(out, c.batch, heads * hd),
                                  act(q, c.batch, heads * hd),
                                  act(k, c.batch, kvHeads * hd),
                                  act(k, c.batch, kvHeads * hd), s, rp, p,
                                  true);
      else
        rt::ropeAttention<64, 4>(r, act(out, c.batch, heads * hd),
                                 act(q, c.batch, heads * hd),
                                 act(k, c.batch, kvHeads * hd),
                                 act(k, c.batch, kvHeads * hd), s, rp, p,
                                 true);
    };
    std::string name = "HD=" + std::to_string(hd) + " B=" +
                       std::to_string(c.batch) + " ctx=" +
                       std::to_string(c.ctx) + " max_seq=" +
                       std::to_string(c.maxSeq);
    std::printf("%-34s", name.c_str());
    double bytes = 2.0 * 2.0 * c.batch * kvHeads * (c.ctx + 1) * hd;
    for (int b : perSm) {
      rt::LaunchPolicy lp = saved;
      lp.decodeAttentionBlocksPerSm = b;
      rt::setLaunchPolicy(lp);
      double ms = timeGraphMs(r, call, 20);
      std::printf("  %7.2f us %4.0f%%", ms * 1e3,
                  100.0 * bytes / (ms * 1e-3) / 1e9 / copyGBs);
    }
    rt::setLaunchPolicy(saved);
    std::printf("\n");
    std::fflush(stdout);
  }
  r.resetArena();
  std::printf("\n");
  benchPrefillAttention(r);
  r.resetArena();
}

} // namespace llmc::test
