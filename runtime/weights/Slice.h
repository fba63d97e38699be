//===- Slice.h - one-dimension slices of row-major tensors ------*- C++ -*-===//
//
// After sharding, each weight records which slice a rank loads. A slice cuts
// one dimension of a row-major tensor; everything here works from that shape
// arithmetic so a rank can read only its own bytes.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_WEIGHTS_SLICE_H
#define LLMC_RUNTIME_WEIGHTS_SLICE_H

#include "runtime/abi/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace llmc::rt {

/// Elements [offset, offset + size) of dimension `dim`; other dimensions are
/// kept whole.
struct Slice {
  int dim = 0;
  int64_t offset = 0;
  int64_t size = 0;
};

/// "[d0, d1, ...]", for messages.
std::string shapeString(const std::vector<int64_t> &shape);

/// Product of the dimensions (1 for a 0-d shape). Assumes non-negative dims
/// whose product fits in int64_t, as checked when a file is opened.
int64_t numElements(const std::vector<int64_t> &shape);

/// Checks that every dim is non-negative, 0 <= slice.dim < rank,
/// 0 <= offset, 0 <= size and offset + size <= shape[dim]. The message names
/// the rule and the values.
Status checkSlice(const std::vector<int64_t> &shape, const Slice &slice);

/// `shape` with dimension slice.dim replaced by slice.size.
std::vector<int64_t> slicedShape(const std::vector<int64_t> &shape,
                                 const Slice &slice);

/// A slice of a row-major tensor is `count` contiguous runs of `length`
/// elements; run r starts at flat element `start + r * stride` of the full
/// tensor. The whole tensor is one run.
struct SliceRuns {
  int64_t count = 0;
  int64_t length = 0;
  int64_t start = 0;
  int64_t stride = 0;
};

/// The runs of `slice` (or of the whole tensor when slice is null). Requires
/// checkSlice(shape, *slice) to have passed.
SliceRuns sliceRuns(const std::vector<int64_t> &shape, const Slice *slice);

/// Copies `slice` of the row-major tensor `full` into `out`, which holds
/// numElements(slicedShape(shape, slice)) elements. Requires checkSlice.
void copySlice(const float *full, const std::vector<int64_t> &shape,
               const Slice &slice, float *out);

/// Byte version of copySlice for elements of `elementSize` bytes; neither
/// pointer needs any alignment.
void copySliceBytes(const void *full, const std::vector<int64_t> &shape,
                    const Slice &slice, size_t elementSize, void *out);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_WEIGHTS_SLICE_H
