//===- Siblings.cu - decode projections: streaming GEMM, fused siblings ---===//
//
// The projections of a decode step beyond the scalar GEMV's two rows:
//
// * 3..kStreamMaxRows rows: the weight-streaming tensor-core kernel of
//   StreamGemm.cuh, grouped over sibling weights (q|k|v in one launch) and
//   with the SwiGLU in its epilogue (gate and up read by the same warp), so
//   every weight byte is read once at close to copy bandwidth and a layer's
//   projections are four launches. Launched with programmatic dependent
//   launch (Hopper): the next kernel's weight stream starts while this one
//   drains.
// * more rows: cuBLASLt, but sibling weights that lie back to back in the
//   rank's weight storage (q, k, v and gate, up of Hugging Face checkpoints
//   do: the manifest keeps their order and sizes are multiples of 256
//   bytes) are ONE GEMM with N = the sum of their rows: straight into q, k
//   and v when the generated code made them column views of one buffer
//   (Ops.h `columns`), else into the caller's scratch, which one small
//   kernel then splits into their buffers; gate|up's SwiGLU is computed
//   from the two halves of each row. At M = 64 on the 8B shape that
//   replaces three skinny GEMMs (k and v at a third of copy bandwidth) and
//   their split-K reductions by one wide one.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/Device.h"
#include "runtime/gemm/Gemm.h"
#include "runtime/kernels/Gemv.h"
#include "runtime/kernels/Kernels.h"
#include "runtime/kernels/StreamGemm.cuh"

#include <cstdlib>

namespace llmc::rt {

namespace {

using namespace cuda;

LaunchPolicy gPolicy;

/// Most rows the one-GEMM sibling paths take (decode batches and short
/// prefills; longer prefills run a GEMM per weight).
constexpr int64_t kOneGemmMaxRows = 512;

template <int MT, class Out, bool Swiglu>
void launchStream(Rank &r, const StreamArgs &a) {
  constexpr int kWarps = 8, kU = 4;
  launchPdl(r, "stream gemm", streamGemmKernel<MT, kWarps, kU, Out, Swiglu>,
            dim3(unsigned(a.tiles)), dim3(kWarps * 32), 0, a);
}

template <class Out, bool Swiglu>
void dispatchStream(Rank &r, const StreamArgs &a) {
  static_assert(kStreamMaxRows == 32, "instantiate every tile count");
  if (a.m <= 8)
    launchStream<1, Out, Swiglu>(r, a);
  else if (a.m <= 16)
    launchStream<2, Out, Swiglu>(r, a);
  else
    launchStream<4, Out, Swiglu>(r, a);
}

/// Whether the streaming kernel takes activations x [m, k] (ld ldx).
bool streamApplies(const bf16 *x, int64_t ldx, int64_t k, int64_t m) {
  static const bool enabled = envOnOff("LLMC_STREAM_GEMM") != 0;
  return enabled && m > kGemvMaxRows && m <= gPolicy.streamMaxRows &&
         m <= kStreamMaxRows && k >= 32 && k % 32 == 0 && ldx % 8 == 0 &&
         isAligned(x, 16);
}

/// out[m, n] of row `row` of segment outputs laid side by side in `scratch`
/// [rows, total]: q|k|v back into their own buffers.
struct SplitArgs {
  bf16 *out[kStreamMaxSegs];
  int64_t first[kStreamMaxSegs + 1]; // column where each segment starts
  int count;
  const bf16 *scratch;
  int64_t total;
};

__global__ void splitColumnsKernel(SplitArgs a) {
  // Launched with PDL (Launch.cuh): the next kernel (the attention) reads
  // its plan and first cached tile while this one copies.
  pdlLaunchDependents();
  pdlWait();
  int64_t row = blockIdx.y;
  const uint4 *src =
      reinterpret_cast<const uint4 *>(a.scratch + row * a.total);
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
       c < a.total / 8; c += int64_t(gridDim.x) * blockDim.x) {
    int64_t col = c * 8;
    int s = 0;
#pragma unroll
    for (int i = 1; i < kStreamMaxSegs; ++i)
      if (i < a.count && col >= a.first[i])
        s = i;
    int64_t n = a.first[s + 1] - a.first[s];
    reinterpret_cast<uint4 *>(a.out[s] + row * n + (col - a.first[s]))[0] =
        src[c];
  }
}

/// out[m, j] = silu(g) * u with g, u the two halves of scratch row m
/// ([rows, 2n]), Hugging Face's roundings (act(gate) is a bf16 tensor).
__global__ void swigluHalvesKernel(bf16 *out, const bf16 *scratch, int64_t n,
                                   int64_t rows) {
  pdlLaunchDependents();
  pdlWait();
  int64_t per = n / 8;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
       i < rows * per; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t row = i / per, c = i % per;
    const uint4 *g = reinterpret_cast<const uint4 *>(scratch + row * 2 * n);
    const uint4 *u = reinterpret_cast<const uint4 *>(scratch + row * 2 * n + n);
    reinterpret_cast<uint4 *>(out + row * n)[c] = swiglu8(g[c], u[c]);
  }
}

