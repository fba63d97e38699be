//===- Moe.cu - MoE router, routed experts and the shared expert ----------===//
//
// Router: logits through cuBLASLt (fp32 out), then one warp per token for
// the fp32 softmax and top-k (ties: lower expert id, as the reference's
// stable sort).
//
// Experts: the token -> expert assignment exists only on the device, so a
// single-block kernel counts the rows of each local expert, lays them out
// expert-sorted and emits the tile list; the grouped GEMM (runtime/gemm)
// then runs gate+up with the SwiGLU fused, and down; a last kernel sums
// each token's k expert outputs weighted by the router, in fp32, in the
// token's choice order, so the result does not depend on how rows were
// placed. No host synchronisation anywhere: the grid sizes are the host's
// upper bounds (all T*k choices local).
//
//===----------------------------------------------------------------------===//

#include "runtime/device/Common.cuh"
#include "runtime/gemm/Gemm.h"
#include "runtime/gemm/GroupedGemm.h"

#include <climits>

namespace llmc::rt {

using namespace cuda;

namespace {

/// Experts a router row may have: 16 per lane of one warp.
constexpr int kMaxRouterExperts = 512;
constexpr int kRouterPerLane = kMaxRouterExperts / 32;

__global__ void routerTopKKernel(float *weights, int *ids, const float *logits,
                                 int64_t tokens, int experts, int topK,
                                 bool renormalize) {
  int64_t t = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (t >= tokens)
    return;
  int lane = threadIdx.x & 31;
  const float *row = logits + t * experts;
  float p[kRouterPerLane];
  float mx = -INFINITY;
#pragma unroll
  for (int i = 0; i < kRouterPerLane; ++i) {
    int e = lane + 32 * i;
    p[i] = e < experts ? row[e] : -INFINITY;
    mx = fmaxf(mx, p[i]);
  }
  mx = warpMax(mx);
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < kRouterPerLane; ++i) {
    int e = lane + 32 * i;
    p[i] = e < experts ? expf(p[i] - mx) : 0.f;
    sum += p[i];
  }
  sum = warpSum(sum);
  // Probabilities are >= 0; -1 marks "not an expert" and "already taken".
#pragma unroll
  for (int i = 0; i < kRouterPerLane; ++i)
    p[i] = lane + 32 * i < experts ? p[i] / sum : -1.f;

  float kept = 0.f, myW = 0.f;
  int myId = 0;
  for (int j = 0; j < topK; ++j) {
    float bv = -2.f;
    int bi = INT_MAX;
    // Ascending ids within a lane: strict > keeps the lowest among equals.
#pragma unroll
    for (int i = 0; i < kRouterPerLane; ++i)
      if (p[i] > bv) {
        bv = p[i];
        bi = lane + 32 * i;
      }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      int oi = __shfl_xor_sync(0xffffffffu, bi, o);
      if (ov > bv || (ov == bv && oi < bi)) {
        bv = ov;
        bi = oi;
      }
    }
#pragma unroll
    for (int i = 0; i < kRouterPerLane; ++i)
      if (lane + 32 * i == bi)
        p[i] = -1.f;
    kept += bv; // summed in choice order, as the reference does
    if (lane == j) {
      myW = bv;
      myId = bi;
    }
  }
  if (lane < topK) {
    weights[t * topK + lane] = renormalize ? myW / kept : myW;
    ids[t * topK + lane] = myId;
  }
}

/// Global expert id -> local index (-1: held elsewhere).
struct LocalMap {
  int local[kMaxRouterExperts];
};

