//===- InterpreterQuantized.cpp - FP8 ops and weights of one rank ---------===//
//
// FP8 weights arrive through runtime/weights/Fp8Weights.h, so every plan's
// ranks hold the same codes and scales as the unsharded program; FP8
// activations and KV entries are rounded by runtime/weights/Fp8.h, as the
// GPU rounds them.
//
//===----------------------------------------------------------------------===//

#include "llmc/Reference/Interpreter.h"
#include "llmc/Reference/Quantized.h"
#include "llmc/Support/Try.h"

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;
using mlir::Value;

namespace llmc::ref {

namespace {

std::vector<int64_t> fullShapeOf(llm::WeightOp weight) {
  if (std::optional<llm::WeightSliceAttr> slice = weight.getSlice())
    return {slice->getFullShape().begin(), slice->getFullShape().end()};
  llvm::ArrayRef<int64_t> shape = weight.getTensorType().getShape();
  return {shape.begin(), shape.end()};
}

} // namespace

Expected<Tensor>
Interpreter::loadWeightValues(llm::WeightOp weight,
                              const std::vector<int64_t> &fullShape,
                              const std::optional<rt::Slice> &slice) {
  llvm::StringRef name = weight.getSymName();
  llm::WeightOp fp8 =
      weight.getScaleAttr() ? weight : program_.scaleOwners.lookup(name);
  if (!fp8)
    return weights_.load(name, fullShape, slice);
  llvm::StringRef scaleName = fp8.getScaleAttr().getValue();
  auto scale = program_.weights.find(scaleName);
  if (scale == program_.weights.end())
    return createStringError("FP8 weight '%s' names scale '%s', which is not "
                             "an llm.weight of the module",
                             fp8.getSymName().str().c_str(),
                             scaleName.str().c_str());
  rt::Fp8WeightSpec spec{fp8.getSymName().str(), fullShapeOf(fp8),
                         scaleName.str(), fullShapeOf(scale->second)};
  if (fp8 == weight)
    return weights_.loadFp8(spec, slice);
  return weights_.loadFp8Scales(spec, slice);
}

Expected<RowScales> Interpreter::rowScales(Value scale) {
  if (!scale)
    return RowScales{};
  LLMC_TRY(t, getTensor(scale));
  return RowScales{t};
}

const Tensor &Interpreter::cachedForm(Value cache, const Tensor &kv,
                                      int64_t headDim, Tensor &storage) const {
  auto type = cache ? llvm::dyn_cast<llm::KVCacheType>(cache.getType())
                    : llm::KVCacheType();
  if (!type || !type.isFp8())
    return kv;
  storage = roundTripKeysValues(kv, headDim);
  return storage;
}

Error Interpreter::execTokenScale(llm::TokenScaleOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  bind(op.getResult(), tokenScale(*x));
  return Error::success();
}

Error Interpreter::execQuantize(llm::QuantizeOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  LLMC_TRY(scale, getTensor(op.getScale()));
  LLMC_TRY(q, quantizeE4M3(*x, *scale));
  bind(op.getResult(), std::move(q));
  return Error::success();
}

} // namespace llmc::ref
