//===- RandomWeights.h - deterministic per-tensor weights -------*- C++ -*-===//
//
// Random-weight models must be identical in the CPU reference executor, in
// every sharding plan and (later) in a CUDA kernel, so each element is a pure
// function of (seed, tensor name, flat index in the full tensor): a
// counter-based hash with no generator state. A rank filling its slice gets
// exactly the values of that slice of the full tensor.
//
// The exact definition, to be reproduced bit for bit by other ports (integer
// arithmetic on uint64_t, wrapping mod 2^64):
//
//   G             = 0x9E3779B97F4A7C15
//   splitmix64(x) : z = x + G
//                   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//                   z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//                   return z ^ (z >> 31)
//   nameHash      = FNV-1a 64 of the name's bytes: h = 0xCBF29CE484222325,
//                   then per byte b: h ^= b; h *= 0x100000001B3
//   key           = splitmix64(seed ^ splitmix64(nameHash))
//   bits          = splitmix64(key + flatIndex * G)
//                   (element i is output i of a SplitMix64 stream at key)
//   u             = float(int32_t(bits >> 40) - 2^23) * 2^-23
//                   (exact; in [-1, 1) on a 2^-23 grid)
//
// and the value, by the tensor's name:
//
//   ends in "norm.weight" -> fmaf(0.1f, u, 1.0f)     (RMSNorm weights near 1)
//   ends in ".bias"       -> 0.1f * u
//   ends in "input_scale" -> 2^-5 (a static FP8 activation scale: it
//                            covers |x| <= 14 in E4M3; docs/quantization.md)
//   anything else         -> u * s, s = float(1.0 / sqrt(double(fanIn))),
//                            fanIn = last dim of the full shape for rank >= 2,
//                            else 1 (and 1 if that dim is 0)
//
// Every float step is a single correctly rounded IEEE operation (the norm case
// is an explicit fused multiply-add), so a CUDA port must use fmaf / __fmul_rn
// to stop its compiler from contracting or splitting them differently.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_WEIGHTS_RANDOMWEIGHTS_H
#define LLMC_RUNTIME_WEIGHTS_RANDOMWEIGHTS_H

#include "runtime/abi/Status.h"
#include "runtime/weights/Slice.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace llmc::rt {

/// The SplitMix64 step: adds the golden-ratio increment, then mixes.
inline uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// FNV-1a 64 of the name's bytes.
uint64_t tensorNameHash(std::string_view name);

/// The per-(seed, tensor) stream key.
inline uint64_t randomStreamKey(uint64_t seed, uint64_t nameHash) {
  return splitmix64(seed ^ splitmix64(nameHash));
}

/// Uniform in [-1, 1) on the 2^-23 grid, from a stream key.
inline float randomUniformFromKey(uint64_t key, uint64_t flatIndex) {
  uint64_t bits = splitmix64(key + flatIndex * 0x9E3779B97F4A7C15ull);
  return float(int32_t(bits >> 40) - (int32_t(1) << 23)) * 0x1p-23f;
}

/// Uniform in [-1, 1) for element `flatIndex` of the tensor whose name hashes
/// to `nameHash`.
inline float randomUniform(uint64_t seed, uint64_t nameHash,
                           uint64_t flatIndex) {
  return randomUniformFromKey(randomStreamKey(seed, nameHash), flatIndex);
}

/// How a tensor's uniform values are scaled.
enum class WeightScale {
  Norm,  ///< 1 + 0.1 u: RMSNorm weights ("...norm.weight").
  Bias,  ///< 0.1 u: biases ("....bias").
  InputScale, ///< 2^-5: static FP8 activation scales ("...input_scale").
  FanIn, ///< u / sqrt(fanIn): everything else.
};

/// The scale a tensor called `name` gets.
WeightScale weightScaleFor(std::string_view name);

/// float(1 / sqrt(fanIn)) with fanIn the last dim of `fullShape` for rank >= 2,
/// else 1 (also 1 for a last dim of 0).
float fanInFactor(const std::vector<int64_t> &fullShape);

/// Applies `scale` to a uniform value; `factor` is fanInFactor() (ignored
/// unless scale is FanIn).
inline float scaleUniform(float u, WeightScale scale, float factor) {
  switch (scale) {
  case WeightScale::Norm:
    return std::fma(0.1f, u, 1.0f);
  case WeightScale::Bias:
    return 0.1f * u;
  case WeightScale::InputScale:
    return 0x1p-5f;
  case WeightScale::FanIn:
    break;
  }
  return u * factor;
}

/// Everything about one tensor that does not depend on the element, so hot
/// loops pay one hash per element.
struct RandomTensorParams {
  uint64_t key = 0;
  WeightScale scale = WeightScale::FanIn;
  float factor = 1.0f;

  RandomTensorParams() = default;
  RandomTensorParams(uint64_t seed, std::string_view name,
                     const std::vector<int64_t> &fullShape);

  /// The value of element `flatIndex` of the full tensor.
  float value(uint64_t flatIndex) const {
    return scaleUniform(randomUniformFromKey(key, flatIndex), scale, factor);
  }
};

/// The value of element `flatIndex` (row-major, of the FULL tensor) of the
/// random tensor `name` with shape `fullShape`.
float randomWeightValue(uint64_t seed, std::string_view name,
                        const std::vector<int64_t> &fullShape,
                        uint64_t flatIndex);

/// As above, from a precomputed tensorNameHash() and scale; `factor` is
/// fanInFactor(fullShape).
inline float randomWeightValue(uint64_t seed, uint64_t nameHash,
                               WeightScale scale, float factor,
                               uint64_t flatIndex) {
  return scaleUniform(randomUniform(seed, nameHash, flatIndex), scale, factor);
}

/// Checks a fillRandom/fillRandomBf16 request: the slice fits the full
/// shape and no dimension is negative; the error names the tensor.
Status checkRandomRequest(std::string_view name,
                          const std::vector<int64_t> &fullShape,
                          const std::optional<Slice> &slice);

/// Fills `out` with the whole random tensor, or with `slice` of it (row-major,
/// numElements(slicedShape(fullShape, *slice)) floats). Each element is
/// computed from its flat index in the full tensor, so any plan's slices
/// agree with the unsharded tensor. Fails only if the slice is invalid.
Status fillRandom(uint64_t seed, std::string_view name,
                  const std::vector<int64_t> &fullShape,
                  const std::optional<Slice> &slice, float *out);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_WEIGHTS_RANDOMWEIGHTS_H
