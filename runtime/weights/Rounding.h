//===- Rounding.h - round-to-nearest-even of narrowing casts ---*- C++ -*-===//
//
// The one rounding step every narrowing float conversion of runtime/weights
// shares (f32 -> f16, f32 -> E4M3): drop the low bits of a significand,
// rounding to nearest with ties to even. Plain C++17.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_WEIGHTS_ROUNDING_H
#define LLMC_RUNTIME_WEIGHTS_ROUNDING_H

#include <cstdint>

namespace llmc::rt {

/// `value >> shift` rounded to nearest, ties to the even result, for
/// 1 <= shift <= 31. A carry out of the kept bits is the correctly rounded
/// result when `value` packs an exponent above its mantissa.
inline uint32_t shiftRightRoundEven(uint32_t value, unsigned shift) {
  uint32_t kept = value >> shift;
  uint32_t rest = value & ((1u << shift) - 1u);
  uint32_t half = 1u << (shift - 1u);
  return kept + ((rest > half || (rest == half && (kept & 1u))) ? 1u : 0u);
}

} // namespace llmc::rt

#endif // LLMC_RUNTIME_WEIGHTS_ROUNDING_H
