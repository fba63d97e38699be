//===- probe.cu - decode GEMM shapes: cuBLASLt candidates vs StreamGemm -===//
//
// A device-side measurement that decides the batched-decode design (issue
// 18): for the projections of a ~1B, the 8B and a 12B Llama shape at M = 1..128
// rows it times cuBLASLt's heuristic choice and the best of its top
// candidates (weights rotated over copies larger than L2, so they come from
// HBM as in a decode step), q|k|v and gate|up as one GEMM, gate/up as a
// strided batch of two, and the weight-streaming tensor-core kernel of
// runtime/kernels/StreamGemm.cuh; then a 16-layer chain of such launches in a
// CUDA graph with and without programmatic dependent launch.
//
// Built here: nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a
//   -I. bench/kernels/probe.cu -lcublasLt -o probe
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/StreamGemm.cuh"

#include <cublasLt.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace llmc::rt::cuda;
using bf16 = __nv_bfloat16;

#define CK(x)                                                                  \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x,           \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)
#define LT(x)                                                                  \
  do {                                                                         \
    cublasStatus_t s_ = (x);                                                   \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                         \
      std::fprintf(stderr, "%s:%d %s: %d\n", __FILE__, __LINE__, #x, int(s_)); \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

namespace {

__global__ void fillKernel(bf16 *p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint64_t z = (i + seed) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    float f = (float(z >> 40) / float(1 << 24) - 0.5f) * 0.1f;
    p[i] = __float2bfloat16_rn(f);
  }
}

cublasLtHandle_t lt;
cudaStream_t stream;
void *ws;
const size_t kWs = 32u << 20;
bf16 *pool;
size_t poolElems;
bf16 *xbuf, *obuf, *obuf2;
size_t l2Bytes;
double copyGBs;

/// Weight copies to rotate over so that a repeat reads HBM, not L2.
int copiesFor(size_t bytes) {
  size_t c = poolElems * 2 / bytes;
  size_t want = (3 * l2Bytes) / bytes + 2;
  return int(std::max<size_t>(1, std::min<size_t>({c, want, 64})));
}

struct LtCase {
  int64_t m, n, k;
  int batch = 1; // strided batch of `batch` weights (gate/up)
};

struct LtResult {
  double top1 = 0, best = 0;
  int bestIdx = -1, found = 0;
};

LtResult timeLt(const LtCase &c) {
  cublasLtMatmulDesc_t desc;
  LT(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
  LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &tA,
                                    sizeof tA));
  LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tB,
                                    sizeof tB));
  cublasLtMatrixLayout_t lw, lx, lo;
  LT(cublasLtMatrixLayoutCreate(&lw, CUDA_R_16BF, c.k, c.n, c.k));
  LT(cublasLtMatrixLayoutCreate(&lx, CUDA_R_16BF, c.k, c.m, c.k));
  LT(cublasLtMatrixLayoutCreate(&lo, CUDA_R_16BF, c.n, c.m, c.n));
  if (c.batch > 1) {
    int32_t b = c.batch;
    int64_t sw = c.n * c.k, sx = 0, so = c.n * c.m;
    for (auto l : {lw, lx, lo})
      LT(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                          &b, sizeof b));
    LT(cublasLtMatrixLayoutSetAttribute(
        lw, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sw, sizeof sw));
    LT(cublasLtMatrixLayoutSetAttribute(
        lx, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sx, sizeof sx));
    LT(cublasLtMatrixLayoutSetAttribute(
        lo, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &so, sizeof so));
  }
  cublasLtMatmulPreference_t pref;
  LT(cublasLtMatmulPreferenceCreate(&pref));
  uint64_t w = kWs;
  LT(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &w, sizeof w));
  cublasLtMatmulHeuristicResult_t res[16];
  int found = 0;
  LT(cublasLtMatmulAlgoGetHeuristic(lt, desc, lw, lx, lo, lo, pref, 16, res,
                                    &found));
  size_t wBytes = size_t(c.n) * c.k * 2 * c.batch;
  int copies = copiesFor(wBytes);
  size_t stride = wBytes / 2;
  const float alpha = 1.f, beta = 0.f;
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  LtResult r;
  r.found = found;
  const int reps = 24;
  for (int i = 0; i < found; ++i) {
    auto run = [&](int it) {
      const bf16 *wp = pool + size_t(it % copies) * stride;
      return cublasLtMatmul(lt, desc, &alpha, wp, lw, xbuf, lx, &beta, obuf,
                            lo, obuf, lo, &res[i].algo, ws, kWs, stream);
    };
    if (run(0) != CUBLAS_STATUS_SUCCESS)
      continue;
    run(1);
    CK(cudaEventRecord(e0, stream));
    for (int it = 0; it < reps; ++it)
      run(it + 2);
    CK(cudaEventRecord(e1, stream));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    double us = ms * 1000.0 / reps;
    if (i == 0)
      r.top1 = us;
    if (r.bestIdx < 0 || us < r.best) {
      r.best = us;
      r.bestIdx = i;
    }
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(lw);
  cublasLtMatrixLayoutDestroy(lx);
  cublasLtMatrixLayoutDestroy(lo);
  cublasLtMatmulDescDestroy(desc);
  return r;
}

