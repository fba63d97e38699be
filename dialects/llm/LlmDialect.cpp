//===- LlmDialect.cpp - llm dialect registration, types, attributes -------===//
//
// Registers the dialect and implements the type/attribute verifiers and the
// custom syntax of #llm.rope (which omits the parameters its scaling kind does
// not use).
//
//===----------------------------------------------------------------------===//

#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace llmc::llm;

#include "llmc/Dialect/Llm/LlmOpsDialect.cpp.inc"
#include "llmc/Dialect/Llm/LlmOpsEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "llmc/Dialect/Llm/LlmOpsTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "llmc/Dialect/Llm/LlmOpsAttrs.cpp.inc"

void LlmDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "llmc/Dialect/Llm/LlmOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "llmc/Dialect/Llm/LlmOpsTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "llmc/Dialect/Llm/LlmOpsAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// KVCacheType
//===----------------------------------------------------------------------===//

LogicalResult
KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                    int64_t numLayers, int64_t numKvHeads, int64_t headDim,
                    Type elementType, KVScaleKind scales) {
  if (numLayers < 1)
    return emitError() << "kv_cache layers must be >= 1, got " << numLayers;
  if (numKvHeads < 1)
    return emitError() << "kv_cache kv_heads must be >= 1, got " << numKvHeads;
  if (headDim < 1)
    return emitError() << "kv_cache head_dim must be >= 1, got " << headDim;
  if (isa<Float8E4M3FNType>(elementType)) {
    if (scales == KVScaleKind::none)
      return emitError() << "an FP8 kv_cache (f8E4M3FN) must say how its "
                            "entries are scaled: add `scales = "
                            "per_token_head`";
    return success();
  }
  if (!isa<Float16Type, BFloat16Type, Float32Type, Float64Type>(elementType))
    return emitError() << "kv_cache element type must be f16, bf16, f32, f64 "
                          "or f8E4M3FN, got "
                       << elementType;
  if (scales != KVScaleKind::none)
    return emitError() << "kv_cache scales = " << stringifyKVScaleKind(scales)
                       << " needs FP8 entries (f8E4M3FN), got "
                       << elementType;
  return success();
}

//===----------------------------------------------------------------------===//
// RopeAttr
//===----------------------------------------------------------------------===//

LogicalResult RopeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               APFloat thetaAttr, RopeScalingKind kind,
                               APFloat factorAttr, APFloat lowAttr,
                               APFloat highAttr, int64_t originalMaxPosition) {
  double theta = thetaAttr.convertToDouble();
  double factor = factorAttr.convertToDouble();
  double lowFreqFactor = lowAttr.convertToDouble();
  double highFreqFactor = highAttr.convertToDouble();
  if (!(theta > 0.0))
    return emitError() << "rope theta must be > 0, got " << theta;
  if (kind == RopeScalingKind::none)
    return success();
  if (!(factor > 0.0))
    return emitError() << "rope scaling factor must be > 0, got " << factor;
  if (kind == RopeScalingKind::llama3) {
    if (!(lowFreqFactor > 0.0))
      return emitError() << "llama3 rope low_freq_factor must be > 0, got "
                         << lowFreqFactor;
    if (!(highFreqFactor > lowFreqFactor))
      return emitError() << "llama3 rope high_freq_factor (" << highFreqFactor
                         << ") must exceed low_freq_factor (" << lowFreqFactor
                         << ")";
    if (originalMaxPosition < 1)
      return emitError() << "llama3 rope original_max_position must be >= 1, "
                            "got "
                         << originalMaxPosition;
  }
  return success();
}

/// #llm.rope<theta = T [, linear, factor = F]
///           [, llama3, factor = F, low_freq_factor = L,
///              high_freq_factor = H, original_max_position = P]>
Attribute RopeAttr::parse(AsmParser &parser, Type) {
  double theta = 0, factor = 1.0, low = 1.0, high = 1.0;
  int64_t original = 0;
  RopeScalingKind kind = RopeScalingKind::none;
  auto parseNamedDouble = [&](StringRef name, double &value) {
    return failure(parser.parseComma() || parser.parseKeyword(name) ||
                   parser.parseEqual() || parser.parseFloat(value));
  };
  if (parser.parseLess() || parser.parseKeyword("theta") ||
      parser.parseEqual() || parser.parseFloat(theta))
    return {};
  if (succeeded(parser.parseOptionalComma())) {
    StringRef kindName;
    SMLoc loc = parser.getCurrentLocation();
    if (parser.parseKeyword(&kindName))
      return {};
    std::optional<RopeScalingKind> parsed = symbolizeRopeScalingKind(kindName);
    if (!parsed || *parsed == RopeScalingKind::none) {
      parser.emitError(loc) << "unknown rope scaling '" << kindName
                            << "'; expected 'linear' or 'llama3'";
      return {};
    }
    kind = *parsed;
    if (failed(parseNamedDouble("factor", factor)))
      return {};
    if (kind == RopeScalingKind::llama3) {
      if (failed(parseNamedDouble("low_freq_factor", low)) ||
          failed(parseNamedDouble("high_freq_factor", high)) ||
          parser.parseComma() ||
          parser.parseKeyword("original_max_position") ||
          parser.parseEqual() || parser.parseInteger(original))
        return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<RopeAttr>(parser.getContext(), APFloat(theta), kind,
                                     APFloat(factor), APFloat(low),
                                     APFloat(high), original);
}

void RopeAttr::print(AsmPrinter &printer) const {
  printer << "<theta = ";
  printer.printFloat(getTheta());
  if (getKind() != RopeScalingKind::none) {
    printer << ", " << stringifyRopeScalingKind(getKind()) << ", factor = ";
    printer.printFloat(getFactor());
  }
  if (getKind() == RopeScalingKind::llama3) {
    printer << ", low_freq_factor = ";
    printer.printFloat(getLowFreqFactor());
    printer << ", high_freq_factor = ";
    printer.printFloat(getHighFreqFactor());
    printer << ", original_max_position = " << getOriginalMaxPosition();
  }
  printer << ">";
}

//===----------------------------------------------------------------------===//
// WeightSliceAttr
//===----------------------------------------------------------------------===//

LogicalResult
WeightSliceAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        int64_t dim, int64_t size, StringRef axis,
                        ArrayRef<int64_t> offsets, ArrayRef<int64_t> full) {
  if (dim < 0 || dim >= static_cast<int64_t>(full.size()))
    return emitError() << "slice dim " << dim << " is out of range for a rank-"
                       << full.size() << " tensor";
  if (size < 1 || size > full[dim])
    return emitError() << "slice size " << size << " must be in [1, "
                       << full[dim] << "] (full dim " << dim << ")";
  if (axis.empty())
    return emitError() << "slice axis name must not be empty";
  if (offsets.empty())
    return emitError() << "slice needs one offset per coordinate of axis '"
                       << axis << "'";
  for (auto [i, offset] : llvm::enumerate(offsets))
    // offset > full - size rather than offset + size > full: no overflow.
    if (offset < 0 || offset > full[dim] - size)
      return emitError() << "slice offset " << offset << " (coordinate " << i
                         << ") + size " << size << " exceeds full dim " << dim
                         << " of " << full[dim];
  return success();
}
