//===- Sampling.cu - seeded temperature / top-k / top-p sampling ----------===//
//
// The reference (lib/reference sample()) sorts the vocabulary by
// probability. Sorting 128K entries per row would need scratch the size of
// the logits and several kernels; instead one block per row finds the
// three cut points it needs - the top-k boundary, the top-p boundary and
// the element where the running mass passes the random draw - each with a
// radix select over an order-preserving 32-bit key of the logit (4 passes
// of 8 bits, histogramming counts or masses), then a block-wide scan in id
// order among equal keys, which is exactly the "lower id first" tie rule of
// a stable sort. Masses are exp((l - max) / T) in 2^-40 fixed point summed
// with integer atomics: exact and order-independent, so a seed always gives
// the same token.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/Common.cuh"
#include "runtime/kernels/Kernels.h"
#include "runtime/kernels/Launch.cuh"

#include <cmath>

namespace llmc::rt {

using namespace cuda;

namespace {

using u64 = unsigned long long;
constexpr int kThreads = 1024;

/// A prefix of the (key desc, id asc) order: the elements with key > key,
/// and those with key == key and id <= id.
struct Cut {
  uint32_t key;
  int64_t id;
};

__device__ __forceinline__ bool inCut(uint32_t key, int64_t id, Cut c) {
  return key > c.key || (key == c.key && id <= c.id);
}

/// Larger float -> larger key; NaN -> 0, which no cut includes.
__device__ __forceinline__ uint32_t orderKey(float x) {
  if (isnan(x))
    return 0u;
  uint32_t b = __float_as_uint(x);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct Row {
  const float *logits;
  int64_t vocab;
  float maxLogit, invT;
  /// Element weight: 1 (counting) or its unnormalised probability in
  /// 2^-40 units.
  __device__ __forceinline__ u64 mass(float l) const {
    // l == max also covers a row of -inf logits (every token equally likely).
    float w = l == maxLogit ? 1.f : expf((l - maxLogit) * invT);
    return __float2ull_rn(w * 0x1p40f);
  }
};

struct Shared {
  u64 hist[256];
  u64 warpTotal[32];
  u64 above;
  unsigned digit;
  int found;
  int64_t crossId;
};

/// Inclusive block scan of v; `total` gets the block's sum.
__device__ u64 blockScan(u64 v, u64 &total, Shared &sm) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  u64 x = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    u64 y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o)
      x += y;
  }
  if (lane == 31)
    sm.warpTotal[warp] = x;
  __syncthreads();
  if (warp == 0) {
    u64 t = lane < kThreads / 32 ? sm.warpTotal[lane] : 0;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      u64 y = __shfl_up_sync(0xffffffffu, t, o);
      if (lane >= o)
        t += y;
    }
    sm.warpTotal[lane] = t;
  }
  __syncthreads();
  u64 prefix = warp > 0 ? sm.warpTotal[warp - 1] : 0;
  total = sm.warpTotal[31];
  __syncthreads();
  return x + prefix;
}

/// Walks the members of `in` in (key desc, id asc) order accumulating
/// weights (1 each when `count`, else masses) and finds the first element
/// where the running sum reaches `target` (>=, or > when `strict`). On
/// success, `out` is the prefix ending at that element and `acc` its
/// weight. Returns false when the members' total never gets there.
__device__ bool selectCrossing(const Row &row, Cut in, bool count, u64 target,
                               bool strict, Cut &out, u64 &acc, Shared &sm) {
  auto cross = [&](u64 x) { return strict ? x > target : x >= target; };
  int tid = threadIdx.x, lane = tid & 31;
  uint32_t prefix = 0, mask = 0;
  if (tid == 0)
    sm.above = 0;
  for (int pass = 0; pass < 4; ++pass) {
    int shift = 24 - 8 * pass;
    for (int i = tid; i < 256; i += kThreads)
      sm.hist[i] = 0;
    __syncthreads();
    // Logits of one row share a few exponents, so most elements land in a
    // handful of bins: lanes with the same bin add their weights with
    // shuffles first, one atomic per bin per warp instead of per element.
    for (int64_t base = 0; base < row.vocab; base += kThreads) {
      int64_t i = base + tid;
      bool active = false;
      unsigned bin = 0;
      u64 w = 0;
      if (i < row.vocab) {
        float l = row.logits[i];
        uint32_t key = orderKey(l);
        if ((key & mask) == prefix && inCut(key, i, in)) {
          active = true;
          bin = (key >> shift) & 255u;
          w = count ? 1ull : row.mass(l);
        }
      }
      unsigned act = __ballot_sync(0xffffffffu, active);
      if (active) {
        unsigned peers = __match_any_sync(act, bin);
        u64 sum = 0;
        for (unsigned m = peers; m; m &= m - 1)
          sum += __shfl_sync(peers, w, __ffs(m) - 1);
        if (lane == __ffs(peers) - 1)
          atomicAdd(&sm.hist[bin], sum);
      }
    }
    __syncthreads();
    if (tid < 32) {
      // Lane L scans bins 255 - 8L down to 248 - 8L: lanes in the order of
      // decreasing keys.
      u64 bins[8], sum = 0;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        bins[j] = sm.hist[255 - 8 * lane - j];
        sum += bins[j];
      }
      u64 incl = sum;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        u64 y = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o)
          incl += y;
      }
      u64 base = sm.above;
      unsigned ballot = __ballot_sync(0xffffffffu, cross(base + incl));
      if (ballot == 0) {
        if (lane == 0)
          sm.found = 0;
      } else if (lane == __ffs(ballot) - 1) {
        u64 run = base + incl - sum;
        for (int j = 0; j < 8; ++j) {
          if (cross(run + bins[j])) {
            sm.digit = 255u - 8u * lane - j;
            sm.above = run;
            break;
          }
          run += bins[j];
        }
        sm.found = 1;
      }
    }
    __syncthreads();
    if (!sm.found)
      return false; // only possible in the first pass: total < target
    prefix |= sm.digit << shift;
    mask |= 255u << shift;
    __syncthreads(); // everyone read digit/found before the next pass
  }

  // Among the members with exactly this key, ids in ascending order.
  u64 base = sm.above;
  if (tid == 0)
    sm.crossId = -1;
  __syncthreads();
  for (int64_t c0 = 0; c0 < row.vocab; c0 += kThreads) {
    int64_t i = c0 + tid;
    u64 w = 0;
    if (i < row.vocab) {
      float l = row.logits[i];
      uint32_t key = orderKey(l);
      if (key == prefix && inCut(key, i, in))
        w = count ? 1ull : row.mass(l);
    }
    u64 total;
    u64 incl = blockScan(w, total, sm);
    if (w > 0 && cross(base + incl) && !cross(base + incl - w)) {
      sm.crossId = i; // exactly one thread: the first crossing
      sm.above = base + incl;
    }
    __syncthreads();
    if (sm.crossId >= 0)
      break;
    base += total;
  }
  if (sm.crossId < 0)
    return false;
  out = Cut{prefix, sm.crossId};
  acc = sm.above;
  __syncthreads(); // sm is reused by the next selection
  return true;
}