/// out[m, N] = in[m, K] W[N, K]^T by cuBLASLt, bf16 out, leading dim ldo.
void gemmInto(Rank &r, const char *op, void *out, int64_t ldo, Act in,
              const bf16 *w, int64_t n) {
  gemm::MatmulNT p;
  p.m = in.rows;
  p.n = n;
  p.k = in.cols;
  p.a = static_cast<const bf16 *>(in.data);
  p.lda = in.cols;
  p.b = w;
  p.ldb = in.cols;
  p.out = out;
  p.ldo = ldo;
  std::string err =
      gemm::matmulNT(r.lt(), r.stream(), r.workspace(), r.workspaceBytes(), p);
  if (!err.empty())
    failf(r, op, "%s", err.c_str());
}

int blocksFor(int64_t n) {
  int64_t b = (n + 255) / 256, cap = int64_t(smCount()) * 8;
  return int(b < 1 ? 1 : (b > cap ? cap : b));
}

} // namespace

void setLaunchPolicy(const LaunchPolicy &p) { gPolicy = p; }
LaunchPolicy launchPolicy() { return gPolicy; }

int decodeAttentionBlocksPerSm() {
  static const int env = [] {
    const char *v = std::getenv("LLMC_DECODE_BLOCKS_PER_SM");
    int n = v && *v ? std::atoi(v) : 0;
    return n >= 1 && n <= 64 ? n : 0;
  }();
  int n = env > 0 ? env : gPolicy.decodeAttentionBlocksPerSm;
  return n < 1 ? 1 : n;
}

bool wgmmaPrefill() {
  static const int env = cuda::envOnOff("LLMC_WGMMA_PREFILL");
  bool on = env >= 0 ? env == 1 : gPolicy.wgmmaPrefill;
  return on && cuda::computeCapability() == 90; // sm_90a code
}

