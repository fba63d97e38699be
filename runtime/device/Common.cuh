//===- Common.cuh - helpers shared by llmc's CUDA kernels -------*- CUDA
//-*-===//
//
// bf16 <-> fp32 packing for 16-byte vector accesses, warp and block
// reductions, and the host-side launch check every wrapper in Layers.cu and
// its siblings uses. Device code only includes this and Mma.cuh.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_COMMON_CUH
#define LLMC_RUNTIME_DEVICE_COMMON_CUH

#include "runtime/device/Device.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace llmc::rt::cuda {

__device__ __forceinline__ float toF(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ bf16 toB(float x) { return __float2bfloat16_rn(x); }
/// Rounds through bf16 and back: the value a bf16 tensor would hold. Used
/// where Hugging Face rounds an intermediate, so our outputs match its.
__device__ __forceinline__ float roundB(float x) { return toF(toB(x)); }

/// Eight bf16 values = one 16-byte access.
union Vec8 {
  uint4 u;
  __nv_bfloat162 h[4];
};

__device__ __forceinline__ void unpack8(uint4 raw, float f[8]) {
  Vec8 v;
  v.u = raw;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float2 p = __bfloat1622float2(v.h[i]);
    f[2 * i] = p.x;
    f[2 * i + 1] = p.y;
  }
}

__device__ __forceinline__ uint4 pack8(const float f[8]) {
  Vec8 v;
#pragma unroll
  for (int i = 0; i < 4; ++i)
    v.h[i] = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
  return v.u;
}

/// Two bf16 (lower column in the low half), as mma fragments hold them.
__device__ __forceinline__ uint32_t packBf16x2(float lo, float hi) {
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&h);
}

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// The weight-streaming GEMVs' loads: 16-byte chunks c0 + u * Threads of
/// each of R weight rows (zero past `chunks`), read once, so with the
/// streaming hint; all issued before any is used.
template <int Unroll, int R, int Threads>
__device__ __forceinline__ void loadChunks(uint4 (&wv)[Unroll][R],
                                           const uint4 *const (&rows)[R],
                                           int64_t c0, int64_t chunks) {
#pragma unroll
  for (int u = 0; u < Unroll; ++u) {
    int64_t c = c0 + int64_t(u) * Threads;
#pragma unroll
    for (int r = 0; r < R; ++r)
      wv[u][r] = c < chunks ? __ldcs(rows[r] + c) : make_uint4(0, 0, 0, 0);
  }
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// Sum over the block; every thread gets the result. `scratch` holds 32
/// floats. Contains __syncthreads, so all threads must call it.
__device__ __forceinline__ float blockSum(float v, float *scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int warps = (blockDim.x + 31) >> 5;
  v = warpSum(v);
  __syncthreads(); // scratch may still be read by a previous call
  if (lane == 0)
    scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.f;
  return warpSum(v);
}

/// Maximum over the block (fmaxf: NaNs ignored); every thread gets the
/// result. As blockSum: `scratch` holds 32 floats, all threads call.
__device__ __forceinline__ float blockMax(float v, float *scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int warps = (blockDim.x + 31) >> 5;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0)
    scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return warpMax(v);
}

/// silu in fp32, as PyTorch computes it for bf16 tensors.
__device__ __forceinline__ float silu(float x) { return x / (1.f + expf(-x)); }

/// Hugging Face's SwiGLU of one gate and up value (each bf16-valued):
/// act(gate) is a bf16 tensor before the product; the caller rounds the
/// product to bf16.
__device__ __forceinline__ float swigluOf(float gate, float up) {
  return roundB(silu(gate)) * up;
}

/// swigluOf of eight bf16 gates and ups (16-byte chunks), rounded to bf16.
__device__ __forceinline__ uint4 swiglu8(uint4 gate, uint4 up) {
  float x[8], y[8];
  unpack8(gate, x);
  unpack8(up, y);
#pragma unroll
  for (int e = 0; e < 8; ++e)
    x[e] = swigluOf(x[e], y[e]);
  return pack8(x);
}

inline bool aligned16(const void *p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_DEVICE_COMMON_CUH
