//===- WeightCheck.cpp - graph weights against a checkpoint ---------------===//
//
// A graph is only useful with a checkpoint that provides every tensor it
// names, in the shape and dtype it declares; this check runs at import time
// so a mismatched checkpoint is refused before anything is compiled.
//
//===----------------------------------------------------------------------===//

#include "llmc/Import/Importer.h"

#include "dialects/llm/LlmDialect.h"
#include "runtime/weights/Safetensors.h"

#include "llvm/ADT/StringExtras.h"
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
  return "";
}

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
  for (auto weight : module.getOps<llm::WeightOp>()) {
    llvm::StringRef name = weight.getSymName();
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
    if (llvm::ArrayRef<int64_t>(info->shape) != llvm::ArrayRef(expected))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          llvm::formatv("{0}: tensor '{1}' has shape {2} but the config "
                        "implies {3}",
                        file->path(), name, shapeStr(info->shape),
                        shapeStr(expected)));
    std::string dtype =
        safetensorsDTypeName(weight.getTensorType().getElementType());
    if (dtype != rt::dtypeName(info->dtype))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          llvm::formatv("{0}: tensor '{1}' is stored as {2} but the config's "
                        "torch_dtype implies {3}",
                        file->path(), name, rt::dtypeName(info->dtype),
                        dtype));
  }
  return llvm::Error::success();
}

} // namespace llmc
