//===- E4m3.cuh - exact widening of FP8 E4M3 codes ----------------*- CUDA -*-===//
//
// The FP8 kernels (Gemv.cu's W8A16 GEMV, Fp8Linear.cu's staging, the
// decode GEMM's register fragments, the FP8 attention cache) widen
// E4M3 codes exactly: every E4M3 value (3 mantissa bits, exponents
// 2^-9..2^8) is an f16, so cvt.rn.f16x2.e4m3x2 and the f16 -> f32 widening
// lose nothing; nor does the f32 -> bf16 narrowing of such a value (3
// mantissa bits, exponents within bf16's normal range).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_E4M3_CUH
#define LLMC_RUNTIME_KERNELS_E4M3_CUH

#include "runtime/device/Common.cuh"

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

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_KERNELS_E4M3_CUH