template <int MT, int WARPS, int U, class Out, bool Swiglu>
void launchStream(const StreamArgs &a, bool pdl) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(unsigned(a.tiles));
  cfg.blockDim = dim3(WARPS * 32);
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl ? 1 : 0;
  CK(cudaLaunchKernelEx(&cfg, streamGemmKernel<MT, WARPS, U, Out, Swiglu>, a));
}

using Launcher = void (*)(const StreamArgs &, bool);

template <int WARPS, int U, bool Swiglu> Launcher pickMT(int m) {
  if (m <= 8)
    return launchStream<1, WARPS, U, bf16, Swiglu>;
  if (m <= 16)
    return launchStream<2, WARPS, U, bf16, Swiglu>;
  return launchStream<4, WARPS, U, bf16, Swiglu>;
}

Launcher pick(int variant, int m, bool swiglu) {
  switch (variant) {
  case 0:
    return swiglu ? pickMT<8, 4, true>(m) : pickMT<8, 4, false>(m);
  case 1:
    return swiglu ? pickMT<16, 4, true>(m) : pickMT<16, 4, false>(m);
  default:
    return swiglu ? pickMT<8, 8, true>(m) : pickMT<8, 8, false>(m);
  }
}
const char *variantName[] = {"w8u4", "w16u4", "w8u8"};

StreamArgs makeArgs(const std::vector<int64_t> &ns, int64_t k, int m,
                    bool swiglu, const bf16 *w, bf16 *out) {
  StreamArgs a{};
  int tiles = 0;
  const bf16 *wp = w;
  bf16 *op = out;
  int64_t ldo = 0;
  for (int64_t n : ns)
    ldo += n;
  if (swiglu)
    ldo = ns[0];
  for (size_t i = 0; i < ns.size(); ++i) {
    a.s[i] = GemvTarget{wp, swiglu ? out : op, nullptr, ns[i],
                        swiglu ? ns[0] : ns[i]};
    a.firstTile[i] = tiles;
    if (!swiglu || i == 0)
      tiles += int((ns[i] + 15) / 16);
    wp += ns[i] * k;
    op += ns[i] * m; // separate outputs back to back
  }
  a.count = int(ns.size());
  a.tiles = tiles;
  a.x = xbuf;
  a.ldx = k;
  a.k = k;
  a.m = m;
  (void)ldo;
  return a;
}

