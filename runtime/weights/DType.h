//===- DType.h - safetensors element types and conversions ------*- C++ -*-===//
//
// Element types as safetensors names them, and the bf16/f16 <-> f32
// conversions the CPU reference executor and the weight loader share.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_WEIGHTS_DTYPE_H
#define LLMC_RUNTIME_WEIGHTS_DTYPE_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llmc::rt {

/// Element types of a safetensors file (a subset of the format's list: the
/// unsigned 16/32/64-bit and sub-byte float types are not supported).
enum class DType {
  F64,
  F32,
  F16,
  BF16,
  F8_E4M3,
  F8_E5M2,
  I64,
  I32,
  I16,
  I8,
  U8,
  BOOL
};

/// Parses a safetensors dtype name ("F32", "BF16", "F8_E4M3", ...); exact,
/// case-sensitive match as the format requires.
std::optional<DType> parseDType(std::string_view name);

/// The safetensors name of `dtype`, e.g. "BF16".
const char *dtypeName(DType dtype);

/// Size of one element in bytes.
size_t dtypeSize(DType dtype);

/// bf16 bits to float; exact.
float bf16ToFloat(uint16_t bits);
/// float to bf16 bits, rounding to nearest even; NaN stays NaN (quieted, sign
/// kept), values past the bf16 range round to infinity.
uint16_t floatToBf16(float value);

/// IEEE binary16 bits to float; exact, denormals included.
float f16ToFloat(uint16_t bits);
/// float to IEEE binary16 bits, rounding to nearest even; produces denormals
/// below 2^-14, infinity at or above 65520, and a quiet NaN for NaN.
uint16_t floatToF16(float value);

/// Converts `n` elements of type `src` at `in` (any alignment) to float.
/// Supports F32, F16, BF16 and F64; returns false, writing nothing, for the
/// other types.
bool convertToF32(DType src, const void *in, float *out, size_t n);

/// Whether convertToF32 supports `dtype`.
bool isConvertibleToF32(DType dtype);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_WEIGHTS_DTYPE_H
