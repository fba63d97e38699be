//===- Slice.cpp - one-dimension slices of row-major tensors --------------===//
//
// Part of llmc's runtime: plain C++17, no MLIR.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/Slice.h"

#include <cstring>
#include <string>

namespace llmc::rt {

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Status checkSlice(const std::vector<int64_t> &shape, const Slice &slice) {
  std::string where = "slice {dim " + std::to_string(slice.dim) + ", offset " +
                      std::to_string(slice.offset) + ", size " +
                      std::to_string(slice.size) + "} of shape " +
                      shapeString(shape);
  for (int64_t d : shape)
    if (d < 0)
      return Status::error(where + ": dimensions must be non-negative");
  if (slice.dim < 0 || size_t(slice.dim) >= shape.size())
    return Status::error(where + ": dim must be in [0, " +
                         std::to_string(shape.size()) + ")");
  if (slice.offset < 0 || slice.size < 0)
    return Status::error(where + ": offset and size must be non-negative");
  // Written as a subtraction so a huge offset cannot overflow the sum.
  if (slice.offset > shape[slice.dim] ||
      slice.size > shape[slice.dim] - slice.offset)
    return Status::error(where + ": offset + size must be <= " +
                         std::to_string(shape[slice.dim]));
  return Status::ok();
}

std::vector<int64_t> slicedShape(const std::vector<int64_t> &shape,
                                 const Slice &slice) {
  std::vector<int64_t> result = shape;
  result[slice.dim] = slice.size;
  return result;
}

SliceRuns sliceRuns(const std::vector<int64_t> &shape, const Slice *slice) {
  SliceRuns runs;
  if (!slice) {
    runs.count = 1;
    runs.length = numElements(shape);
    return runs;
  }
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < slice->dim; ++i)
    outer *= shape[i];
  for (size_t i = size_t(slice->dim) + 1; i < shape.size(); ++i)
    inner *= shape[i];
  runs.count = outer;
  runs.length = slice->size * inner;
  runs.start = slice->offset * inner;
  runs.stride = shape[slice->dim] * inner;
  return runs;
}

void copySliceBytes(const void *full, const std::vector<int64_t> &shape,
                    const Slice &slice, size_t elementSize, void *out) {
  SliceRuns runs = sliceRuns(shape, &slice);
  const auto *src = static_cast<const unsigned char *>(full);
  auto *dst = static_cast<unsigned char *>(out);
  size_t runBytes = size_t(runs.length) * elementSize;
  if (runBytes == 0)
    return;
  for (int64_t r = 0; r < runs.count; ++r)
    std::memcpy(dst + size_t(r) * runBytes,
                src + size_t(runs.start + r * runs.stride) * elementSize,
                runBytes);
}

void copySlice(const float *full, const std::vector<int64_t> &shape,
               const Slice &slice, float *out) {
  copySliceBytes(full, shape, slice, sizeof(float), out);
}

} // namespace llmc::rt
