//===- DecodeGemm.cu - launching the Hopper decode GEMM ---------------------===//
//
// Host side of DecodeGemm.cuh: where it applies, the tensor maps of the
// weight and the activations (cuTensorMapEncodeTiled through the runtime's
// driver entry point, so nothing links libcuda), the batch tile and the
// split-K factor, and the launch (a cluster per tile, programmatic
// dependent launch as the other streaming kernels). bf16 weights from
// LaunchPolicy::decodeGemmMinRows rows; FP8 E4M3 weights (W8A16) where
// LaunchPolicy::fp8DecodeGemm (or LLMC_FP8_DECODE_GEMM) turns them on;
// W8A8 (E4M3 weights and x with per-row scales) from 1 row up to
// LaunchPolicy::w8a8DecodeGemmMaxRows (or LLMC_W8A8_DECODE_GEMM=N), beyond
// on cuBLASLt's E4M3 GEMM.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/DecodeGemm.cuh"
#include "runtime/kernels/Gemv.h"
#include "runtime/kernels/Kernels.h"
#include "runtime/kernels/Launch.cuh"

#include <cudaTypedefs.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <mutex>

namespace llmc::rt::cuda {

namespace {

PFN_cuTensorMapEncodeTiled_v12000 encodeFn() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void *p = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000,
                                         cudaEnableDefault,
                                         &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      p = nullptr;
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
  }();
  return fn;
}

