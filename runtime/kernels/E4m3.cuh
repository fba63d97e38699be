//===- E4m3.cuh - exact widening of FP8 E4M3 codes ----------------*- CUDA -*-===//
//
// The FP8 kernels (Gemv.cu's W8A16 GEMV, Fp8Linear.cu's staging, the
// decode GEMM's register fragments, the FP8 attention cache) widen
// E4M3 codes exactly: every E4M3 value (3 mantissa bits, exponents
// 2^-9..2^8) is an f16, so cvt.rn.f16x2.e4m3x2 and the f16 -> f32 widening
// lose nothing; nor does the f32 -> bf16 narrowing of such a value (3
// mantissa bits, exponents within bf16's normal range). The narrowing
// (toE4M3) and the per-token quantization of a row a block holds in
// registers (quantizeRowChunks) are here too: the quantize, SwiGLU and
// RMSNorm kernels that write W8A8 activations share them.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_E4M3_CUH
#define LLMC_RUNTIME_KERNELS_E4M3_CUH

#include "runtime/device/Common.cuh"
#include "runtime/weights/Fp8.h"

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>

namespace llmc::rt::cuda {

/// Two E4M3 codes (low byte first) as exact floats.
__device__ __forceinline__ float2 e4m3x2ToFloat2(uint32_t pair) {
  __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(
      static_cast<__nv_fp8x2_storage_t>(pair & 0xFFFFu), __NV_E4M3);
  return __half22float2(*reinterpret_cast<__half2 *>(&h));
}

/// Two E4M3 codes (low byte first) as two exact bf16, the lower code in the
/// low half (an mma fragment register).
__device__ __forceinline__ uint32_t e4m3x2ToBf16x2(uint32_t pair) {
  float2 f = e4m3x2ToFloat2(pair);
  return packBf16x2(f.x, f.y);
}

/// The 16 codes of `w` (lowest byte first) as floats.
__device__ __forceinline__ void unpack16(uint4 w, float f[16]) {
  uint32_t words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float2 lo = e4m3x2ToFloat2(words[i]);
    float2 hi = e4m3x2ToFloat2(words[i] >> 16);
    f[4 * i] = lo.x;
    f[4 * i + 1] = lo.y;
    f[4 * i + 2] = hi.x;
    f[4 * i + 3] = hi.y;
  }
}

/// The scale of values whose largest magnitude is `absmax`:
/// max(absmax / 448, kFp8MinScale), a true division (Fp8.h's
/// fp8ScaleForAbsmax).
__device__ __forceinline__ float e4m3Scale(float absmax) {
  return fmaxf(__fdiv_rn(absmax, kE4M3Max), kFp8MinScale);
}

/// E4M3(x / s), saturating to +-448 (Fp8.h's floatToE4M3 of x / s).
__device__ __forceinline__ uint8_t toE4M3(float x, float s) {
  return static_cast<uint8_t>(
      __nv_cvt_float_to_fp8(__fdiv_rn(x, s), __NV_SATFINITE, __NV_E4M3));
}

/// Eight floats as E4M3(f / s), the lowest element in the lowest byte.
__device__ __forceinline__ uint2 toE4M3x8(const float f[8], float s) {
  uint32_t lo = 0, hi = 0;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    lo |= uint32_t(toE4M3(f[j], s)) << (8 * j);
    hi |= uint32_t(toE4M3(f[4 + j], s)) << (8 * j);
  }
  return make_uint2(lo, hi);
}

/// tokenScale + quantize of one row the block holds in registers: thread t
/// has the row's 16-byte bf16 chunks t + i * blockDim.x in v[i] (zeros past
/// the row's `chunks`). The scale max(absmax / 448, kFp8MinScale) goes to
/// *scale (thread 0), the codes to `codes` (8-byte aligned). All threads
/// call; `red` holds 32 floats.
template <int N>
__device__ __forceinline__ void quantizeRowChunks(const uint4 (&v)[N],
                                                  uint8_t *codes, float *scale,
                                                  int64_t chunks, float *red) {
  float a = 0.f;
#pragma unroll
  for (int i = 0; i < N; ++i) {
    float f[8];
    unpack8(v[i], f);
#pragma unroll
    for (int j = 0; j < 8; ++j)
      a = fmaxf(a, fabsf(f[j]));
  }
  float s = e4m3Scale(blockMax(a, red));
  if (threadIdx.x == 0)
    *scale = s;
#pragma unroll
  for (int i = 0; i < N; ++i) {
    int64_t c = threadIdx.x + int64_t(i) * blockDim.x;
    if (c < chunks) {
      float f[8];
      unpack8(v[i], f);
      reinterpret_cast<uint2 *>(codes)[c] = toE4M3x8(f, s);
    }
  }
}

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_KERNELS_E4M3_CUH
