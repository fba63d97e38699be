//===- LaunchTests.cpp - programmatic dependent launch of a decode step ---===//
//
// Every kernel of a decode step is launched with programmatic stream
// serialization on sm_90 (runtime/kernels/Launch.cuh): each waits for the
// previous kernel inside the kernel instead of at the launch. A kernel that
// read or wrote before its wait would race, so these cases run a two-layer
// Llama-shaped decode step (embedding, norms, q|k|v, RoPE + attention with
// the cache, o, gate|up + SwiGLU, down, lm head, argmax, sampling) at the
// batch sizes of every projection path (scalar GEMV, streaming tensor-core
// GEMM, cuBLASLt) three ways: eager without PDL (the reference order),
// eager with PDL, and captured as a CUDA graph with PDL, replayed several
// times. Every output must be bit-identical, and on sm_90 the graph must
// hold programmatic edges (the launches really carry the attribute).
//
//===----------------------------------------------------------------------===//

#include "test/gpu/kernels/FakeRank.h"
#include "test/gpu/kernels/TestUtil.h"

#include "runtime/abi/Ops.h"
#include "runtime/kernels/Kernels.h"

#include <string>
#include <vector>

namespace llmc::test {

void recordResult(const std::string &test, const std::string &config,
                  const Stats &s, const std::string &note);

namespace {

/// A pass/fail case (one element, bad when it failed).
void recordCheck(const std::string &test, const std::string &config, bool pass,
                 const std::string &note) {
  Stats s;
  s.count = 1;
  s.bad = pass ? 0 : 1;
  recordResult(test, config, s, note);
}

constexpr int kHd = 64, kHeads = 16, kKv = 4, kLayers = 2;
constexpr int64_t kHidden = kHeads * kHd, kKvCols = kKv * kHd, kInter = 2816,
                  kVocab = 4000, kMaxSeq = 256;

/// Programmatic edges of `graph` (0 where the runtime cannot say).
size_t programmaticEdges(cudaGraph_t graph) {
  size_t n = 0;
  if (cudaGraphGetEdges(graph, nullptr, nullptr, nullptr, &n) != cudaSuccess)
    return 0;
  std::vector<cudaGraphNode_t> from(n), to(n);
  std::vector<cudaGraphEdgeData> data(n);
  if (cudaGraphGetEdges(graph, from.data(), to.data(), data.data(), &n) !=
      cudaSuccess)
    return 0;
  size_t p = 0;
  for (size_t i = 0; i < n; ++i)
    p += data[i].type == cudaGraphDependencyTypeProgrammatic;
  return p;
}

struct Outputs {
  std::vector<float> logits;
  std::vector<int64_t> next, sampled;
  bool operator==(const Outputs &o) const {
    return logits == o.logits && next == o.next && sampled == o.sampled;
  }
};

void decodeChain(FakeRank &r, int64_t batch) {
  Rng rng(uint64_t(100 + batch));
  auto w = [&](int64_t n, float s = 0.03f) {
    return toDevice(randomBf16(rng, size_t(n), s));
  };
  // Per layer: q|k|v and gate|up back to back (as a checkpoint stores them).
  std::vector<DevBuf<uint16_t>> qkv, wo, gateUp, down, n1, n2;
  for (int l = 0; l < kLayers; ++l) {
    qkv.push_back(w((kHidden + 2 * kKvCols) * kHidden));
    wo.push_back(w(kHidden * kHidden));
    gateUp.push_back(w(2 * kInter * kHidden));
    down.push_back(w(kHidden * kInter, 0.02f));
    n1.push_back(toDevice(randomBf16(rng, kHidden, 0.1f, 1.f)));
    n2.push_back(toDevice(randomBf16(rng, kHidden, 0.1f, 1.f)));
  }
  DevBuf<uint16_t> table = w(kVocab * kHidden, 0.5f),
                   nf = toDevice(randomBf16(rng, kHidden, 0.1f, 1.f));
  auto view = [](const DevBuf<uint16_t> &d, int64_t at, int64_t rows,
                 int64_t cols) {
    return rt::Weight{reinterpret_cast<const rt::bf16 *>(d.get()) + at, rows,
                      cols};
  };
  std::vector<DevBuf<uint16_t>> kc, vc;
  for (int l = 0; l < kLayers; ++l) {
    // Earlier positions hold a context to attend to.
    size_t n = size_t(batch * kKv * kMaxSeq * kHd);
    kc.push_back(toDevice(randomBf16(rng, n)));
    vc.push_back(toDevice(randomBf16(rng, n)));
    r.setCache(l, rt::CacheView{reinterpret_cast<rt::bf16 *>(kc[l].get()),
                                reinterpret_cast<rt::bf16 *>(vc[l].get()),
                                batch, kKv, kMaxSeq, kHd});
  }
  std::vector<int64_t> ids, positions;
  for (int64_t b = 0; b < batch; ++b) {
    ids.push_back(int64_t(rng.next() % uint64_t(kVocab)));
    positions.push_back(20 + 23 * b % 200);
  }
  DevBuf<int64_t> dIds = toDeviceRaw(ids), dPos = toDeviceRaw(positions);
  rt::Step st;
  st.batch = batch;
  st.seq = 1;
  st.ids = dIds.get();
  st.positions = dPos.get();
  DevBuf<float> logits(size_t(batch * kVocab));
  DevBuf<int64_t> next(static_cast<size_t>(batch)),
      sampled(static_cast<size_t>(batch));
  rt::RopeParams rp;
  rp.theta = 500000.f;

  auto step = [&] {
    r.resetArena();
    auto alloc = [&](int64_t cols) {
      return rt::Act{r.arenaAlloc(size_t(batch * cols * 2)), batch, cols};
    };
    rt::Act x = alloc(kHidden), h = alloc(kHidden), d = alloc(kHidden),
            q = alloc(kHidden), k = alloc(kKvCols), v = alloc(kKvCols),
            o = alloc(kHidden), g = alloc(kInter),
            sQkv = alloc(kHidden + 2 * kKvCols), sGu = alloc(2 * kInter);
    rt::embedding(r, x, st, view(table, 0, kVocab, kHidden), false);
    for (int l = 0; l < kLayers; ++l) {
      if (l == 0)
        rt::rmsNorm(r, h, x, weightOf(n1[l], 1, kHidden), 1e-5f);
      else
        rt::addRmsNorm(r, h, x, d, weightOf(n1[l], 1, kHidden), 1e-5f);
      rt::linear3(r, q, k, v, h, view(qkv[l], 0, kHidden, kHidden),
                  view(qkv[l], kHidden * kHidden, kKvCols, kHidden),
                  view(qkv[l], (kHidden + kKvCols) * kHidden, kKvCols, kHidden),
                  nullptr, nullptr, nullptr, sQkv);
      rt::AttentionParams p;
      p.heads = kHeads;
      p.kvHeads = kKv;
      p.cacheSlot = l;
      rt::ropeAttention<kHd, kHeads / kKv>(r, o, q, k, v, st, rp, p, true);
      rt::linear(r, d, o, weightOf(wo[l], kHidden, kHidden), nullptr);
      rt::addRmsNorm(r, h, x, d, weightOf(n2[l], 1, kHidden), 1e-5f);
      rt::linearSwiglu(r, g, h, view(gateUp[l], 0, kInter, kHidden),
                       view(gateUp[l], kInter * kHidden, kInter, kHidden), sGu);
      rt::linear(r, d, g, weightOf(down[l], kHidden, kInter), nullptr);
    }
    rt::addRmsNorm(r, h, x, d, weightOf(nf, 1, kHidden), 1e-5f);
    rt::lmHead(r, actOf(logits, batch, kVocab), h,
               view(table, 0, kVocab, kHidden));
    rt::argmax(r, next.get(), actOf(logits, batch, kVocab));
    rt::sample(r, sampled.get(), actOf(logits, batch, kVocab), 0.8f, 0.9f, 40,
               7);
  };
  auto outputs = [&] {
    sync(r);
    return Outputs{logits.download(), next.download(), sampled.download()};
  };
  auto poison = [&] {
    logits.poison();
    next.poison();
    sampled.poison();
  };
  // The step rewrites this position's k/v with the same values each time,
  // so every run sees the same cache.
  rt::LaunchPolicy saved = rt::launchPolicy(), off = saved, on = saved;
  off.pdl = false;
  on.pdl = true;
  rt::setLaunchPolicy(off);
  poison();
  step();
  Outputs ref = outputs();
  rt::setLaunchPolicy(on);
  poison();
  step();
  bool eagerSame = outputs() == ref;

  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  std::string err = captureGraph(r, step, graph, exec);
  bool replaySame = err.empty();
  size_t nodes = 0, edges = 0;
  const int kReplays = 3;
  if (err.empty()) {
    cudaGraphGetNodes(graph, nullptr, &nodes);
    edges = programmaticEdges(graph);
    for (int i = 0; i < kReplays && replaySame; ++i) {
      poison();
      cudaCheck(cudaGraphLaunch(exec, r.stream()), "graph launch");
      replaySame = outputs() == ref;
    }
  }
  cudaGetLastError();
  if (exec)
    cudaGraphExecDestroy(exec);
  if (graph)
    cudaGraphDestroy(graph);
  rt::setLaunchPolicy(saved);

  int dev = 0, major = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
  // Every kernel is launched with the attribute, so up to the streaming
  // GEMM's rows each graph node but the first hangs on a programmatic
  // edge; beyond, the cuBLASLt GEMMs are plain launches (full
  // dependencies) and the norms and attention between them keep theirs.
  size_t want = batch <= rt::launchPolicy().streamMaxRows ? nodes - 1
                                                          : size_t(kLayers);
  bool edgesOk = major < 9 || (nodes > 0 && edges >= want);
  std::string config = fmt("B=%lld, %d layers, hidden %lld", (long long)batch,
                           kLayers, (long long)kHidden);
  recordCheck("decode PDL eager", config, eagerSame,
              eagerSame ? "bit-identical to PDL off" : "DIFFERS from PDL off");
  recordCheck("decode PDL graph", config, replaySame && edgesOk,
              !err.empty()
                  ? err
                  : fmt("%zu nodes, %zu programmatic edges; %d "
                        "replays %s PDL-off eager",
                        nodes, edges, kReplays,
                        replaySame ? "bit-identical to" : "DIFFER from"));
}

} // namespace

void testDecodeLaunch(FakeRank &r) {
  // 1-2 rows: scalar GEMV; 8: streaming tensor-core GEMM; 24: cuBLASLt
  // (one GEMM over q|k|v and gate|up) between PDL kernels.
  for (int64_t batch : {1, 2, 8, 24})
    decodeChain(r, batch);
}

} // namespace llmc::test