/// Map of a row-major matrix [rows, k] (leading dim ld) of bf16 or (fp8)
/// one-byte E4M3 codes, read in boxes of boxRows x 128 bytes with the
/// 128-byte swizzle; rows and k past the matrix read as zeros.
bool encodeMap(CUtensorMap &map, const void *p, bool fp8, int64_t rows,
               int64_t k, int64_t ld, int boxRows) {
  PFN_cuTensorMapEncodeTiled_v12000 fn = encodeFn();
  if (!fn)
    return false;
  const int elemBytes = fp8 ? 1 : 2;
  cuuint64_t dims[2] = {cuuint64_t(k), cuuint64_t(rows)};
  cuuint64_t strides[1] = {cuuint64_t(ld) * elemBytes};
  cuuint32_t box[2] = {cuuint32_t(kDecodeRowBytes / elemBytes),
                       cuuint32_t(boxRows)};
  cuuint32_t elem[2] = {1, 1};
  return fn(&map,
            fp8 ? CU_TENSOR_MAP_DATA_TYPE_UINT8
                : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16,
            2, const_cast<void *>(p), dims, strides, box, elem,
            CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
            CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

/// Fewest rows the kernel takes now: LLMC_DECODE_GEMM (0 off, N from N
/// rows) if set, else the launch policy's.
int64_t minRows() {
  static const int64_t env = envRows("LLMC_DECODE_GEMM");
  int64_t v = env >= 0 ? env : int64_t(launchPolicy().decodeGemmMinRows);
  return v <= 0 ? int64_t(kDecodeMaxRows + 1) : v;
}

/// Whether FP8 weights take the kernel: LLMC_FP8_DECODE_GEMM (0 or 1) if
/// set, else the launch policy's fp8DecodeGemm.
bool fp8Enabled() {
  static const int env = envOnOff("LLMC_FP8_DECODE_GEMM");
  return env >= 0 ? env == 1 : launchPolicy().fp8DecodeGemm;
}

/// Most rows of a W8A8 projection the kernel takes (0: none):
/// LLMC_W8A8_DECODE_GEMM=N if set, else the launch policy's
/// w8a8DecodeGemmMaxRows.
int64_t a8MaxRows() {
  static const int64_t env = envRows("LLMC_W8A8_DECODE_GEMM");
  return env >= 0 ? env : int64_t(launchPolicy().w8a8DecodeGemmMaxRows);
}

/// Ring stages: the instance's most, or LLMC_DECODE_GEMM_STAGES (2 up to
/// that; A/B measurements of the pipeline depth).
int stagesFor(int most) {
  static const int64_t env = envRows("LLMC_DECODE_GEMM_STAGES");
  return env >= 2 && env < most ? int(env) : most;
}

/// Split-K factor of `tiles` weight tiles over kBlocks k blocks (stages):
/// the fewest splits that minimise the k blocks of the busiest SM, each
/// split keeping 4 k blocks or more so the pipeline fills; a split costs
/// about one k block (the cluster reduction). `resident[s]` is how many
/// clusters of s blocks the GPU runs at once (cudaOccupancyMaxActiveClusters:
/// clusters are placed within one GPC, so fewer of the larger ones fit than
/// SMs / s; 0: none, -1: unknown, taken as SMs / s); the tiles beyond run
/// in later waves.
int chooseSplits(int64_t tiles, int64_t kBlocks, const int (&resident)[9]) {
  const int64_t sms = smCount();
  int best = 1;
  int64_t bestCost = -1;
  for (int s = 1; s <= 8; ++s) {
    if (s > 1 && kBlocks / s < 4)
      break;
    if (resident[s] == 0)
      continue; // a cluster of s blocks does not fit
    int64_t slots = resident[s] > 0 ? resident[s] : sms / s;
    if (slots < 1)
      continue;
    int64_t waves = (tiles + slots - 1) / slots;
    int64_t cost = waves * ((kBlocks + s - 1) / s) + (s > 1 ? 1 : 0);
    if (bestCost < 0 || cost < bestCost) {
      bestCost = cost;
      best = s;
    }
  }
  return best;
}

template <class W, int BN, class Out, bool Swiglu>
bool launchBn(Rank &r, const CUtensorMap &w0, const CUtensorMap &w1,
              const void *x, int64_t ldx, int64_t k, DecodeGemmArgs a) {
  constexpr int WG = decodeWarpgroups<BN>();
  a.rowStep = (Swiglu ? 64 : 128) * WG;
  a.kBlocks = int((k + W::kBk - 1) / W::kBk);
  const int64_t tiles = (a.n + a.rowStep - 1) / a.rowStep;
  CUtensorMap xm;
  if (!encodeMap(xm, x, /*fp8=*/W::kA8, a.m, k, ldx, BN))
    return false;
  auto kernel = decodeGemmKernel<W, BN, Out, Swiglu>;
  constexpr int smemMax = decodeSmemBytes<W, BN>(decodeStages<W, BN>());
  // The shared-memory limit is a per-device attribute of the function.
  constexpr int kMaxDevices = 64;
  static std::atomic<int> raised[kMaxDevices] = {};
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= kMaxDevices)
    return false;
  if (raised[dev].load() == 0)
    raised[dev] = cudaFuncSetAttribute(
                      kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                      smemMax) == cudaSuccess
                      ? 1
                      : -1;
  if (raised[dev].load() < 0)
    return false;
  a.stages = stagesFor(decodeStages<W, BN>());
  const int smem = decodeSmemBytes<W, BN>(a.stages);
  cudaLaunchConfig_t cfg{};
  cfg.blockDim = dim3(128 * WG);
  cfg.dynamicSmemBytes = smem;
  cfg.stream = r.stream();
  cudaLaunchAttribute attr[2];
  attr[0].id = cudaLaunchAttributeClusterDimension;
  attr[0].val.clusterDim.y = 1;
  attr[0].val.clusterDim.z = 1;
  // Clusters of each size that fit at once (0: none, -1: unknown), asked
  // once per device for this instance (its ring depth, hence its shared
  // memory, is fixed for the process; a host query that runs nothing, so
  // graph capture is fine; ranks may be threads of one process).
  static std::mutex fitMutex;
  static int resident[kMaxDevices][9] = {};
  static bool asked[kMaxDevices] = {};
  int fit[9];
  {
    std::lock_guard<std::mutex> lock(fitMutex);
    if (!asked[dev]) {
      for (int s = 1; s <= 8; ++s) {
        cfg.gridDim = dim3(unsigned(s));
        attr[0].val.clusterDim.x = unsigned(s);
        cfg.attrs = attr;
        cfg.numAttrs = 1;
        int n = 0;
        if (cudaOccupancyMaxActiveClusters(&n, kernel, &cfg) != cudaSuccess) {
          cudaGetLastError();
          n = -1;
        }
        resident[dev][s] = n;
      }
      asked[dev] = true;
    }
    std::memcpy(fit, resident[dev], sizeof fit);
  }
  a.splits = chooseSplits(tiles, a.kBlocks, fit);
  cfg.gridDim = dim3(unsigned(tiles * a.splits));
  attr[0].val.clusterDim.x = unsigned(a.splits);
  attr[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[1].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  // A driver that refuses programmatic dependent launch of a cluster
  // kernel gets plain launches from then on.
  static std::atomic<bool> pdlRefused{false};
  cfg.numAttrs = pdlActive() && !pdlRefused.load() ? 2 : 1;
  cudaError_t e = cudaLaunchKernelEx(&cfg, kernel, w0, w1, xm, a);
  if (e != cudaSuccess && cfg.numAttrs == 2) {
    cudaGetLastError();
    pdlRefused = true;
    cfg.numAttrs = 1;
    e = cudaLaunchKernelEx(&cfg, kernel, w0, w1, xm, a);
  }
  if (e != cudaSuccess)
    failf(r, "decode gemm", "launch failed: %s (%s)", cudaGetErrorName(e),
          cudaGetErrorString(e));
  return true;
}

template <class W, class Out, bool Swiglu>
bool launchW(Rank &r, const CUtensorMap &w0, const CUtensorMap &w1,
             const void *x, int64_t ldx, int64_t k, const DecodeGemmArgs &a) {
  static_assert(kDecodeMaxRows == 128, "instantiate every batch tile");
  if (a.m <= 8)
    return launchBn<W, 8, Out, Swiglu>(r, w0, w1, x, ldx, k, a);
  if (a.m <= 16)
    return launchBn<W, 16, Out, Swiglu>(r, w0, w1, x, ldx, k, a);
  if (a.m <= 32)
    return launchBn<W, 32, Out, Swiglu>(r, w0, w1, x, ldx, k, a);
  if (a.m <= 64)
    return launchBn<W, 64, Out, Swiglu>(r, w0, w1, x, ldx, k, a);
  return launchBn<W, 128, Out, Swiglu>(r, w0, w1, x, ldx, k, a);
}

/// a.xScale set: W8A8 (fp8 weights and x); else bf16 x with bf16 or (fp8)
/// E4M3 weights.
template <class Out, bool Swiglu>
bool launch(Rank &r, bool fp8, const CUtensorMap &w0, const CUtensorMap &w1,
            const void *x, int64_t ldx, int64_t k, const DecodeGemmArgs &a) {
  if (a.xScale)
    return fp8FastAccum()
               ? launchW<DecodeA8Fast, Out, Swiglu>(r, w0, w1, x, ldx, k, a)
               : launchW<DecodeA8, Out, Swiglu>(r, w0, w1, x, ldx, k, a);
  return fp8 ? launchW<DecodeE4m3, Out, Swiglu>(r, w0, w1, x, ldx, k, a)
             : launchW<DecodeBf16, Out, Swiglu>(r, w0, w1, x, ldx, k, a);
}

/// Shared conditions on x [m, k] (ld ldx) for bf16 or (fp8) E4M3 weights,
/// bf16 x or (a8, with fp8) E4M3 x: the copy engine needs 16-byte row
/// strides.
bool applies(bool fp8, bool a8, const void *x, int64_t ldx, int64_t k,
             int64_t m) {
  const int64_t least =
      a8 ? 1 : fp8 ? (fp8Enabled() ? 1 : kDecodeMaxRows + 1) : minRows();
  const int64_t most = a8 ? std::min<int64_t>(a8MaxRows(), kDecodeMaxRows)
                          : kDecodeMaxRows;
  const int64_t ldAlign = a8 ? 16 : 8; // elements
  return (!a8 || fp8) && m >= least && m <= most &&
         k >= (fp8 ? 16 : 8) && k % (fp8 ? 16 : 8) == 0 &&
         k < (int64_t(1) << 31) && ldx % ldAlign == 0 && isAligned(x, 16) &&
         computeCapability() == 90; // sm_90a code runs nowhere else
}

/// The weight of target `t` (its bf16 elements or E4M3 codes); `ok` says
/// whether it is aligned for the copy engine and, for codes, has 1 or n
/// scales.
const void *weightOf(const GemvTarget &t, bool &ok) {
  if (!t.fp8) {
    ok = t.w && isAligned(t.w, 16);
    return t.w;
  }
  ok = isAligned(t.fp8, 16) && t.scale &&
       (t.scaleCount == 1 || t.scaleCount == t.n);
  return t.fp8;
}

} // namespace

bool decodeGemmTakes(bool fp8, const bf16 *x, int64_t ldx, int64_t k,
                     int64_t m) {
  return applies(fp8, false, x, ldx, k, m);
}

bool decodeGemmGroup(Rank &r, bool outF32, const GemvTarget *targets,
                     int count, const void *x, int64_t ldx, int64_t k,
                     int64_t m, const float *xScale) {
  if (count < 1 || count > kDecodeMaxSegs)
    return false;
  const bool fp8 = targets[0].fp8 != nullptr;
  if (!applies(fp8, xScale != nullptr, x, ldx, k, m))
    return false;
  // One map over weights that lie back to back (q|k|v as the runtime
  // stores them); otherwise a launch per weight.
  const int elemBytes = fp8 ? 1 : 2;
  bool contiguous = true;
  for (int i = 1; i < count; ++i) {
    bool ok0 = false, ok1 = false;
    const char *prev = static_cast<const char *>(weightOf(targets[i - 1], ok0));
    const char *cur = static_cast<const char *>(weightOf(targets[i], ok1));
    if ((targets[i].fp8 != nullptr) != fp8)
      return false;
    contiguous = contiguous && cur == prev + targets[i - 1].n * k * elemBytes;
  }
  if (!contiguous && count > 1) {
    for (int i = 0; i < count; ++i)
      if (!decodeGemmGroup(r, outF32, targets + i, 1, x, ldx, k, m, xScale))
        return false; // the caller recomputes every output: harmless
    return true;
  }
  DecodeGemmArgs a{};
  int64_t rows = 0;
  for (int i = 0; i < count; ++i) {
    const GemvTarget &t = targets[i];
    bool ok = false;
    weightOf(t, ok);
    if (t.n < 1 || !ok)
      return false;
    a.s[i] = DecodeSeg{t.out,     t.bias, t.ldo, int(rows), int(t.n),
                       t.scale, t.scaleCount > 1};
    rows += t.n;
    if (rows >= (int64_t(1) << 30))
      return false;
  }
  bool ok = false;
  CUtensorMap w;
  if (!encodeMap(w, weightOf(targets[0], ok), fp8, rows, k, k, 64))
    return false;
  a.count = count;
  a.n = int(rows);
  a.m = int(m);
  a.xScale = xScale;
  ok = outF32 ? launch<float, false>(r, fp8, w, w, x, ldx, k, a)
              : launch<bf16, false>(r, fp8, w, w, x, ldx, k, a);
  if (ok)
    checkLaunch(r, outF32 ? "decode gemm (fp32 out)" : "decode gemm");
  return ok;
}

bool decodeGemmSwiglu(Rank &r, bf16 *out, int64_t ldo, const void *x,
                      int64_t ldx, GemvTarget gate, GemvTarget up, int64_t k,
                      int64_t m, const float *xScale) {
  const bool fp8 = gate.fp8 != nullptr;
  bool okGate = false, okUp = false;
  const void *g = weightOf(gate, okGate), *u = weightOf(up, okUp);
  const int64_t n = gate.n;
  if ((up.fp8 != nullptr) != fp8 || up.n != n || !okGate || !okUp ||
      !applies(fp8, xScale != nullptr, x, ldx, k, m) || n < 1 ||
      n >= (int64_t(1) << 30))
    return false;
  CUtensorMap gm, um;
  if (!encodeMap(gm, g, fp8, n, k, k, 64) ||
      !encodeMap(um, u, fp8, n, k, k, 64))
    return false;
  DecodeGemmArgs a{};
  a.s[0] = DecodeSeg{out, nullptr, ldo, 0, int(n), gate.scale,
                     gate.scaleCount > 1};
  // Only the scales of s[1] are read (count 1: one output).
  a.s[1] = DecodeSeg{out, nullptr, ldo, 0, int(n), up.scale,
                     up.scaleCount > 1};
  a.count = 1;
  a.n = int(n);
  a.m = int(m);
  a.xScale = xScale;
  if (!launch<bf16, true>(r, fp8, gm, um, x, ldx, k, a))
    return false;
  checkLaunch(r, "decode gemm (gate, up, SwiGLU)");
  return true;
}

bool decodeGemmSwiglu(Rank &r, bf16 *out, int64_t ldo, const bf16 *x,
                      int64_t ldx, const bf16 *gate, const bf16 *up, int64_t n,
                      int64_t k, int64_t m) {
  return decodeGemmSwiglu(r, out, ldo, x, ldx,
                          GemvTarget{gate, out, nullptr, n, ldo},
                          GemvTarget{up, out, nullptr, n, ldo}, k, m);
}

} // namespace llmc::rt::cuda