/// One block: counts the choices of each local expert, assigns each a row
/// of the expert-sorted layout, and writes the tile list. Row order inside
/// an expert depends on atomics, which is harmless: every GEMM row is
/// computed independently of the others in its tile.
__global__ void moeAssignKernel(const int *ids, int64_t choices, int topK,
                                LocalMap map, int experts, int numLocal,
                                int *slotOf, int *rowToken, int4 *tiles,
                                int *tileCount) {
  __shared__ int count[gemm::kMaxGroupedExperts];
  __shared__ int first[gemm::kMaxGroupedExperts];
  __shared__ int cursor[gemm::kMaxGroupedExperts];
  for (int e = threadIdx.x; e < numLocal; e += blockDim.x) {
    count[e] = 0;
    cursor[e] = 0;
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < choices; i += blockDim.x) {
    int id = ids[i];
    int le = id >= 0 && id < experts ? map.local[id] : -1;
    if (le >= 0)
      atomicAdd(&count[le], 1);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int row = 0, n = 0;
    for (int e = 0; e < numLocal; ++e) {
      first[e] = row;
      for (int m = 0; m < count[e]; m += gemm::kGroupedTileRows) {
        int end = m + gemm::kGroupedTileRows < count[e]
                      ? m + gemm::kGroupedTileRows
                      : count[e];
        tiles[n++] = make_int4(e, row + m, row + end, 0);
      }
      row += count[e];
    }
    *tileCount = n;
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < choices; i += blockDim.x) {
    int id = ids[i];
    int le = id >= 0 && id < experts ? map.local[id] : -1;
    int slot = -1;
    if (le >= 0) {
      slot = first[le] + atomicAdd(&cursor[le], 1);
      rowToken[slot] = int(i / topK);
    }
    slotOf[i] = slot;
  }
}

__global__ void expertCombineKernel(bf16 *out, const bf16 *y,
                                    const float *weights, const int *slotOf,
                                    int topK, int64_t hidden) {
  int64_t t = blockIdx.x;
  for (int64_t i = threadIdx.x; i < hidden / 8; i += blockDim.x) {
    float acc[8] = {};
    for (int j = 0; j < topK; ++j) {
      int slot = slotOf[t * topK + j];
      if (slot < 0)
        continue;
      float w = weights[t * topK + j], v[8];
      unpack8(reinterpret_cast<const uint4 *>(y + slot * hidden)[i], v);
#pragma unroll
      for (int e = 0; e < 8; ++e)
        acc[e] += w * v[e];
    }
    reinterpret_cast<uint4 *>(out + t * hidden)[i] = pack8(acc);
  }
}

/// out[t] *= sigmoid(in[t] . gate), rounded where Hugging Face rounds (the
/// gate projection and the sigmoid are bf16 tensors there).
__global__ void sigmoidGateKernel(bf16 *out, const bf16 *in, const bf16 *gate,
                                  int64_t hidden) {
  __shared__ float red[32];
  int64_t t = blockIdx.x;
  float dot = 0.f;
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
    dot += toF(in[t * hidden + i]) * toF(gate[i]);
  dot = blockSum(dot, red);
  float sg = roundB(1.f / (1.f + expf(-roundB(dot))));
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
    out[t * hidden + i] = toB(sg * toF(out[t * hidden + i]));
}

Act scratchAct(Rank &r, int64_t rows, int64_t cols) {
  return Act{scratch<bf16>(r, rows * cols), rows, cols};
}

} // namespace

