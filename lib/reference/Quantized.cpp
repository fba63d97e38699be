//===- Quantized.cpp - FP8 math of the llm ops, as the GPU rounds ---------===//

#include "llmc/Reference/Quantized.h"

#include "runtime/weights/Fp8.h"

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;

namespace llmc::ref {

namespace {

/// Whether `scale` holds one value per row of x ([..., 1]) or one in all.
llvm::Error checkRowScale(llvm::StringRef op, const Tensor &x,
                          const Tensor &scale) {
  if (scale.numElements() == 1)
    return llvm::Error::success();
  std::vector<int64_t> perRow = x.shape;
  if (!perRow.empty())
    perRow.back() = 1;
  if (scale.shape != perRow)
    return createStringError("%s: scale %s must be %s (one per token) or one "
                             "element",
                             op.str().c_str(), shapeString(scale.shape).c_str(),
                             shapeString(perRow).c_str());
  return llvm::Error::success();
}

float rowScale(const Tensor &scale, int64_t row) {
  return scale.numElements() == 1 ? scale.data[0] : scale.data[row];
}

} // namespace

Expected<Tensor> scaledLinear(const Tensor &x, const Tensor &weight,
                              RowScales weightScale, const Tensor *inputScale,
                              const Tensor *bias) {
  if (Error e = checkRowScales("linear", "weight", weightScale,
                               weight.rank() >= 1 ? weight.dim(0) : 0))
    return std::move(e);
  if (inputScale)
    if (Error e = checkRowScale("linear", x, *inputScale))
      return std::move(e);
  Expected<Tensor> product = linear(x, weight);
  if (!product)
    return product.takeError();
  Tensor y = std::move(*product);
  int64_t out = y.innerSize();
  if (bias && (bias->rank() != 1 || bias->dim(0) != out))
    return createStringError("linear: bias must be [%lld], got %s",
                             (long long)out, shapeString(bias->shape).c_str());
  for (int64_t r = 0; r < y.outerSize(); ++r) {
    float si = inputScale ? rowScale(*inputScale, r) : 1.0f;
    for (int64_t o = 0; o < out; ++o) {
      float &v = y.data[r * out + o];
      v = v * si * weightScale(o);
      if (bias)
        v += bias->data[o];
    }
  }
  return y;
}

Tensor tokenScale(const Tensor &x) {
  std::vector<int64_t> shape = x.shape;
  if (!shape.empty())
    shape.back() = 1;
  Tensor s(shape);
  int64_t n = x.innerSize();
  for (int64_t r = 0; r < x.outerSize(); ++r)
    s.data[r] =
        rt::fp8ScaleForAbsmax(rt::absMax(x.data.data() + r * n, size_t(n)));
  return s;
}

Expected<Tensor> quantizeE4M3(const Tensor &x, const Tensor &scale) {
  if (Error e = checkRowScale("quantize", x, scale))
    return std::move(e);
  Tensor q(x.shape);
  int64_t n = x.innerSize();
  for (int64_t r = 0; r < x.outerSize(); ++r) {
    float s = rowScale(scale, r);
    for (int64_t i = 0; i < n; ++i)
      q.data[r * n + i] =
          rt::e4m3ToFloat(rt::floatToE4M3(x.data[r * n + i] / s));
  }
  return q;
}

Tensor roundTripKeysValues(const Tensor &kv, int64_t headDim) {
  // Head vectors are contiguous runs of headDim: [B, S, kvHeads, headDim].
  Tensor out = kv;
  int64_t vectors = kv.numElements() / headDim;
  for (int64_t v = 0; v < vectors; ++v) {
    float *head = out.data.data() + v * headDim;
    float scale = rt::fp8ScaleForAbsmax(rt::absMax(head, size_t(headDim)));
    for (int64_t i = 0; i < headDim; ++i)
      head[i] = rt::roundTripE4M3(head[i], scale);
  }
  return out;
}

Tensor decodeE4M3(const std::vector<uint8_t> &codes,
                  std::vector<int64_t> shape) {
  Tensor t(std::move(shape));
  for (size_t i = 0; i < codes.size() && i < t.data.size(); ++i)
    t.data[i] = rt::e4m3ToFloat(codes[i]);
  return t;
}

} // namespace llmc::ref
