//===- Fp8.h - OCP FP8 E4M3 numerics shared by CPU and GPU ------*- C++ -*-===//
//
// The one definition of how llmc rounds to FP8 and where its scales come
// from. The CPU reference executor, the weight loaders (checkpoint and
// random weights) and llm-checkpoint call these functions; GPU kernels must
// compute the same bits (docs/quantization.md, "What the GPU lowering must
// do"). Plain C++17, no MLIR.
//
// E4M3 is the OCP 8-bit floating point format "E4M3FN" (MLIR f8E4M3FN,
// safetensors F8_E4M3, torch.float8_e4m3fn): 1 sign bit, 4 exponent bits
// (bias 7), 3 mantissa bits, no infinities, NaN = S.1111.111. Largest
// finite value 448 (0x7E), smallest normal 2^-6, smallest subnormal 2^-9.
//
// Rounding (floatToE4M3) is CUDA's __nv_cvt_float_to_fp8(x, __NV_SATFINITE,
// __NV_E4M3), i.e. PTX cvt.rn.satfinite.e4m3x2.f32:
//   * round to nearest, ties to the even code (even mantissa lsb),
//     subnormals included; |x| <= 2^-10 rounds to a zero of x's sign;
//   * finite values beyond the largest finite value and infinities
//     saturate to +-448 (the sign is kept);
//   * NaN becomes 0x7F (positive NaN, the sign is dropped).
//
// Scales (fp8ScaleForAbsmax): a row (weight output channel, activation
// token, KV head vector) with absolute maximum a gets the fp32 scale
//   s = max(a / 448, kFp8MinScale)          (IEEE fp32 division, RN)
// and element x is stored as floatToE4M3(x / s) (IEEE fp32 division, RN);
// its value is then e4m3ToFloat(code) * s. The floor keeps an all-zero row
// finite, as vLLM's dynamic per-token quantization does.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_WEIGHTS_FP8_H
#define LLMC_RUNTIME_WEIGHTS_FP8_H

#include <cstddef>
#include <cstdint>

namespace llmc::rt {

/// Largest finite E4M3 value (code 0x7E).
constexpr float kE4M3Max = 448.0f;
/// The smallest scale fp8ScaleForAbsmax returns: the float nearest
/// 1 / (448 * 512), so rows whose absmax is below 1/512 share one scale.
constexpr float kFp8MinScale = 1.0f / 229376.0f;
/// The E4M3 code of NaN that floatToE4M3 produces.
constexpr uint8_t kE4M3NaN = 0x7F;

/// Rounds `x` to E4M3 as described above (round to nearest even,
/// saturating to +-448, NaN to 0x7F).
uint8_t floatToE4M3(float x);

/// The exact value of E4M3 code `code` (NaN for 0x7F and 0xFF).
float e4m3ToFloat(uint8_t code);

/// max(absmax / 448, kFp8MinScale), absmax the largest |x| of the row
/// (NaN rows get kFp8MinScale).
float fp8ScaleForAbsmax(float absmax);

/// Largest |x[i]| of `n` floats; NaNs are ignored, as fmaxf does.
float absMax(const float *x, size_t n);

/// codes[i] = floatToE4M3(x[i] / scale) for `n` elements.
void quantizeE4M3(const float *x, size_t n, float scale, uint8_t *codes);

/// The fp32 value a quantize/dequantize round trip gives `x` under `scale`:
/// e4m3ToFloat(floatToE4M3(x / scale)) * scale.
inline float roundTripE4M3(float x, float scale) {
  return e4m3ToFloat(floatToE4M3(x / scale)) * scale;
}

} // namespace llmc::rt

#endif // LLMC_RUNTIME_WEIGHTS_FP8_H
