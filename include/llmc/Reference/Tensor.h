//===- Tensor.h - row-major host tensors of the reference executor -*- C++ -*-===//
//
// The CPU reference executor computes in fp32 on plain row-major tensors: a
// shape and a std::vector of elements. Token ids, positions and expert ids
// use the int64 variant. Nothing here knows about MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_TENSOR_H
#define LLMC_REFERENCE_TENSOR_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace llmc::ref {

/// Product of the dims (1 for a 0-d shape).
int64_t numElements(llvm::ArrayRef<int64_t> shape);

/// "2x3x4" ("scalar" for a 0-d shape), for error messages.
std::string shapeString(llvm::ArrayRef<int64_t> shape);

/// A dense row-major tensor of T.
template <typename T> struct TensorOf {
  std::vector<int64_t> shape;
  std::vector<T> data;

  TensorOf() = default;
  /// A tensor of `shape` with every element `fill`.
  explicit TensorOf(std::vector<int64_t> shape, T fill = T())
      : shape(std::move(shape)),
        data(static_cast<size_t>(ref::numElements(this->shape)), fill) {}
  TensorOf(std::vector<int64_t> shape, std::vector<T> data)
      : shape(std::move(shape)), data(std::move(data)) {}

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const { return shape[static_cast<size_t>(i)]; }
  int64_t numElements() const { return static_cast<int64_t>(data.size()); }
  /// Size of the last dim (1 for a 0-d tensor).
  int64_t innerSize() const { return shape.empty() ? 1 : shape.back(); }
  /// Number of rows of the last dim: numElements() / innerSize().
  int64_t outerSize() const {
    return innerSize() == 0 ? 0 : numElements() / innerSize();
  }
};

/// fp32 activations and weights.
using Tensor = TensorOf<float>;
/// Token ids, positions, expert ids.
using IntTensor = TensorOf<int64_t>;
/// What collectives carry: either kind of tensor.
using AnyTensor = std::variant<Tensor, IntTensor>;

/// Shape of either kind of tensor.
inline const std::vector<int64_t> &shapeOf(const AnyTensor &t) {
  return std::visit(
      [](const auto &x) -> const std::vector<int64_t> & { return x.shape; },
      t);
}

/// Elements [start, start + size) of dim `axis`, other dims whole.
template <typename T>
TensorOf<T> sliceAlong(const TensorOf<T> &t, int64_t axis, int64_t start,
                       int64_t size) {
  std::vector<int64_t> shape = t.shape;
  shape[axis] = size;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= t.shape[i];
  for (int64_t i = axis + 1; i < t.rank(); ++i)
    inner *= t.shape[i];
  TensorOf<T> out(shape);
  int64_t full = t.shape[axis];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t a = 0; a < size; ++a)
      std::copy_n(t.data.begin() + ((o * full + start + a) * inner), inner,
                  out.data.begin() + ((o * size + a) * inner));
  return out;
}

/// Concatenates `parts` along dim `axis`; every other dim must agree.
template <typename T>
llvm::Expected<TensorOf<T>> concatAlong(llvm::ArrayRef<TensorOf<T>> parts,
                                        int64_t axis) {
  if (parts.empty())
    return llvm::createStringError("concatenation of no tensors");
  const std::vector<int64_t> &first = parts.front().shape;
  if (axis < 0 || axis >= static_cast<int64_t>(first.size()))
    return llvm::createStringError("concatenation axis %lld is out of range "
                                   "for a %s tensor",
                                   (long long)axis, shapeString(first).c_str());
  std::vector<int64_t> shape = first;
  shape[axis] = 0;
  for (const TensorOf<T> &p : parts) {
    bool same = p.shape.size() == first.size();
    for (size_t i = 0; same && i < first.size(); ++i)
      same = static_cast<int64_t>(i) == axis || p.shape[i] == first[i];
    if (!same)
      return llvm::createStringError(
          "cannot concatenate a %s tensor with a %s tensor along dim %lld",
          shapeString(first).c_str(), shapeString(p.shape).c_str(),
          (long long)axis);
    shape[axis] += p.shape[axis];
  }
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  TensorOf<T> out(shape);
  auto dst = out.data.begin();
  for (int64_t o = 0; o < outer; ++o)
    for (const TensorOf<T> &p : parts) {
      int64_t run = p.shape[axis] * inner;
      dst = std::copy_n(p.data.begin() + o * run, run, dst);
    }
  return out;
}

} // namespace llmc::ref

#endif // LLMC_REFERENCE_TENSOR_H