namespace cuda {

bool pdlActive() {
  static const bool disabled = envOnOff("LLMC_PDL") == 0;
  if (disabled || !gPolicy.pdl)
    return false;
  return computeCapability() >= 90; // programmatic dependent launch
}

bool streamGemmGroup(Rank &r, bool outF32, const GemvTarget *targets,
                     int count, const bf16 *x, int64_t ldx, int64_t k,
                     int64_t m) {
  if (decodeGemmGroup(r, outF32, targets, count, x, ldx, k, m))
    return true;
  if (!streamApplies(x, ldx, k, m) || count < 1 || count > kStreamMaxSegs)
    return false;
  StreamArgs a{};
  int64_t tiles = 0;
  for (int i = 0; i < count; ++i) {
    const GemvTarget &t = targets[i];
    if (t.n < 1 || !isAligned(t.w, 16))
      return false;
    a.s[i] = t;
    a.firstTile[i] = int(tiles);
    tiles += (t.n + 15) / 16;
  }
  if (tiles > int64_t(1) << 30)
    return false;
  a.count = count;
  a.tiles = int(tiles);
  a.x = x;
  a.ldx = ldx;
  a.k = k;
  a.m = int(m);
  if (outF32)
    dispatchStream<float, false>(r, a);
  else
    dispatchStream<bf16, false>(r, a);
  checkLaunch(r, outF32 ? "stream gemm (fp32 out)" : "stream gemm");
  return true;
}

bool streamGemmSwiglu(Rank &r, bf16 *out, int64_t ldo, const bf16 *x,
                      int64_t ldx, const bf16 *gate, const bf16 *up, int64_t n,
                      int64_t k, int64_t m) {
  if (decodeGemmSwiglu(r, out, ldo, x, ldx, gate, up, n, k, m))
    return true;
  if (!streamApplies(x, ldx, k, m) || n < 1 || n > int64_t(1) << 30 ||
      !isAligned(gate, 16) || !isAligned(up, 16))
    return false;
  StreamArgs a{};
  a.s[0] = GemvTarget{gate, out, nullptr, n, ldo};
  a.s[1] = GemvTarget{up, out, nullptr, n, ldo};
  a.count = 2;
  a.tiles = int((n + 15) / 16);
  a.x = x;
  a.ldx = ldx;
  a.k = k;
  a.m = int(m);
  dispatchStream<bf16, true>(r, a);
  checkLaunch(r, "stream gemm (gate, up, SwiGLU)");
  return true;
}

/// Weights w[0..n) stored back to back with equal columns.
static bool backToBack(const Weight *ws, int n) {
  for (int i = 1; i < n; ++i)
    if (ws[i].cols != ws[0].cols ||
        ws[i].data != ws[i - 1].data + ws[i - 1].rows * ws[i - 1].cols)
      return false;
  return true;
}

/// Whether outs[0..n) are adjacent column views of one buffer of `total`
/// columns, in order: one GEMM writes them all.
static bool adjacentViews(const Act *outs, int n, int64_t total) {
  const bf16 *base = static_cast<const bf16 *>(outs[0].data);
  int64_t first = 0;
  for (int i = 0; i < n; ++i) {
    if (rowStride(outs[i]) != total ||
        static_cast<const bf16 *>(outs[i].data) != base + first)
      return false;
    first += outs[i].cols;
  }
  return first == total;
}

bool siblingsOneGemm(Rank &r, const char *op, int n, const Act *outs, Act in,
                     const Weight *ws, const Weight *const *biases,
                     Act scratch) {
  int64_t total = 0;
  bool views = false;
  for (int i = 0; i < n; ++i) {
    // A bias would be added after the GEMM's rounding: one rounding more
    // than cuBLASLt's epilogue; such siblings take a GEMM each.
    if (biases[i] || ws[i].rows % 8 != 0 || !aligned16(outs[i].data))
      return false;
    total += ws[i].rows;
    views = views || rowStride(outs[i]) != outs[i].cols;
  }
  if (n < 2 || n > kStreamMaxSegs || !backToBack(ws, n))
    return false;
  // Outputs side by side in one buffer: the GEMM writes them, no split, at
  // any row count.
  if (views) {
    if (!adjacentViews(outs, n, total))
      return false;
    gemmInto(r, op, outs[0].data, total, in, ws[0].data, total);
    return true;
  }
  // Decode-sized rows only: for a prefill the split's extra pass over
  // [rows, sum of N] costs more than the GEMMs it merges save (H200,
  // 8B, 8192 rows: TTFT 173.6 vs 163.9 ms with it on every row count).
  if (in.rows > kOneGemmMaxRows || !scratch.data || scratch.rows != in.rows ||
      scratch.cols != total || !aligned16(scratch.data))
    return false;
  gemmInto(r, op, scratch.data, total, in, ws[0].data, total);
  SplitArgs a{};
  a.count = n;
  a.first[0] = 0;
  for (int i = 0; i < n; ++i) {
    a.out[i] = static_cast<bf16 *>(outs[i].data);
    a.first[i + 1] = a.first[i] + ws[i].rows;
  }
  a.scratch = static_cast<const bf16 *>(scratch.data);
  a.total = total;
  dim3 grid(unsigned((total / 8 + 255) / 256), unsigned(in.rows));
  launchPdl(r, "sibling projections (split)", splitColumnsKernel, grid,
            dim3(256), 0, a);
  return true;
}

bool swigluOneGemm(Rank &r, Act out, Act in, Weight gate, Weight up,
                   Act scratch) {
  if (in.rows > kOneGemmMaxRows)
    return false;
  Weight ws[] = {gate, up};
  int64_t n = gate.rows;
  if (n % 8 != 0 || !backToBack(ws, 2) || !scratch.data ||
      scratch.rows != in.rows || scratch.cols != 2 * n ||
      !aligned16(scratch.data) || !aligned16(out.data))
    return false;
  gemmInto(r, "linearSwiglu", scratch.data, 2 * n, in, gate.data, 2 * n);
  launchPdl(r, "linearSwiglu (SwiGLU of the gate|up GEMM)",
            swigluHalvesKernel, dim3(unsigned(blocksFor(in.rows * n / 8))),
            dim3(256), 0, static_cast<bf16 *>(out.data),
            static_cast<const bf16 *>(scratch.data), n, in.rows);
  return true;
}

} // namespace cuda

} // namespace llmc::rt
