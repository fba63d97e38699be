//===- DType.cpp - safetensors element types and conversions --------------===//
//
// Part of llmc's runtime: plain C++17, no MLIR.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/DType.h"
#include "runtime/weights/Rounding.h"

#include <cstring>

namespace llmc::rt {

namespace {

struct DTypeEntry {
  DType dtype;
  const char *name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8},         {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::I64, "I64", 8},         {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},         {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},           {DType::BOOL, "BOOL", 1},
};

const DTypeEntry &entryFor(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e;
  // Only reachable with a value cast from outside the enum's range.
  return kDTypes[0];
}

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// Loads through memcpy because tensor data inside a mapping need not be
// aligned for T (safetensors only aligns the data section start to 8).
template <class T> T load(const unsigned char *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

} // namespace

std::optional<DType> parseDType(std::string_view name) {
  for (const DTypeEntry &e : kDTypes)
    if (name == e.name)
      return e.dtype;
  return std::nullopt;
}

const char *dtypeName(DType dtype) { return entryFor(dtype).name; }

size_t dtypeSize(DType dtype) { return entryFor(dtype).size; }

float bf16ToFloat(uint16_t bits) { return bitsToFloat(uint32_t(bits) << 16); }

uint16_t floatToBf16(float value) {
  uint32_t u = floatBits(value);
  // Setting the top mantissa bit keeps a NaN whose payload lives only in the
  // low 16 bits from truncating into an infinity.
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((u >> 16) | 0x0040u);
  // Adding 0x7fff plus the lsb of the kept part rounds to nearest even; a
  // carry out of the mantissa correctly bumps the exponent (up to infinity).
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float f16ToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  uint32_t exp = (bits >> 10) & 0x1fu;
  uint32_t mant = bits & 0x3ffu;
  if (exp == 0x1f) // Inf or NaN: keep the payload.
    return bitsToFloat(sign | 0x7f800000u | (mant << 13));
  if (exp != 0)
    return bitsToFloat(sign | ((exp + 127 - 15) << 23) | (mant << 13));
  // Denormal (or zero): mant * 2^-24 is exact in float.
  float magnitude = float(mant) * 0x1p-24f;
  return sign ? -magnitude : magnitude;
}

uint16_t floatToF16(float value) {
  uint32_t u = floatBits(value);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) // NaN: quiet it, keep the top of the payload.
    return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  // 65520 is halfway between 65504 (max f16, odd mantissa) and 65536, so it
  // and everything above rounds to infinity.
  if (a >= 0x477ff000u)
    return uint16_t(sign | 0x7c00u);
  if (a >= 0x38800000u) // Normal f16 range: >= 2^-14. Rebias 127 -> 15;
    // a carry into the exponent is the correct rounding.
    return uint16_t(sign | shiftRightRoundEven(a - ((127u - 15u) << 23), 13));
  // At or below 2^-25 (halfway to the smallest denormal, ties to even 0).
  if (a <= 0x33000000u)
    return sign;
  // Denormal: the result is round(value * 2^24) with value =
  // mant * 2^(exp - 150), i.e. mant >> (126 - exp).
  uint32_t exp = a >> 23;
  uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126u - exp; // 14..23 here.
  // May become 0x400, the smallest normal: still the right bits.
  return uint16_t(sign | shiftRightRoundEven(mant, shift));
}

bool isConvertibleToF32(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 ||
         dtype == DType::F64;
}

bool convertToF32(DType src, const void *in, float *out, size_t n) {
  const auto *p = static_cast<const unsigned char *>(in);
  switch (src) {
  case DType::F32:
    if (n)
      std::memcpy(out, p, n * sizeof(float));
    return true;
  case DType::F16:
    for (size_t i = 0; i < n; ++i)
      out[i] = f16ToFloat(load<uint16_t>(p + 2 * i));
    return true;
  case DType::BF16:
    for (size_t i = 0; i < n; ++i)
      out[i] = bf16ToFloat(load<uint16_t>(p + 2 * i));
    return true;
  case DType::F64:
    for (size_t i = 0; i < n; ++i)
      out[i] = float(load<double>(p + 8 * i));
    return true;
  default:
    return false;
  }
}

} // namespace llmc::rt