double timeStream(const std::vector<int64_t> &ns, int64_t k, int m,
                  bool swiglu, int variant) {
  size_t wBytes = 0;
  for (int64_t n : ns)
    wBytes += size_t(n) * k * 2;
  int copies = copiesFor(wBytes);
  Launcher L = pick(variant, m, swiglu);
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  const int reps = 24;
  for (int it = 0; it < 2; ++it)
    L(makeArgs(ns, k, m, swiglu, pool + (it % copies) * (wBytes / 2), obuf),
      false);
  CK(cudaEventRecord(e0, stream));
  for (int it = 0; it < reps; ++it)
    L(makeArgs(ns, k, m, swiglu, pool + ((it + 2) % copies) * (wBytes / 2),
               obuf),
      false);
  CK(cudaEventRecord(e1, stream));
  CK(cudaEventSynchronize(e1));
  CK(cudaGetLastError());
  float ms;
  CK(cudaEventElapsedTime(&ms, e0, e1));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return ms * 1000.0 / reps;
}

float bf(bf16 v) { return __bfloat162float(v); }

/// StreamGemm against a double-precision host loop on one shape (fresh
/// random data, poisoned output): returns ||diff|| / ||ref||, -1 when an
/// element was left unwritten.
double checkStream(const std::vector<int64_t> &ns, int64_t k, int m,
                   bool swiglu, int variant) {
  size_t wElems = 0;
  for (int64_t n : ns)
    wElems += size_t(n) * k;
  static uint64_t seed = 100;
  fillKernel<<<1024, 256, 0, stream>>>(pool, wElems, ++seed);
  fillKernel<<<256, 256, 0, stream>>>(xbuf, size_t(m) * k, ++seed);
  size_t outElems = swiglu ? size_t(ns[0]) * m : 0;
  if (!swiglu)
    for (int64_t n : ns)
      outElems += size_t(n) * m;
  CK(cudaMemsetAsync(obuf, 0xff, outElems * 2, stream)); // NaN poison
  pick(variant, m, swiglu)(makeArgs(ns, k, m, swiglu, pool, obuf), false);
  CK(cudaStreamSynchronize(stream));
  CK(cudaGetLastError());
  std::vector<bf16> hw(wElems), hx(size_t(m) * k), ho(outElems);
  CK(cudaMemcpy(hw.data(), pool, wElems * 2, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(hx.data(), xbuf, hx.size() * 2, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(ho.data(), obuf, outElems * 2, cudaMemcpyDeviceToHost));
  auto dot = [&](size_t wrow, int mi) {
    double s = 0;
    for (int64_t kk = 0; kk < k; ++kk)
      s += double(bf(hw[wrow * k + kk])) * bf(hx[size_t(mi) * k + kk]);
    return s;
  };
  double num = 0, den = 0;
  if (swiglu) {
    int64_t n = ns[0];
    for (int mi = 0; mi < m; ++mi)
      for (int64_t r = 0; r < n; ++r) {
        double gv = dot(r, mi), uv = dot(n + r, mi);
        double ref = gv / (1 + std::exp(-gv)) * uv;
        float got = bf(ho[size_t(mi) * n + r]);
        if (std::isnan(got))
          return -1;
        num += (got - ref) * (got - ref);
        den += ref * ref;
      }
  } else {
    size_t wrow = 0, obase = 0;
    for (int64_t n : ns) {
      for (int mi = 0; mi < m; ++mi)
        for (int64_t r = 0; r < n; ++r) {
          double ref = dot(wrow + r, mi);
          float got = bf(ho[obase + size_t(mi) * n + r]);
          if (std::isnan(got))
            return -1;
          num += (got - ref) * (got - ref);
          den += ref * ref;
        }
      wrow += n;
      obase += size_t(n) * m;
    }
  }
  return std::sqrt(num / den);
}

struct Shape {
  const char *name;
  int64_t hidden, q, kv, inter;
};

void measureCopy() {
  size_t bytes = size_t(1) << 30;
  void *a, *b;
  CK(cudaMalloc(&a, bytes));
  CK(cudaMalloc(&b, bytes));
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream));
  CK(cudaEventRecord(e0, stream));
  for (int i = 0; i < 5; ++i)
    CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream));
  CK(cudaEventRecord(e1, stream));
  CK(cudaEventSynchronize(e1));
  float ms;
  CK(cudaEventElapsedTime(&ms, e0, e1));
  copyGBs = 2.0 * bytes * 5 / (ms * 1e-3) / 1e9;
  cudaFree(a);
  cudaFree(b);
}

