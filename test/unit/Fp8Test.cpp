//===- Fp8Test.cpp - E4M3 rounding, scales and FP8 weight loading ---------===//
//
// floatToE4M3 against a reference written from the OCP 8-bit floating point
// specification (decode every code, pick the nearest finite value, ties to
// the even code, saturate beyond 448) and, where the CUDA headers are
// available, against CUDA's own host conversion __nv_cvt_float_to_fp8(x,
// __NV_SATFINITE, __NV_E4M3), which the GPU kernels use. Then the scale rule
// and the slice-invariance of FP8 weight loading (every plan's ranks get
// the unsharded program's codes and scales).
//
//===----------------------------------------------------------------------===//

#include "runtime/weights/Fp8.h"
#include "runtime/weights/DType.h"
#include "runtime/weights/Fp8Weights.h"
#include "runtime/weights/RandomWeights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#ifdef LLMC_HAVE_CUDA_FP8_HEADER
#include <cuda_fp8.h>
#endif

using namespace llmc::rt;

namespace {

float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

/// The OCP E4M3 reference: values of the non-negative finite codes in
/// ascending order (code i has value values[i] for i in 0..126).
class OcpReference {
public:
  OcpReference() {
    for (int code = 0; code <= 0x7E; ++code) {
      int e = (code >> 3) & 0xF, m = code & 7;
      // Spec: subnormal m * 2^(1 - bias - 3); normal (1 + m/8) * 2^(e - 7).
      double v = e == 0 ? m * std::ldexp(1.0, -9)
                        : (1.0 + m / 8.0) * std::ldexp(1.0, e - 7);
      values.push_back(v);
    }
  }

  uint8_t round(float x) const {
    if (std::isnan(x))
      return 0x7F;
    uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
    double a = std::fabs(double(x));
    if (a >= values.back())
      return sign | 0x7E; // Saturate (satfinite), infinities included.
    // values[hi] is the first value > a.
    size_t hi =
        std::upper_bound(values.begin(), values.end(), a) - values.begin();
    size_t lo = hi - 1;
    double dLo = a - values[lo], dHi = values[hi] - a;
    size_t pick = dLo < dHi ? lo : dHi < dLo ? hi : (lo % 2 == 0 ? lo : hi);
    return uint8_t(sign | pick);
  }

  std::vector<double> values;
};

/// Floats that stress the rounding: every E4M3 value and every midpoint
/// between neighbours, each with its float neighbours, the specials, and a
/// strided sweep over all 2^32 bit patterns.
std::vector<float> probeFloats(const OcpReference &ref) {
  std::vector<float> out = {0.0f,
                            -0.0f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::max(),
                            464.0f,
                            480.0f};
  auto around = [&](double v) {
    float f = float(v);
    for (int i = 0; i < 4; ++i) {
      out.push_back(f);
      out.push_back(-f);
      f = std::nextafter(f, std::numeric_limits<float>::infinity());
    }
    f = float(v);
    for (int i = 0; i < 4; ++i) {
      f = std::nextafter(f, 0.0f);
      out.push_back(f);
      out.push_back(-f);
    }
  };
  for (size_t i = 0; i < ref.values.size(); ++i) {
    around(ref.values[i]);
    if (i + 1 < ref.values.size())
      around((ref.values[i] + ref.values[i + 1]) / 2);
  }
  around(448.0 + 16.0); // Half an ulp above the largest value.
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 4099)
    out.push_back(fromBits(uint32_t(u)));
  // Denser over the range that rounds to non-zero, non-saturated codes.
  for (uint32_t u = 0x3A000000u; u < 0x44000000u; u += 61) {
    out.push_back(fromBits(u));
    out.push_back(fromBits(u | 0x80000000u));
  }
  return out;
}

} // namespace

TEST(Fp8, EveryCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    uint8_t code = uint8_t(c);
    float v = e4m3ToFloat(code);
    if ((code & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(v)) << "code " << c;
      EXPECT_EQ(floatToE4M3(v), kE4M3NaN) << "code " << c;
      continue;
    }
    EXPECT_EQ(floatToE4M3(v), code) << "code " << c << " value " << v;
  }
}

