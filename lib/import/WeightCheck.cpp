//===- WeightCheck.cpp - graph weights against a checkpoint ---------------===//
//
// A graph is only useful with a checkpoint that provides every tensor it
// names, in the shape and dtype it declares; this check runs at import time
// so a mismatched checkpoint is refused before anything is compiled.
//
//===----------------------------------------------------------------------===//

#include "llmc/Import/Importer.h"

#include "llmc/Dialect/Llm/LlmDialect.h"
#include "runtime/weights/Fp8Weights.h"
#include "runtime/weights/Safetensors.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace llmc {

std::string safetensorsDTypeName(Type type) {
  if (type.isBF16())
    return "BF16";
  if (type.isF16())
    return "F16";
  if (type.isF32())
    return "F32";
  if (type.isF64())
    return "F64";
  if (type.isInteger(64))
    return "I64";
  if (type.isInteger(32))
    return "I32";
  if (isa<Float8E4M3FNType>(type))
    return "F8_E4M3";
  return "";
}

namespace {

/// Full shape of a weight symbol (its slice's when sharded).
std::vector<int64_t> fullShapeOf(llm::WeightOp weight) {
  if (auto slice = weight.getSliceAttr())
    return {slice.getFullShape().begin(), slice.getFullShape().end()};
  ArrayRef<int64_t> shape = weight.getTensorType().getShape();
  return {shape.begin(), shape.end()};
}

/// The FP8 scale symbols of `module`: each FP8 weight's scale (checked with
/// its weight) and the static input scales llm.quantize reads (one float
/// each, in whatever float dtype the checkpoint stores).
std::pair<llvm::StringSet<>, llvm::StringSet<>> fp8Scales(ModuleOp module) {
  llvm::StringSet<> weightScales, inputScales;
  for (auto weight : module.getOps<llm::WeightOp>())
    if (FlatSymbolRefAttr scale = weight.getScaleAttr())
      weightScales.insert(scale.getValue());
  module.walk([&](llm::QuantizeOp quantize) {
    if (auto param = quantize.getScale().getDefiningOp<llm::ParamOp>())
      inputScales.insert(param.getName());
  });
  return {weightScales, inputScales};
}

} // namespace

llvm::Error checkCheckpointWeights(ModuleOp module, llvm::StringRef path) {
  auto checkpoint = rt::Checkpoint::open(path.str());
  if (!checkpoint.ok())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   checkpoint.status().message());
  auto shapeStr = [](llvm::ArrayRef<int64_t> shape) {
    return "[" + llvm::join(llvm::map_range(shape, [](int64_t d) {
                              return std::to_string(d);
                            }),
                            ", ") +
           "]";
  };
  auto [weightScales, inputScales] = fp8Scales(module);
  SymbolTable symbols(module);
  for (auto weight : module.getOps<llm::WeightOp>()) {
    llvm::StringRef name = weight.getSymName();
    if (weightScales.contains(name))
      continue; // Checked with its FP8 weight.
    if (FlatSymbolRefAttr scaleRef = weight.getScaleAttr()) {
      auto scale = symbols.lookup<llm::WeightOp>(scaleRef.getValue());
      if (!scale)
        continue; // The verifier reports a dangling scale.
      rt::Fp8WeightSpec spec{name.str(), fullShapeOf(weight),
                             scaleRef.getValue().str(), fullShapeOf(scale)};
      if (rt::Status s = rt::checkFp8Checkpoint(**checkpoint, spec); !s)
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       path + ": " + s.message());
      continue;
    }
    const rt::SafetensorsFile *file = nullptr;
    const rt::TensorInfo *info = (*checkpoint)->find(name, &file);
    if (!info)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          llvm::formatv("{0}: tensor '{1}' is missing; the model's config "
                        "requires it (shape {2})",
                        path, name,
                        shapeStr(weight.getTensorType().getShape())));
    // A sliced weight's checkpoint tensor is the full one.
    llvm::SmallVector<int64_t> expected(weight.getTensorType().getShape());
    if (auto slice = weight.getSliceAttr())
      expected.assign(slice.getFullShape().begin(),
                      slice.getFullShape().end());
    if (inputScales.contains(name)) {
      // A static FP8 input scale: one float, as a scalar or [1].
      if (rt::numElements(info->shape) != 1 ||
          !rt::isConvertibleToF32(info->dtype))
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            llvm::formatv("{0}: FP8 input scale '{1}' must be one float "
                          "(F32, F16 or BF16), got {2} {3}",
                          file->path(), name, rt::dtypeName(info->dtype),
                          shapeStr(info->shape)));
      continue;
    }
    if (llvm::ArrayRef<int64_t>(info->shape) != llvm::ArrayRef(expected))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          llvm::formatv("{0}: tensor '{1}' has shape {2} but the config "
                        "implies {3}",
                        file->path(), name, shapeStr(info->shape),
                        shapeStr(expected)));
    // The rule of both executors (lib/reference, runtime/model/
    // HostWeights.cpp): a float weight may be stored in any float dtype,
    // converted on load, as transformers casts to torch_dtype.
    Type element = weight.getTensorType().getElementType();
    std::string dtype = safetensorsDTypeName(element);
    if (isa<FloatType>(element) && !isa<Float8E4M3FNType>(element)) {
      if (!rt::isConvertibleToF32(info->dtype))
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            llvm::formatv("{0}: tensor '{1}' is stored as {2}, which cannot "
                          "be converted to the config's {3} (supported: "
                          "BF16, F16, F32, F64)",
                          file->path(), name, rt::dtypeName(info->dtype),
                          dtype));
    } else if (dtype != rt::dtypeName(info->dtype)) {
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          llvm::formatv("{0}: tensor '{1}' is stored as {2} but the config "
                        "implies {3}",
                        file->path(), name, rt::dtypeName(info->dtype),
                        dtype));
    }
  }
  return llvm::Error::success();
}

} // namespace llmc