/// A 16-layer decode chain of the ~1B shape at M rows: per layer q|k|v,
/// o, gate|up+SwiGLU, down as StreamGemm launches, captured in a graph,
/// with or without programmatic dependent launch between them.
double chain(const Shape &s, int m, bool pdl, int variant) {
  int64_t H = s.hidden;
  std::vector<int64_t> qkv = {s.q + 2 * s.kv};
  size_t perLayer = size_t(s.q + 2 * s.kv) * H + size_t(H) * s.q +
                    size_t(2 * s.inter) * H + size_t(H) * s.inter;
  const int layers = 16;
  if (perLayer * layers > poolElems)
    return -1;
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  bf16 *w = pool;
  for (int l = 0; l < layers; ++l) {
    // Activations ping-pong through xbuf/obuf2 (values are irrelevant).
    StreamArgs a = makeArgs({s.q + 2 * s.kv}, H, m, false, w, obuf);
    a.x = xbuf;
    pick(variant, m, false)(a, pdl);
    w += (s.q + 2 * s.kv) * H;
    StreamArgs o = makeArgs({H}, s.q, m, false, w, obuf2);
    o.x = obuf;
    pick(variant, m, false)(o, pdl);
    w += H * s.q;
    StreamArgs gu = makeArgs({s.inter, s.inter}, H, m, true, w, obuf);
    gu.x = obuf2;
    pick(variant, m, true)(gu, pdl);
    w += 2 * s.inter * H;
    StreamArgs d = makeArgs({H}, s.inter, m, false, w, xbuf);
    d.x = obuf;
    pick(variant, m, false)(d, pdl);
    w += H * s.inter;
  }
  CK(cudaStreamEndCapture(stream, &graph));
  CK(cudaGraphInstantiate(&exec, graph, 0));
  CK(cudaGraphLaunch(exec, stream));
  CK(cudaStreamSynchronize(stream));
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  CK(cudaEventRecord(e0, stream));
  const int reps = 20;
  for (int i = 0; i < reps; ++i)
    CK(cudaGraphLaunch(exec, stream));
  CK(cudaEventRecord(e1, stream));
  CK(cudaEventSynchronize(e1));
  float ms;
  CK(cudaEventElapsedTime(&ms, e0, e1));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return ms * 1000.0 / reps;
}

} // namespace