TEST(Fp8, NamedValues) {
  EXPECT_EQ(e4m3ToFloat(0x7E), 448.0f);
  EXPECT_EQ(e4m3ToFloat(0xFE), -448.0f);
  EXPECT_EQ(e4m3ToFloat(0x08), std::ldexp(1.0f, -6)); // Smallest normal.
  EXPECT_EQ(e4m3ToFloat(0x01), std::ldexp(1.0f, -9)); // Smallest subnormal.
  EXPECT_EQ(e4m3ToFloat(0x07), 7 * std::ldexp(1.0f, -9));
  EXPECT_EQ(e4m3ToFloat(0x38), 1.0f);
  EXPECT_TRUE(std::signbit(e4m3ToFloat(0x80)));
  EXPECT_EQ(e4m3ToFloat(0x80), 0.0f);
}

TEST(Fp8, TiesToEven) {
  // 1.0625 lies halfway between 1.0 (0x38, even) and 1.125 (0x39).
  EXPECT_EQ(floatToE4M3(1.0625f), 0x38);
  // 1.1875 lies halfway between 1.125 (0x39) and 1.25 (0x3A, even).
  EXPECT_EQ(floatToE4M3(1.1875f), 0x3A);
  EXPECT_EQ(floatToE4M3(-1.1875f), 0xBA);
  // Just above a midpoint rounds up.
  EXPECT_EQ(floatToE4M3(std::nextafter(1.0625f, 2.0f)), 0x39);
  // A midpoint whose upper neighbour starts the next binade: 1.9375 ->
  // 2.0 (0x40) beats 1.875 (0x3F, odd).
  EXPECT_EQ(floatToE4M3(1.9375f), 0x40);
}

TEST(Fp8, Subnormals) {
  float sub = std::ldexp(1.0f, -9);
  EXPECT_EQ(floatToE4M3(sub), 0x01);
  EXPECT_EQ(floatToE4M3(0.5f * sub), 0x00);  // Tie with 0: even.
  EXPECT_EQ(floatToE4M3(-0.5f * sub), 0x80); // Keeps the sign.
  EXPECT_EQ(floatToE4M3(std::nextafter(0.5f * sub, 1.0f)), 0x01);
  EXPECT_EQ(floatToE4M3(1.5f * sub), 0x02); // Tie between 1 and 2: even.
  EXPECT_EQ(floatToE4M3(2.5f * sub), 0x02); // Tie between 2 and 3: even.
  EXPECT_EQ(floatToE4M3(7.5f * sub), 0x08); // Rounds up into the normals.
  EXPECT_EQ(floatToE4M3(1e-30f), 0x00);
}

TEST(Fp8, SaturationAndNaN) {
  EXPECT_EQ(floatToE4M3(448.0f), 0x7E);
  EXPECT_EQ(floatToE4M3(460.0f), 0x7E);
  EXPECT_EQ(floatToE4M3(464.0f), 0x7E); // Tie with 480: 0x7E is even.
  EXPECT_EQ(floatToE4M3(464.5f), 0x7E); // Saturated.
  EXPECT_EQ(floatToE4M3(1e30f), 0x7E);
  EXPECT_EQ(floatToE4M3(-1e30f), 0xFE);
  EXPECT_EQ(floatToE4M3(std::numeric_limits<float>::infinity()), 0x7E);
  EXPECT_EQ(floatToE4M3(-std::numeric_limits<float>::infinity()), 0xFE);
  EXPECT_EQ(floatToE4M3(std::numeric_limits<float>::quiet_NaN()), 0x7F);
  EXPECT_EQ(floatToE4M3(-std::numeric_limits<float>::quiet_NaN()), 0x7F);
}

