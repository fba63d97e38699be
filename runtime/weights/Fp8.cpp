//===- Fp8.cpp - OCP FP8 E4M3 numerics shared by CPU and GPU --------------===//
//
// Part of llmc's runtime: plain C++17, no MLIR. The rounding works on the
// float's bits, so it is exact and independent of the host's floating-point
// environment; test/unit/Fp8Test.cpp checks it against a table-based
// reading of the OCP specification and against CUDA's own host conversion.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/Fp8.h"
#include "runtime/weights/Rounding.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace llmc::rt {

namespace {

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

// Float bit patterns of the thresholds (magnitudes).
constexpr uint32_t kInfBits = 0x7F800000u;
/// 464 = 448 + half an ulp: above it everything saturates; 464 itself is a
/// tie that rounds to the even code 0x7E (448).
constexpr uint32_t kSaturateAbove = 0x43E80000u;
/// 2^-6, the smallest normal E4M3 value.
constexpr uint32_t kMinNormal = 0x3C800000u;
/// 2^-10, half the smallest subnormal: at or below it a value rounds to 0.
constexpr uint32_t kHalfMinSubnormal = 0x3A800000u;

} // namespace

uint8_t floatToE4M3(float x) {
  uint32_t u = floatBits(x);
  uint8_t sign = uint8_t((u >> 24) & 0x80u);
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > kInfBits)
    return kE4M3NaN;
  if (a > kSaturateAbove)
    return uint8_t(sign | 0x7Eu);
  if (a >= kMinNormal) {
    // Rebias the exponent (127 -> 7) and keep the top 3 mantissa bits; the
    // 20 dropped bits decide the rounding. A carry out of the mantissa bumps
    // the exponent, which is the right code; it never reaches 0x7F because
    // a <= 464 here.
    return uint8_t(sign | shiftRightRoundEven(a - (120u << 23), 20));
  }
  if (a <= kHalfMinSubnormal)
    return sign;
  // Subnormal: code = round(|x| / 2^-9). With |x| = M * 2^(E - 23) (M the
  // 24-bit significand, E in [-10, -7]) that is M >> (14 - E), rounded; it
  // may become 8, the smallest normal, which is still the right code.
  uint32_t significand = (a & 0x7FFFFFu) | 0x800000u;
  return uint8_t(sign | shiftRightRoundEven(significand, 141u - (a >> 23)));
}

float e4m3ToFloat(uint8_t code) {
  unsigned exponent = (code >> 3) & 0xFu, mantissa = code & 7u;
  if (exponent == 0xFu && mantissa == 7u)
    return std::numeric_limits<float>::quiet_NaN();
  // Subnormals are mantissa * 2^-9; normals (8 + mantissa) * 2^(e - 10).
  float magnitude = exponent == 0
                        ? std::ldexp(float(mantissa), -9)
                        : std::ldexp(float(8u + mantissa), int(exponent) - 10);
  return (code & 0x80u) ? -magnitude : magnitude;
}

float fp8ScaleForAbsmax(float absmax) {
  float scale = absmax / kE4M3Max;
  // Written so that a NaN absmax also gets the floor.
  return scale > kFp8MinScale ? scale : kFp8MinScale;
}

float absMax(const float *x, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    float a = std::fabs(x[i]);
    if (a > m)
      m = a;
  }
  return m;
}

void quantizeE4M3(const float *x, size_t n, float scale, uint8_t *codes) {
  for (size_t i = 0; i < n; ++i)
    codes[i] = floatToE4M3(x[i] / scale);
}

} // namespace llmc::rt