int main(int argc, char **argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  int dev = 0;
  CK(cudaSetDevice(dev));
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, dev));
  l2Bytes = size_t(prop.l2CacheSize);
  CK(cudaStreamCreate(&stream));
  LT(cublasLtCreate(&lt));
  CK(cudaMalloc(&ws, kWs));
  poolElems = size_t(3) << 30; // 6 GiB of bf16
  CK(cudaMalloc(&pool, poolElems * 2));
  CK(cudaMalloc(&xbuf, size_t(128) * 16384 * 2));
  CK(cudaMalloc(&obuf, size_t(128) * 65536 * 2));
  CK(cudaMalloc(&obuf2, size_t(128) * 65536 * 2));
  fillKernel<<<4096, 256, 0, stream>>>(pool, poolElems, 1);
  fillKernel<<<256, 256, 0, stream>>>(xbuf, size_t(128) * 16384, 2);
  CK(cudaStreamSynchronize(stream));
  measureCopy();
  std::printf("device %s, %d SMs, L2 %zu MiB, copy %.0f GB/s\n", prop.name,
              prop.multiProcessorCount, l2Bytes >> 20, copyGBs);

  // Correctness of every StreamGemm form first.
  int bad = 0;
  for (int variant = 0; variant < 3; ++variant)
    for (int m : {1, 3, 8, 13, 16, 29, 32}) {
      double e1 = checkStream({192, 64, 40}, 256, m, false, variant);
      double e2 = checkStream({200}, 512, m, false, variant);
      double e3 = checkStream({136, 136}, 320, m, true, variant);
      bool ok = e1 >= 0 && e2 >= 0 && e3 >= 0 && e1 < 8e-3 && e2 < 8e-3 &&
                e3 < 8e-3;
      bad += !ok;
      std::printf("check %s m=%d: grouped %.2e single %.2e swiglu %.2e %s\n",
                  variantName[variant], m, e1, e2, e3, ok ? "ok" : "FAIL");
    }
  fillKernel<<<4096, 256, 0, stream>>>(pool, poolElems, 1);
  fillKernel<<<256, 256, 0, stream>>>(xbuf, size_t(128) * 16384, 2);
  CK(cudaStreamSynchronize(stream));

  Shape shapes[] = {{"1B", 2048, 2048, 512, 8192},
                    {"8B", 4096, 4096, 1024, 14336},
                    {"12B", 5120, 4096, 1024, 14336}};
  std::vector<int> ms = quick ? std::vector<int>{1, 8, 16, 32, 64}
                              : std::vector<int>{1, 2, 4, 8, 16, 32, 64, 128};
  std::printf("\n%-4s %-7s %4s %8s %8s %4s %8s %8s %8s %8s %6s\n", "shape",
              "op", "M", "lt-top1", "lt-best", "idx", "w8u4", "w16u4", "w8u8",
              "GB/s*", "%copy");
  for (const Shape &s : shapes) {
    int64_t H = s.hidden;
    struct Op {
      const char *name;
      int64_t n, k;
      int batch;
      std::vector<int64_t> segs;
      bool swiglu;
    } ops[] = {
        {"q", s.q, H, 1, {s.q}, false},
        {"k", s.kv, H, 1, {s.kv}, false},
        {"qkv", s.q + 2 * s.kv, H, 1, {s.q, s.kv, s.kv}, false},
        {"o", H, s.q, 1, {H}, false},
        {"gate", s.inter, H, 1, {s.inter}, false},
        {"gateup", 2 * s.inter, H, 1, {s.inter, s.inter}, true},
        {"gu-bat", s.inter, H, 2, {}, false},
        {"down", H, s.inter, 1, {H}, false},
    };
    for (auto &op : ops)
      for (int m : ms) {
        LtResult r = timeLt({m, op.n, op.k, op.batch});
        double st[3] = {-1, -1, -1};
        if (!op.segs.empty() && m <= 32)
          for (int v = 0; v < 3; ++v)
            st[v] = timeStream(op.segs, op.k, m, op.swiglu, v);
        double best = r.best;
        for (double t : st)
          if (t > 0 && t < best)
            best = t;
        double bytes = double(op.n) * op.k * 2 * op.batch;
        double gbs = bytes / (best * 1e-6) / 1e9;
        std::printf("%-4s %-7s %4d %8.1f %8.1f %4d %8.1f %8.1f %8.1f %8.0f "
                    "%5.0f%%\n",
                    s.name, op.name, m, r.top1, r.best, r.bestIdx, st[0],
                    st[1], st[2], gbs, 100.0 * gbs / copyGBs);
        std::fflush(stdout);
      }
  }

  std::printf("\nchain: 16 layers of the 1B shape (qkv, o, gate|up, down), "
              "graph replay, us per step\n");
  for (int m : {1, 8, 16})
    for (int v = 0; v < 3; ++v) {
      double off = chain(shapes[0], m, false, v);
      double on = chain(shapes[0], m, true, v);
      std::printf("chain M=%d %s: no PDL %.1f us, PDL %.1f us (%.1f%%)\n", m,
                  variantName[v], off, on, 100.0 * (off - on) / off);
    }
  std::printf("checks failed: %d\n", bad);
  return bad ? 1 : 0;
}