TEST(Fp8, MatchesTheOcpReference) {
  OcpReference ref;
  size_t checked = 0;
  for (float x : probeFloats(ref)) {
    ASSERT_EQ(floatToE4M3(x), ref.round(x)) << "x = " << x << " (bits 0x"
                                            << std::hex <<
        [&] {
          uint32_t u;
          std::memcpy(&u, &x, 4);
          return u;
        }() << ")";
    ++checked;
  }
  EXPECT_GT(checked, size_t(2000000));
}

#ifdef LLMC_HAVE_CUDA_FP8_HEADER
TEST(Fp8, MatchesCudaHostConversion) {
  OcpReference ref;
  for (float x : probeFloats(ref)) {
    __nv_fp8_storage_t cuda =
        __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3);
    ASSERT_EQ(floatToE4M3(x), cuda) << "x = " << x;
  }
}
#endif

TEST(Fp8, ScaleRule) {
  EXPECT_EQ(fp8ScaleForAbsmax(448.0f), 1.0f);
  EXPECT_EQ(fp8ScaleForAbsmax(896.0f), 2.0f);
  EXPECT_EQ(fp8ScaleForAbsmax(0.0f), kFp8MinScale);
  EXPECT_EQ(fp8ScaleForAbsmax(std::numeric_limits<float>::quiet_NaN()),
            kFp8MinScale);
  EXPECT_EQ(kFp8MinScale, 1.0f / 229376.0f);
  float x[] = {0.5f, -3.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f};
  EXPECT_EQ(absMax(x, 4), 3.0f);
  // The absmax element maps to +-448 exactly.
  float s = fp8ScaleForAbsmax(3.0f);
  EXPECT_EQ(floatToE4M3(-3.0f / s), 0xFE);
}

TEST(Fp8, ScaleIsTheCorrectlyRoundedQuotient) {
  // A bf16 weight over its row's bf16 absmax, times 448 (7 * 2^6), often
  // lands exactly on the midpoint of two E4M3 values (both significands
  // have 8 bits), so the scale must be the correctly rounded absmax / 448:
  // absmax * (1 / 448), one ulp larger here, moves such codes a whole
  // step. (torch on CUDA divides by a Python number that way; a reference
  // that did so was 1.5e-2 of the logits from the model llmc computes,
  // docs/quantization.md, "Seventeenth session".)
  const float absmax = 0.005126953125f, w = 0.00421142578125f; // both bf16
  const float s = fp8ScaleForAbsmax(absmax);
  const float reciprocal = absmax * (1.0f / 448.0f);
  EXPECT_EQ(s, absmax / 448.0f);
  EXPECT_NE(s, reciprocal);
  EXPECT_EQ(w / s, 368.0f); // the midpoint of 352 and 384
  uint8_t code = 0;
  quantizeE4M3(&w, 1, s, &code);
  EXPECT_EQ(e4m3ToFloat(code), 384.0f); // ties to even
  EXPECT_EQ(e4m3ToFloat(floatToE4M3(w / reciprocal)), 352.0f);
}

//===----------------------------------------------------------------------===//
// FP8 weight loading: slices agree with the whole tensor
//===----------------------------------------------------------------------===//

namespace {

/// A 6x10 source whose rows have very different magnitudes.
const std::vector<int64_t> kShape = {6, 10};

float sourceValue(int64_t row, int64_t col) {
  return std::sin(float(row * 10 + col)) * std::ldexp(1.0f, int(row) - 3);
}

Status readSource(const std::optional<Slice> &slice, float *out) {
  int64_t rows = kShape[0], cols = kShape[1];
  int64_t r0 = 0, r1 = rows, c0 = 0, c1 = cols;
  if (slice && slice->dim == 0) {
    r0 = slice->offset;
    r1 = r0 + slice->size;
  } else if (slice) {
    c0 = slice->offset;
    c1 = c0 + slice->size;
  }
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c)
      *out++ = sourceValue(r, c);
  return Status::ok();
}

} // namespace