__device__ u64 massOf(const Row &row, Cut c, Shared &sm) {
  u64 m = 0;
  for (int64_t i = threadIdx.x; i < row.vocab; i += kThreads) {
    float l = row.logits[i];
    if (inCut(orderKey(l), i, c))
      m += row.mass(l);
  }
  u64 total;
  blockScan(m, total, sm);
  return total;
}

__global__ void __launch_bounds__(kThreads)
    sampleKernel(int64_t *out, const float *logits, int64_t vocab, float invT,
                 float topP, int topK, uint64_t seed) {
  __shared__ Shared sm;
  __shared__ float red[32];
  pdlLaunchDependents();
  pdlWait();
  int64_t r = blockIdx.x;
  Row row{logits + r * vocab, vocab, 0.f, invT};
  float mx = -INFINITY;
  for (int64_t i = threadIdx.x; i < vocab; i += kThreads)
    mx = fmaxf(mx, row.logits[i]);
  mx = warpMax(mx);
  if ((threadIdx.x & 31) == 0)
    red[threadIdx.x >> 5] = mx;
  __syncthreads();
  mx = -INFINITY;
  for (int w = 0; w < kThreads / 32; ++w)
    mx = fmaxf(mx, red[w]);
  row.maxLogit = mx;

  Cut all{0u, -1}; // every non-NaN logit
  Cut kept = all;
  Cut c;
  u64 acc;
  if (topK > 0 && topK < vocab &&
      selectCrossing(row, all, /*count=*/true, u64(topK), false, c, acc, sm))
    kept = c;
  u64 mass = massOf(row, kept, sm);
  if (topP < 1.f) {
    // cumulative / mass >= topP  <=>  cumulative >= ceil(topP * mass); at
    // least one token.
    double t = std::ceil(double(topP) * double(mass));
    u64 target = t < 1.0 ? 1ull : u64(t);
    if (selectCrossing(row, kept, false, target, false, c, acc, sm)) {
      kept = c;
      mass = acc;
    }
  }
  uint64_t bits = splitmix64(seed ^ splitmix64(uint64_t(r)));
  u64 u = u64(double(bits >> 11) * 0x1p-53 * double(mass));
  int64_t token = 0;
  if (selectCrossing(row, kept, false, u, /*strict=*/true, c, acc, sm))
    token = c.id;
  else if (selectCrossing(row, kept, true, 1ull, false, c, acc, sm))
    token = c.id; // no mass at all: the most likely token
  if (threadIdx.x == 0)
    out[r] = token;
}

} // namespace

void sample(Rank &r, int64_t *out, Act logits, float temperature, float topP,
            int topK, uint64_t seed) {
  if (temperature <= 0.f) {
    argmax(r, out, logits);
    return;
  }
  if (logits.cols <= 0)
    failf(r, "sample", "logits [%lld, %lld] have no vocabulary",
          (long long)logits.rows, (long long)logits.cols);
  if (logits.rows == 0)
    return;
  launchPdl(r, "sample", sampleKernel, dim3(unsigned(logits.rows)),
            dim3(kThreads), 0, out, static_cast<const float *>(logits.data),
            logits.cols, 1.f / temperature, topP, topK, seed);
  checkLaunch(r, "sample");
}

} // namespace llmc::rt
