//===- RandomWeights.cpp - deterministic per-tensor random weights --------===//
//
// Part of llmc's runtime: plain C++17, no MLIR. The formula is documented in
// the header; this file only adds name classification and the fill loops.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/RandomWeights.h"

namespace llmc::rt {

namespace {

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

} // namespace

uint64_t tensorNameHash(std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c : name) {
    h ^= uint64_t(static_cast<unsigned char>(c));
    h *= 0x100000001B3ull;
  }
  return h;
}

WeightScale weightScaleFor(std::string_view name) {
  if (endsWith(name, "norm.weight"))
    return WeightScale::Norm;
  if (endsWith(name, ".bias"))
    return WeightScale::Bias;
  if (endsWith(name, "input_scale"))
    return WeightScale::InputScale;
  return WeightScale::FanIn;
}

float fanInFactor(const std::vector<int64_t> &fullShape) {
  int64_t fanIn = fullShape.size() >= 2 ? fullShape.back() : 1;
  if (fanIn <= 0)
    fanIn = 1;
  // Computed in double and rounded once so that every port gets the same
  // float regardless of its single-precision sqrt and divide.
  return float(1.0 / std::sqrt(double(fanIn)));
}

RandomTensorParams::RandomTensorParams(uint64_t seed, std::string_view name,
                                       const std::vector<int64_t> &fullShape)
    : key(randomStreamKey(seed, tensorNameHash(name))),
      scale(weightScaleFor(name)), factor(fanInFactor(fullShape)) {}

Status checkRandomRequest(std::string_view name,
                          const std::vector<int64_t> &fullShape,
                          const std::optional<Slice> &slice) {
  if (slice) {
    if (Status s = checkSlice(fullShape, *slice); !s)
      return Status::error("random tensor '" + std::string(name) +
                           "': " + s.message());
  } else {
    for (int64_t d : fullShape)
      if (d < 0)
        return Status::error("random tensor '" + std::string(name) +
                             "': dimensions must be non-negative");
  }
  return Status::ok();
}

float randomWeightValue(uint64_t seed, std::string_view name,
                        const std::vector<int64_t> &fullShape,
                        uint64_t flatIndex) {
  return RandomTensorParams(seed, name, fullShape).value(flatIndex);
}

Status fillRandom(uint64_t seed, std::string_view name,
                  const std::vector<int64_t> &fullShape,
                  const std::optional<Slice> &slice, float *out) {
  if (Status s = checkRandomRequest(name, fullShape, slice); !s)
    return s;
  RandomTensorParams params(seed, name, fullShape);
  SliceRuns runs = sliceRuns(fullShape, slice ? &*slice : nullptr);
  // One loop per scale, each with the scale a constant, keeps the switch out
  // of the per-element path while scaleUniform stays the only definition.
  auto fill = [&](WeightScale scale) {
    float *dst = out;
    for (int64_t r = 0; r < runs.count; ++r) {
      uint64_t first = uint64_t(runs.start + r * runs.stride);
      for (int64_t i = 0; i < runs.length; ++i)
        *dst++ =
            scaleUniform(randomUniformFromKey(params.key, first + uint64_t(i)),
                         scale, params.factor);
    }
  };
  switch (params.scale) {
  case WeightScale::Norm:
    fill(WeightScale::Norm);
    break;
  case WeightScale::Bias:
    fill(WeightScale::Bias);
    break;
  case WeightScale::InputScale:
    fill(WeightScale::InputScale);
    break;
  case WeightScale::FanIn:
    fill(WeightScale::FanIn);
    break;
  }
  return Status::ok();
}

} // namespace llmc::rt