void moeRouter(Rank &r, Act weights, Act ids, Act in, Weight gate, int experts,
               int topK, bool renormalize) {
  const char *op = "moeRouter";
  int64_t tokens = in.rows;
  if (gate.rows != experts || gate.cols != in.cols)
    failf(r, op, "gate [%lld, %lld] does not map rows of %lld to %d experts",
          (long long)gate.rows, (long long)gate.cols, (long long)in.cols,
          experts);
  if (experts < 1 || experts > kMaxRouterExperts || topK < 1 ||
      topK > experts || topK > 32)
    failf(r, op,
          "top_k %d of %d experts is not supported (experts <= %d, "
          "top_k <= 32)",
          topK, experts, kMaxRouterExperts);
  if (weights.rows != tokens || ids.rows != tokens || weights.cols != topK ||
      ids.cols != topK)
    failf(r, op, "weights [%lld, %lld] and ids [%lld, %lld] must be [%lld, %d]",
          (long long)weights.rows, (long long)weights.cols, (long long)ids.rows,
          (long long)ids.cols, (long long)tokens, topK);
  if (tokens == 0)
    return;
  float *logits = scratch<float>(r, tokens * experts);
  gemm::MatmulNT p;
  p.m = tokens;
  p.n = experts;
  p.k = in.cols;
  p.a = static_cast<const bf16 *>(in.data);
  p.lda = in.cols;
  p.b = gate.data;
  p.ldb = gate.cols;
  p.out = logits;
  p.ldo = experts;
  p.outType = gemm::OutType::F32;
  std::string err =
      gemm::matmulNT(r.lt(), r.stream(), r.workspace(), r.workspaceBytes(), p);
  if (!err.empty())
    failf(r, op, "%s", err.c_str());
  constexpr int warpsPerBlock = 4;
  int64_t blocks = (tokens + warpsPerBlock - 1) / warpsPerBlock;
  routerTopKKernel<<<blocks, 32 * warpsPerBlock, 0, r.stream()>>>(
      static_cast<float *>(weights.data), static_cast<int *>(ids.data), logits,
      tokens, experts, topK, renormalize);
  checkLaunch(r, "moeRouter top-k");
}

void experts(Rank &r, Act out, Act in, Act weights, Act ids, const int *gateW,
             const int *upW, const int *downW, int experts, const bool *owned) {
  const char *op = "experts";
  int64_t tokens = in.rows, hidden = in.cols, topK = weights.cols;
  if (out.rows != tokens || out.cols != hidden)
    failf(r, op, "output [%lld, %lld] differs from the input [%lld, %lld]",
          (long long)out.rows, (long long)out.cols, (long long)tokens,
          (long long)hidden);
  if (weights.rows != tokens || ids.rows != tokens || ids.cols != topK ||
      topK < 1)
    failf(r, op,
          "routing weights [%lld, %lld] and ids [%lld, %lld] do not "
          "match %lld tokens",
          (long long)weights.rows, (long long)weights.cols, (long long)ids.rows,
          (long long)ids.cols, (long long)tokens);
  if (experts < 1 || experts > kMaxRouterExperts)
    failf(r, op, "%d experts (at most %d supported)", experts,
          kMaxRouterExperts);

  LocalMap map;
  gemm::ExpertWeights gw{}, uw{}, dw{};
  int numLocal = 0;
  int64_t inter = -1;
  for (int e = 0; e < experts; ++e) {
    map.local[e] = -1;
    if (!owned[e])
      continue;
    if (numLocal == gemm::kMaxGroupedExperts)
      failf(r, op, "more than %d local experts", gemm::kMaxGroupedExperts);
    Weight g = r.weightAt(gateW[e]), u = r.weightAt(upW[e]),
           d = r.weightAt(downW[e]);
    if (g.fp8 || u.fp8 || d.fp8)
      failf(r, op, "expert %d: FP8 expert weights are not supported by the "
            "CUDA runtime yet (docs/quantization.md)", e);
    if (inter < 0)
      inter = g.rows;
    if (g.rows != inter || g.cols != hidden || u.rows != inter ||
        u.cols != hidden || d.rows != hidden || d.cols != inter)
      failf(r, op,
            "expert %d: gate [%lld, %lld], up [%lld, %lld], down [%lld, %lld] "
            "do not form a [%lld -> %lld -> %lld] SwiGLU",
            e, (long long)g.rows, (long long)g.cols, (long long)u.rows,
            (long long)u.cols, (long long)d.rows, (long long)d.cols,
            (long long)hidden, (long long)inter, (long long)hidden);
    for (const bf16 *w : {g.data, u.data, d.data})
      if (!aligned16(w))
        failf(r, op, "expert %d: weights must be 16-byte aligned", e);
    map.local[e] = numLocal;
    gw.w[numLocal] = g.data;
    uw.w[numLocal] = u.data;
    dw.w[numLocal] = d.data;
    ++numLocal;
  }
  if (tokens == 0)
    return;
  if (numLocal == 0) {
    if (cudaMemsetAsync(out.data, 0, size_t(tokens * hidden) * sizeof(bf16),
                        r.stream()) != cudaSuccess)
      failf(r, op, "clearing the output failed");
    return;
  }
  if (hidden % 8 != 0 || inter % 8 != 0 || !aligned16(in.data) ||
      !aligned16(out.data))
    failf(r, op,
          "hidden %lld and intermediate %lld must be multiples of 8 "
          "with 16-byte aligned rows",
          (long long)hidden, (long long)inter);

  int64_t choices = tokens * topK;
  int maxTiles =
      int((choices + gemm::kGroupedTileRows - 1) / gemm::kGroupedTileRows +
          numLocal);
  int *slotOf = scratch<int>(r, choices);
  int *rowToken = scratch<int>(r, choices);
  int4 *tiles = scratch<int4>(r, maxTiles);
  int *tileCount = scratch<int>(r, 1);
  bf16 *act = scratch<bf16>(r, choices * inter);
  bf16 *y = scratch<bf16>(r, choices * hidden);

  moeAssignKernel<<<1, 1024, 0, r.stream()>>>(
      static_cast<const int *>(ids.data), choices, int(topK), map, experts,
      numLocal, slotOf, rowToken, tiles, tileCount);
  checkLaunch(r, "experts assign");

  gemm::GroupedGemm g;
  g.a = static_cast<const bf16 *>(in.data);
  g.lda = hidden;
  g.rows = rowToken;
  g.out = act;
  g.ldo = inter;
  g.tiles = tiles;
  g.tileCount = tileCount;
  g.maxTiles = maxTiles;
  g.n = int(inter);
  g.k = int(hidden);
  if (cudaError_t e = gemm::groupedGemm(g, gw, &uw, r.stream()))
    failf(r, op, "gate/up grouped GEMM failed to launch: %s",
          cudaGetErrorString(e));

  g.a = act;
  g.lda = inter;
  g.rows = nullptr;
  g.out = y;
  g.ldo = hidden;
  g.n = int(hidden);
  g.k = int(inter);
  if (cudaError_t e = gemm::groupedGemm(g, dw, nullptr, r.stream()))
    failf(r, op, "down grouped GEMM failed to launch: %s",
          cudaGetErrorString(e));

  expertCombineKernel<<<tokens, 128, 0, r.stream()>>>(
      static_cast<bf16 *>(out.data), y,
      static_cast<const float *>(weights.data), slotOf, int(topK), hidden);
  checkLaunch(r, "experts combine");
}