TEST(Fp8Weights, SlicesAgreeWithTheWholeTensor) {
  for (Fp8Granularity g :
       {Fp8Granularity::PerChannel, Fp8Granularity::PerTensor}) {
    std::vector<uint8_t> full(60);
    ASSERT_TRUE(
        fp8CodesFromSource(readSource, kShape, g, std::nullopt, full.data()));
    // Row blocks (column-parallel) and column blocks (row-parallel).
    for (Slice slice : {Slice{0, 2, 3}, Slice{1, 4, 5}}) {
      std::vector<uint8_t> part(
          size_t(numElements(slicedShape(kShape, slice))));
      ASSERT_TRUE(
          fp8CodesFromSource(readSource, kShape, g, slice, part.data()));
      std::vector<int64_t> shape = slicedShape(kShape, slice);
      for (int64_t r = 0; r < shape[0]; ++r)
        for (int64_t c = 0; c < shape[1]; ++c) {
          int64_t fr = slice.dim == 0 ? r + slice.offset : r;
          int64_t fc = slice.dim == 1 ? c + slice.offset : c;
          EXPECT_EQ(part[r * shape[1] + c], full[fr * 10 + fc])
              << "row " << fr << " col " << fc;
        }
    }
  }
  // Per-channel scales of rows [2, 5) equal those of the whole tensor.
  std::vector<float> all(6), some(3);
  ASSERT_TRUE(fp8ScalesFromSource(
      readSource, kShape, Fp8Granularity::PerChannel, 0, 6, all.data()));
  ASSERT_TRUE(fp8ScalesFromSource(
      readSource, kShape, Fp8Granularity::PerChannel, 2, 3, some.data()));
  EXPECT_EQ(some, std::vector<float>(all.begin() + 2, all.begin() + 5));
  // Each row's largest element is +-448 after quantization.
  for (int64_t r = 0; r < 6; ++r) {
    float absmax = 0;
    for (int64_t c = 0; c < 10; ++c)
      absmax = std::max(absmax, std::fabs(sourceValue(r, c)));
    EXPECT_EQ(all[r], fp8ScaleForAbsmax(absmax));
  }
}

TEST(Fp8Weights, Granularity) {
  EXPECT_EQ(*fp8GranularityOf({6, 1}, 6), Fp8Granularity::PerChannel);
  EXPECT_EQ(*fp8GranularityOf({6}, 6), Fp8Granularity::PerChannel);
  EXPECT_EQ(*fp8GranularityOf({1}, 6), Fp8Granularity::PerTensor);
  EXPECT_EQ(*fp8GranularityOf({}, 6), Fp8Granularity::PerTensor);
  Expected<Fp8Granularity> bad = fp8GranularityOf({3, 2}, 6);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("[3, 2]"), std::string::npos);
}

TEST(Fp8Weights, RandomWeightsAreTheBf16CheckpointQuantized) {
  // Random FP8 weights quantize the bf16 rounding of the generator's
  // values, which is what a checkpoint from llm-checkpoint stores.
  Fp8WeightSpec spec{"w.weight", {4, 32}, "w.weight_scale", {4, 1}};
  Fp8Source random{nullptr, 7};
  std::vector<uint8_t> codes(128);
  std::vector<float> scales(4);
  ASSERT_TRUE(random.codes(spec, std::nullopt, codes.data()));
  ASSERT_TRUE(random.scales(spec, std::nullopt, scales.data()));
  std::vector<float> values(128);
  ASSERT_TRUE(fillRandom(7, "w.weight", {4, 32}, std::nullopt, values.data()));
  for (int64_t r = 0; r < 4; ++r) {
    float absmax = 0;
    for (int64_t c = 0; c < 32; ++c) {
      values[r * 32 + c] = bf16ToFloat(floatToBf16(values[r * 32 + c]));
      absmax = std::max(absmax, std::fabs(values[r * 32 + c]));
    }
    ASSERT_EQ(scales[r], fp8ScaleForAbsmax(absmax));
    for (int64_t c = 0; c < 32; ++c)
      ASSERT_EQ(codes[r * 32 + c], floatToE4M3(values[r * 32 + c] / scales[r]));
  }
}
