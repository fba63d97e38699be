//===- Fp8Weights.h - FP8 weights and scales for a rank's slice -*- C++ -*-===//
//
// An FP8 weight symbol (llm.weight ... f8E4M3FN scale @S) is loaded either
// as stored by an FP8 checkpoint (F8_E4M3 codes plus the scale tensor S) or
// quantized while loading from a wider source: a bf16/f16/f32 checkpoint
// tensor, or random weights (the bf16 rounding of the per-tensor generator,
// i.e. what `llm-checkpoint` would store). Either way a rank asks only for
// its slice, and every plan gets identical codes and scales:
//
//   * per-channel scales (S is [rows, 1]) come from the absmax of each FULL
//     row, so a rank holding a column block (row-parallel weight) still reads
//     its rows in full to compute them; per-tensor scales (S has one
//     element) come from the whole tensor;
//   * codes are floatToE4M3(w / scale) of the source values (runtime/
//     weights/Fp8.h).
//
// The CPU reference executor and llm-checkpoint use these functions; the GPU
// weight loader must use them too. Plain C++17, no MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_WEIGHTS_FP8WEIGHTS_H
#define LLMC_RUNTIME_WEIGHTS_FP8WEIGHTS_H

#include "runtime/weights/Safetensors.h"
#include "runtime/weights/Slice.h"
#include "runtime/abi/Status.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace llmc::rt {

/// How the scales of a 2-D FP8 weight [rows, cols] are laid out.
enum class Fp8Granularity {
  PerChannel, ///< One scale per row (output channel): scale shape [rows, 1].
  PerTensor,  ///< One scale for the whole tensor: scale shape [1].
};

/// The granularity a scale of full shape `scaleShape` gives a weight of
/// `rows` rows: one element -> PerTensor; [rows, 1] or [rows] ->
/// PerChannel; anything else is an error naming both shapes.
Expected<Fp8Granularity>
fp8GranularityOf(const std::vector<int64_t> &scaleShape, int64_t rows);

/// Reads `slice` (nullopt: the whole tensor) of a source tensor as floats.
using SourceReader =
    std::function<Status(const std::optional<Slice> &slice, float *out)>;

/// Scales of rows [rowBegin, rowBegin + rowCount) of the 2-D source of
/// `fullShape` (PerChannel), or its single scale (PerTensor, rowCount 1),
/// from the absmax of full rows, read a bounded number of rows at a time.
Status fp8ScalesFromSource(const SourceReader &read,
                           const std::vector<int64_t> &fullShape,
                           Fp8Granularity granularity, int64_t rowBegin,
                           int64_t rowCount, float *scales);

/// The E4M3 codes of `slice` (nullopt: all) of the 2-D source of
/// `fullShape`, quantized with the scales fp8ScalesFromSource gives its
/// rows.
Status fp8CodesFromSource(const SourceReader &read,
                          const std::vector<int64_t> &fullShape,
                          Fp8Granularity granularity,
                          const std::optional<Slice> &slice, uint8_t *codes);

/// One FP8 weight symbol: the weight and its scale tensor, by checkpoint
/// name and full shape.
struct Fp8WeightSpec {
  std::string name;
  std::vector<int64_t> fullShape;
  std::string scaleName;
  std::vector<int64_t> scaleFullShape;
};

/// Checks that `checkpoint` can provide `spec`: the weight is 2-D with the
/// declared shape and stored as F8_E4M3 (then the scale tensor must be
/// present, in a float dtype, with a shape compatible with the declared
/// one: a stored per-tensor scale broadcasts to a declared per-channel one)
/// or in a float dtype convertible to f32 (quantized while loading).
Status checkFp8Checkpoint(const Checkpoint &checkpoint,
                          const Fp8WeightSpec &spec);

/// Where FP8 weights come from: a checkpoint, or random weights of `seed`
/// when `checkpoint` is null.
struct Fp8Source {
  const Checkpoint *checkpoint = nullptr;
  uint64_t seed = 0;

  /// The codes of `slice` (nullopt: all) of the weight of `spec`.
  Status codes(const Fp8WeightSpec &spec, const std::optional<Slice> &slice,
               uint8_t *out) const;
  /// The scales of `spec` as the model declares them (scaleFullShape), or
  /// `slice` of them (a block of rows of a per-channel scale), in fp32.
  Status scales(const Fp8WeightSpec &spec, const std::optional<Slice> &slice,
                float *out) const;
};

} // namespace llmc::rt

#endif // LLMC_RUNTIME_WEIGHTS_FP8WEIGHTS_H