void sharedExpert(Rank &r, Act out, Act in, Weight gate, Weight up, Weight down,
                  Weight expertGate) {
  const char *op = "sharedExpert";
  int64_t tokens = in.rows, hidden = in.cols, inter = gate.rows;
  if (gate.fp8 || up.fp8 || down.fp8)
    failf(r, op, "FP8 shared-expert weights are not supported by the CUDA "
          "runtime yet (docs/quantization.md)");
  if (out.rows != tokens || out.cols != hidden)
    failf(r, op, "output [%lld, %lld] differs from the input [%lld, %lld]",
          (long long)out.rows, (long long)out.cols, (long long)tokens,
          (long long)hidden);
  if (expertGate.rows * expertGate.cols != hidden)
    failf(r, op, "expert gate has %lld elements for rows of %lld",
          (long long)(expertGate.rows * expertGate.cols), (long long)hidden);
  if (tokens == 0)
    return;
  // Shapes of gate/up/down are checked by linear().
  Act g = scratchAct(r, tokens, inter), u = scratchAct(r, tokens, inter);
  linear(r, g, in, gate, nullptr);
  linear(r, u, in, up, nullptr);
  swiglu(r, g, g, u);
  linear(r, out, g, down, nullptr);
  sigmoidGateKernel<<<tokens, 256, 0, r.stream()>>>(
      static_cast<bf16 *>(out.data), static_cast<const bf16 *>(in.data),
      expertGate.data, hidden);
  checkLaunch(r, "sharedExpert gate");
}

} // namespace llmc::rt
