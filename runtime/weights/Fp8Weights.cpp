//===- Fp8Weights.cpp - FP8 weights and scales for a rank's slice ---------===//
//
// Part of llmc's runtime: plain C++17, no MLIR.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/Fp8Weights.h"

#include "runtime/weights/DType.h"
#include "runtime/weights/Fp8.h"
#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <cmath>

namespace llmc::rt {

namespace {

/// Rows read at once: about 16 MiB of floats, at least one row.
int64_t chunkRows(int64_t cols) {
  return std::max<int64_t>(1, (int64_t(1) << 22) / std::max<int64_t>(1, cols));
}

Status require2D(const std::vector<int64_t> &fullShape) {
  if (fullShape.size() != 2 || fullShape[0] < 1 || fullShape[1] < 1)
    return Status::error("FP8 weights must be non-empty matrices [rows, "
                         "cols], got " +
                         shapeString(fullShape));
  return Status::ok();
}

/// Calls `visit(row, values)` for rows [begin, end) of the source, each row
/// whole, reading chunkRows() rows at a time.
template <class Visit>
Status forEachFullRow(const SourceReader &read,
                      const std::vector<int64_t> &fullShape, int64_t begin,
                      int64_t end, Visit visit) {
  int64_t cols = fullShape[1], step = chunkRows(cols);
  std::vector<float> buffer;
  for (int64_t first = begin; first < end; first += step) {
    int64_t count = std::min(step, end - first);
    buffer.resize(size_t(count * cols));
    if (Status s = read(Slice{0, first, count}, buffer.data()); !s)
      return s;
    for (int64_t r = 0; r < count; ++r)
      visit(first + r, buffer.data() + r * cols);
  }
  return Status::ok();
}

Expected<float> tensorScaleFromSource(const SourceReader &read,
                                      const std::vector<int64_t> &fullShape) {
  float absmax = 0.0f;
  Status s = forEachFullRow(
      read, fullShape, 0, fullShape[0], [&](int64_t, const float *row) {
        absmax = std::max(absmax, absMax(row, size_t(fullShape[1])));
      });
  if (!s)
    return Expected<float>::fromError(s);
  return fp8ScaleForAbsmax(absmax);
}

/// Rows and columns a slice of a 2-D tensor covers.
struct Block {
  int64_t rowBegin, rowEnd, colBegin, colEnd;
};

Block blockOf(const std::vector<int64_t> &fullShape,
              const std::optional<Slice> &slice) {
  Block b{0, fullShape[0], 0, fullShape[1]};
  if (slice && slice->dim == 0) {
    b.rowBegin = slice->offset;
    b.rowEnd = slice->offset + slice->size;
  } else if (slice) {
    b.colBegin = slice->offset;
    b.colEnd = slice->offset + slice->size;
  }
  return b;
}

Status checkScaleValues(const std::string &name, const float *scales,
                        int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (!(std::isfinite(scales[i]) && scales[i] > 0.0f))
      return Status::error("FP8 scale '" + name + "' holds " +
                           std::to_string(scales[i]) + " at element " +
                           std::to_string(i) +
                           "; FP8 scales must be finite and > 0");
  return Status::ok();
}

SourceReader randomReader(uint64_t seed, const Fp8WeightSpec &spec) {
  // The values a bf16 checkpoint written by llm-checkpoint holds, so that
  // random weights and that checkpoint quantize to the same codes.
  return [seed, &spec](const std::optional<Slice> &slice, float *out) {
    if (Status s = fillRandom(seed, spec.name, spec.fullShape, slice, out); !s)
      return s;
    int64_t n = numElements(slice ? slicedShape(spec.fullShape, *slice)
                                  : spec.fullShape);
    for (int64_t i = 0; i < n; ++i)
      out[i] = bf16ToFloat(floatToBf16(out[i]));
    return Status::ok();
  };
}

SourceReader checkpointReader(const Checkpoint &checkpoint,
                              const Fp8WeightSpec &spec) {
  return [&checkpoint, &spec](const std::optional<Slice> &slice, float *out) {
    return checkpoint.readF32(spec.name, out, slice);
  };
}

} // namespace

Expected<Fp8Granularity>
fp8GranularityOf(const std::vector<int64_t> &scaleShape, int64_t rows) {
  if (numElements(scaleShape) == 1)
    return Fp8Granularity::PerTensor;
  if ((scaleShape.size() == 2 && scaleShape[0] == rows && scaleShape[1] == 1) ||
      (scaleShape.size() == 1 && scaleShape[0] == rows))
    return Fp8Granularity::PerChannel;
  return Expected<Fp8Granularity>::fromError(Status::error(
      "an FP8 scale of shape " + shapeString(scaleShape) +
      " fits neither a per-tensor scale (one element) nor per-channel "
      "scales of a weight with " +
      std::to_string(rows) + " rows ([" + std::to_string(rows) + ", 1])"));
}

Status fp8ScalesFromSource(const SourceReader &read,
                           const std::vector<int64_t> &fullShape,
                           Fp8Granularity granularity, int64_t rowBegin,
                           int64_t rowCount, float *scales) {
  if (Status s = require2D(fullShape); !s)
    return s;
  if (granularity == Fp8Granularity::PerTensor) {
    Expected<float> scale = tensorScaleFromSource(read, fullShape);
    if (!scale)
      return scale.status();
    *scales = *scale;
    return Status::ok();
  }
  if (rowBegin < 0 || rowCount < 0 || rowBegin > fullShape[0] - rowCount)
    return Status::error("FP8 scale rows [" + std::to_string(rowBegin) + ", " +
                         std::to_string(rowBegin + rowCount) +
                         ") are outside the " + std::to_string(fullShape[0]) +
                         " rows of the weight");
  int64_t cols = fullShape[1];
  return forEachFullRow(read, fullShape, rowBegin, rowBegin + rowCount,
                        [&](int64_t row, const float *values) {
                          scales[row - rowBegin] =
                              fp8ScaleForAbsmax(absMax(values, size_t(cols)));
                        });
}

Status fp8CodesFromSource(const SourceReader &read,
                          const std::vector<int64_t> &fullShape,
                          Fp8Granularity granularity,
                          const std::optional<Slice> &slice, uint8_t *codes) {
  if (Status s = require2D(fullShape); !s)
    return s;
  if (slice)
    if (Status s = checkSlice(fullShape, *slice); !s)
      return s;
  float tensorScale = 0.0f;
  if (granularity == Fp8Granularity::PerTensor) {
    Expected<float> scale = tensorScaleFromSource(read, fullShape);
    if (!scale)
      return scale.status();
    tensorScale = *scale;
  }
  Block b = blockOf(fullShape, slice);
  int64_t cols = fullShape[1], width = b.colEnd - b.colBegin;
  // Full rows are read even for a column block: the row's scale needs them.
  return forEachFullRow(
      read, fullShape, b.rowBegin, b.rowEnd,
      [&](int64_t row, const float *values) {
        float scale = granularity == Fp8Granularity::PerTensor
                          ? tensorScale
                          : fp8ScaleForAbsmax(absMax(values, size_t(cols)));
        quantizeE4M3(values + b.colBegin, size_t(width), scale,
                     codes + (row - b.rowBegin) * width);
      });
}

namespace {
/// Checks `spec` (a 2-D weight, a scale that fits it) and returns the
/// granularity its declared scale gives.
Expected<Fp8Granularity> checkSpec(const Fp8WeightSpec &spec) {
  if (Status s = require2D(spec.fullShape); !s)
    return Expected<Fp8Granularity>::fromError(
        Status::error("weight '" + spec.name + "': " + s.message()));
  Expected<Fp8Granularity> granularity =
      fp8GranularityOf(spec.scaleFullShape, spec.fullShape[0]);
  if (!granularity)
    return Expected<Fp8Granularity>::fromError(Status::error(
        "scale '" + spec.scaleName + "': " + granularity.status().message()));
  return granularity;
}
} // namespace

Status checkFp8Checkpoint(const Checkpoint &checkpoint,
                          const Fp8WeightSpec &spec) {
  Expected<Fp8Granularity> declared = checkSpec(spec);
  if (!declared)
    return declared.status();
  const SafetensorsFile *file = nullptr;
  const TensorInfo *info = checkpoint.find(spec.name, &file);
  if (!info)
    return Status::error("tensor '" + spec.name +
                         "' is missing from the checkpoint (an FP8 weight, "
                         "shape " +
                         shapeString(spec.fullShape) + ")");
  if (info->shape != spec.fullShape)
    return Status::error(file->path() + ": tensor '" + spec.name +
                         "' has shape " + shapeString(info->shape) +
                         " but the model declares " +
                         shapeString(spec.fullShape));
  if (info->dtype != DType::F8_E4M3) {
    if (isConvertibleToF32(info->dtype))
      return Status::ok(); // Quantized while loading.
    return Status::error(file->path() + ": tensor '" + spec.name +
                         "' is stored as " + dtypeName(info->dtype) +
                         "; an FP8 weight needs F8_E4M3 codes (with its "
                         "scale) or a float tensor (F32, F16, BF16) to "
                         "quantize while loading");
  }
  const SafetensorsFile *scaleFile = nullptr;
  const TensorInfo *scale = checkpoint.find(spec.scaleName, &scaleFile);
  if (!scale)
    return Status::error(file->path() + ": tensor '" + spec.name +
                         "' holds F8_E4M3 codes but its scale '" +
                         spec.scaleName + "' is missing from the checkpoint");
  if (!isConvertibleToF32(scale->dtype))
    return Status::error(scaleFile->path() + ": FP8 scale '" + spec.scaleName +
                         "' is stored as " + dtypeName(scale->dtype) +
                         "; scales must be F32, F16 or BF16");
  Expected<Fp8Granularity> stored =
      fp8GranularityOf(scale->shape, spec.fullShape[0]);
  if (!stored)
    return Status::error(scaleFile->path() + ": FP8 scale '" + spec.scaleName +
                         "': " + stored.status().message());
  if (*stored == Fp8Granularity::PerChannel &&
      *declared == Fp8Granularity::PerTensor)
    return Status::error(scaleFile->path() + ": FP8 scale '" + spec.scaleName +
                         "' is per-channel " + shapeString(scale->shape) +
                         " but the model declares one per-tensor scale " +
                         shapeString(spec.scaleFullShape) +
                         "; quantize the model per channel (llm-quantize "
                         "writes [rows, 1] scales)");
  return Status::ok();
}

Status Fp8Source::codes(const Fp8WeightSpec &spec,
                        const std::optional<Slice> &slice, uint8_t *out) const {
  Expected<Fp8Granularity> granularity = checkSpec(spec);
  if (!granularity)
    return granularity.status();
  if (!checkpoint)
    return fp8CodesFromSource(randomReader(seed, spec), spec.fullShape,
                              *granularity, slice, out);
  if (Status s = checkFp8Checkpoint(*checkpoint, spec); !s)
    return s;
  if (checkpoint->find(spec.name)->dtype == DType::F8_E4M3)
    return checkpoint->readBytes(spec.name, out, slice);
  return fp8CodesFromSource(checkpointReader(*checkpoint, spec), spec.fullShape,
                            *granularity, slice, out);
}

Status Fp8Source::scales(const Fp8WeightSpec &spec,
                         const std::optional<Slice> &slice, float *out) const {
  Expected<Fp8Granularity> granularity = checkSpec(spec);
  if (!granularity)
    return granularity.status();
  int64_t rowBegin = 0, rowCount = spec.fullShape[0];
  if (*granularity == Fp8Granularity::PerTensor) {
    if (slice)
      return Status::error("per-tensor FP8 scale '" + spec.scaleName +
                           "' cannot be sliced");
    rowCount = 1;
  } else if (slice) {
    if (slice->dim != 0)
      return Status::error("per-channel FP8 scale '" + spec.scaleName +
                           "' can only be sliced along its rows (dim 0)");
    if (Status s = checkSlice(spec.scaleFullShape, *slice); !s)
      return Status::error("FP8 scale '" + spec.scaleName +
                           "': " + s.message());
    rowBegin = slice->offset;
    rowCount = slice->size;
  }
  if (!checkpoint)
    return fp8ScalesFromSource(randomReader(seed, spec), spec.fullShape,
                               *granularity, rowBegin, rowCount, out);
  if (Status s = checkFp8Checkpoint(*checkpoint, spec); !s)
    return s;
  if (checkpoint->find(spec.name)->dtype != DType::F8_E4M3)
    return fp8ScalesFromSource(checkpointReader(*checkpoint, spec),
                               spec.fullShape, *granularity, rowBegin, rowCount,
                               out);
  const TensorInfo *stored = checkpoint->find(spec.scaleName);
  if (numElements(stored->shape) == 1) {
    // A per-tensor scale broadcasts exactly to per-channel ones.
    float value;
    if (Status s = checkpoint->readF32(spec.scaleName, &value); !s)
      return s;
    std::fill_n(out, rowCount, value);
  } else if (Status s = checkpoint->readF32(spec.scaleName, out,
                                            Slice{0, rowBegin, rowCount});
             !s) {
    return s;
  }
  return checkScaleValues(spec.scaleName, out, rowCount);
}

} // namespace llmc::rt
