//===- Quantization.cpp - FP8 rules of the llm ops ------------------------===//
//
// The scale rules every FP8-carrying op shares, the verifiers of
// llm.token_scale and llm.quantize, and the weight-to-scale symbol check of
// llm.weight. Messages name the operand, its type and the rule.
//
//===----------------------------------------------------------------------===//

#include "llmc/Dialect/Llm/Quantization.h"
#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace llmc::llm;

namespace {

RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

bool singleElement(RankedTensorType type) {
  return type.hasStaticShape() && type.getNumElements() == 1;
}

bool dimsAgree(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

} // namespace

bool llmc::llm::isFp8(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  return isa<Float8E4M3FNType>(type);
}

LogicalResult llmc::llm::verifyWeightScale(Operation *op, Value weight,
                                           Value scale, StringRef what) {
  RankedTensorType weightType = tensorOf(weight);
  if (!isFp8(weightType)) {
    if (scale)
      return op->emitOpError() << what << " " << weightType
                               << " has an FP8 scale but is not FP8 (f8E4M3FN)";
    return success();
  }
  if (!scale)
    return op->emitOpError() << "FP8 " << what << " " << weightType
                             << " needs its fp32 scale ([rows, 1] per "
                                "output channel or [1] per tensor)";
  RankedTensorType scaleType = tensorOf(scale);
  if (singleElement(scaleType))
    return success();
  int64_t rows = weightType.getRank() >= 1 ? weightType.getDimSize(0) : 1;
  if (scaleType.getRank() == 2 && dimsAgree(scaleType.getDimSize(0), rows) &&
      scaleType.getDimSize(1) == 1)
    return success();
  return op->emitOpError() << "scale of FP8 " << what << " " << weightType
                           << " must be [" << rows
                           << ", 1] (per output channel) or [1] (per "
                              "tensor), got "
                           << scaleType;
}

LogicalResult llmc::llm::verifyActivationScale(Operation *op, Value input,
                                               Value scale, StringRef what) {
  RankedTensorType inputType = tensorOf(input), scaleType = tensorOf(scale);
  if (singleElement(scaleType))
    return success();
  bool perToken = scaleType.getRank() == inputType.getRank() &&
                  inputType.getRank() >= 1 && scaleType.getShape().back() == 1;
  for (int64_t d = 0; perToken && d + 1 < inputType.getRank(); ++d)
    perToken = dimsAgree(scaleType.getDimSize(d), inputType.getDimSize(d));
  if (perToken)
    return success();
  return op->emitOpError() << what << " " << scaleType
                           << " must hold one scale per token (the shape of "
                           << inputType
                           << " with a last dim of 1) or one per tensor ([1])";
}

//===----------------------------------------------------------------------===//
// llm.token_scale, llm.quantize
//===----------------------------------------------------------------------===//

LogicalResult TokenScaleOp::verify() {
  if (failed(verifyActivationScale(*this, getInput(), getResult(), "result")))
    return failure();
  if (tensorOf(getResult()).getRank() != tensorOf(getInput()).getRank())
    return emitOpError() << "result must hold one scale per token of "
                         << getInput().getType() << ", got "
                         << getResult().getType();
  return success();
}

LogicalResult QuantizeOp::verify() {
  RankedTensorType input = tensorOf(getInput()), result = tensorOf(getResult());
  if (input.getShape() != result.getShape())
    return emitOpError() << "result " << result
                         << " must have the shape of the input " << input;
  return verifyActivationScale(*this, getInput(), getScale(), "scale");
}

//===----------------------------------------------------------------------===//
// llm.weight: FP8 weights name their scale symbol
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FlatSymbolRefAttr scaleRef = getScaleAttr();
  RankedTensorType type = getTensorType();
  if (!isFp8(type)) {
    if (scaleRef)
      return emitOpError() << "weight @" << getSymName() << " " << type
                           << " names scale " << scaleRef
                           << " but is not FP8 (f8E4M3FN)";
    return success();
  }
  if (type.getRank() != 2)
    return emitOpError() << "FP8 weight @" << getSymName()
                         << " must be a matrix [out, in], got " << type;
  if (!scaleRef)
    return emitOpError() << "FP8 weight @" << getSymName()
                         << " needs `scale @<symbol>` naming its fp32 scale";
  auto scale = symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, scaleRef);
  if (!scale)
    return emitOpError() << "scale " << scaleRef << " of FP8 weight "
                         << "@" << getSymName()
                         << " does not name an llm.weight";
  RankedTensorType scaleType = scale.getTensorType();
  if (!scaleType.getElementType().isF32())
    return emitOpError() << "scale " << scaleRef << " of FP8 weight @"
                         << getSymName() << " must be fp32, got " << scaleType;
  auto fullShape = [](WeightOp w) {
    SmallVector<int64_t> shape(w.getTensorType().getShape());
    if (auto slice = w.getSliceAttr())
      shape.assign(slice.getFullShape().begin(), slice.getFullShape().end());
    return shape;
  };
  SmallVector<int64_t> full = fullShape(*this), scaleFull = fullShape(scale);
  bool perTensor = llvm::all_of(scaleFull, [](int64_t d) { return d == 1; });
  bool perChannel =
      scaleFull.size() == 2 && scaleFull[0] == full[0] && scaleFull[1] == 1;
  if (!perTensor && !perChannel)
    return emitOpError() << "scale " << scaleRef << " of FP8 weight @"
                         << getSymName() << " must be [" << full[0]
                         << ", 1] (per output channel) or [1] (per tensor), "
                            "got "
                         << scaleType;
  // A scale lives where its weight lives: same owner; a per-channel scale is
  // split exactly like the weight's rows, a per-tensor one is never split.
  if (scale.getOwnerAttr() != getOwnerAttr())
    return emitOpError() << "scale " << scaleRef << " of FP8 weight @"
                         << getSymName() << " must have the weight's owner";
  WeightSliceAttr slice = getSliceAttr(), scaleSlice = scale.getSliceAttr();
  bool rowsSplit = slice && slice.getDim() == 0;
  if (perChannel && rowsSplit) {
    if (!scaleSlice || scaleSlice.getDim() != 0 ||
        scaleSlice.getSize() != slice.getSize() ||
        scaleSlice.getAxis() != slice.getAxis() ||
        scaleSlice.getOffsets() != slice.getOffsets())
      return emitOpError() << "per-channel scale " << scaleRef
                           << " must be sliced like the rows of FP8 weight @"
                           << getSymName() << " (" << slice << ")";
  } else if (scaleSlice && !(perChannel && rowsSplit)) {
    return emitOpError() << "scale " << scaleRef
                         << " is sliced but FP8 weight @" << getSymName()
                         << (perTensor ? " has one per-tensor scale"
                                       : "'s rows are not split")
                         << "; it must be replicated";
  }
  return success();
}
