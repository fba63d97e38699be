//===- LlmOps.cpp - llm dialect operations: verifiers and builders --------===//
//
// Verifiers reject graphs whose shapes or attributes disagree, naming the
// values involved. Batch and sequence dims may be dynamic (`?`): two dims
// agree when they are equal or either is dynamic.
//
//===----------------------------------------------------------------------===//

#include "llmc/Dialect/Llm/LlmDialect.h"
#include "llmc/Dialect/Llm/Quantization.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace llmc::llm;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

namespace {
bool dimsAgree(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Checks that `value` has rank `rank`; `what` names it in the diagnostic.
LogicalResult expectRank(Operation *op, Value value, int64_t rank,
                         StringRef what) {
  auto type = tensorOf(value);
  if (type.getRank() != rank)
    return op->emitOpError() << what << " must have rank " << rank << ", got "
                             << type;
  return success();
}

/// Checks that the leading dims of `a` and `b` agree (batch, sequence).
LogicalResult expectLeadingDims(Operation *op, RankedTensorType a,
                                StringRef aName, RankedTensorType b,
                                StringRef bName, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (!dimsAgree(a.getDimSize(i), b.getDimSize(i)))
      return op->emitOpError()
             << aName << " dim " << i << " (" << dimStr(a.getDimSize(i))
             << ") does not match " << bName << " dim " << i << " ("
             << dimStr(b.getDimSize(i)) << ")";
  return success();
}

/// Checks a 2-D weight has the given [rows, cols]; `what` names it.
LogicalResult expectMatrix(Operation *op, Value weight, int64_t rows,
                           int64_t cols, StringRef what) {
  auto type = tensorOf(weight);
  if (type.getRank() != 2 || !dimsAgree(type.getDimSize(0), rows) ||
      !dimsAgree(type.getDimSize(1), cols))
    return op->emitOpError() << what << " must be " << dimStr(rows) << "x"
                             << dimStr(cols) << ", got " << type;
  return success();
}

LogicalResult expectPositive(Operation *op, int64_t value, StringRef what) {
  if (value < 1)
    return op->emitOpError() << what << " must be >= 1, got " << value;
  return success();
}

/// Checks `result` is [leading dims of `input`..., lastDim] with `input`'s
/// element type.
LogicalResult expectResultLike(Operation *op, RankedTensorType input,
                               RankedTensorType result, int64_t lastDim,
                               StringRef lastName) {
  if (result.getRank() != input.getRank())
    return op->emitOpError() << "result rank " << result.getRank()
                             << " does not match input rank "
                             << input.getRank();
  if (failed(expectLeadingDims(op, result, "result", input, "input",
                               input.getRank() - 1)))
    return failure();
  if (!dimsAgree(result.getShape().back(), lastDim))
    return op->emitOpError() << "result last dim ("
                             << dimStr(result.getShape().back())
                             << ") must equal " << lastName << " ("
                             << dimStr(lastDim) << ")";
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// WeightOp / ParamOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  RankedTensorType type = getTensorType();
  if (!type.hasStaticShape())
    return emitOpError() << "weight " << getSymName()
                         << " must have a static shape, got " << type;
  if (auto fp = dyn_cast<FloatType>(type.getElementType());
      fp && fp.getWidth() == 8 && !isFp8(fp))
    return emitOpError() << "weight @" << getSymName() << " has element type "
                         << fp
                         << "; the only FP8 format is f8E4M3FN (OCP E4M3)";
  auto slice = getSliceAttr();
  if (!slice)
    return success();
  ArrayRef<int64_t> full = slice.getFullShape();
  if (static_cast<int64_t>(full.size()) != type.getRank())
    return emitOpError() << "weight " << getSymName() << " has rank "
                         << type.getRank() << " but its slice's full shape has "
                         << full.size() << " dims";
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t expected = d == slice.getDim() ? slice.getSize() : full[d];
    if (type.getDimSize(d) != expected)
      return emitOpError() << "weight " << getSymName() << " dim " << d
                           << " is " << type.getDimSize(d)
                           << " but its slice says " << expected;
  }
  return success();
}

LogicalResult ParamOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight =
      symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getNameAttr());
  if (!weight)
    return emitOpError() << "'" << getName()
                         << "' does not name an llm.weight";
  if (weight.getType() != getType())
    return emitOpError() << "type " << getType() << " does not match weight '"
                         << getName() << "' declared as " << weight.getType();
  return success();
}

//===----------------------------------------------------------------------===//
// DecoderLayerOp
//===----------------------------------------------------------------------===//

void DecoderLayerOp::build(OpBuilder &builder, OperationState &state,
                           int64_t index, TypeRange resultTypes,
                           ValueRange inputs) {
  state.addAttribute(getIndexAttrName(state.name),
                     builder.getI64IntegerAttr(index));
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), state.location);
}

LogicalResult DecoderLayerOp::verify() {
  // I64Attr getters are unsigned: compare the signed value.
  if (static_cast<int64_t>(getIndex()) < 0)
    return emitOpError() << "layer index must be >= 0, got "
                         << static_cast<int64_t>(getIndex());
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError() << "layer " << getIndex() << " body has "
                         << block.getNumArguments() << " arguments for "
                         << getInputs().size() << " inputs";
  for (auto [i, arg, input] : llvm::enumerate(block.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError() << "layer " << getIndex() << " body argument " << i
                           << " has type " << arg.getType()
                           << " but input has type " << input.getType();
  auto yield = cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "layer " << getIndex() << " yields "
                         << yield.getValues().size()
                         << " values whose types do not match its results";
  return success();
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  if (failed(expectRank(*this, getIds(), 2, "ids")) ||
      failed(expectRank(*this, getTable(), 2, "table")) ||
      failed(expectRank(*this, getResult(), 3, "result")))
    return failure();
  auto ids = tensorOf(getIds());
  auto table = tensorOf(getTable());
  auto result = tensorOf(getResult());
  if (failed(expectLeadingDims(*this, result, "result", ids, "ids", 2)))
    return failure();
  if (!dimsAgree(result.getDimSize(2), table.getDimSize(1)))
    return emitOpError() << "result hidden size " << dimStr(result.getDimSize(2))
                         << " does not match table hidden size "
                         << dimStr(table.getDimSize(1));
  if (result.getElementType() != table.getElementType())
    return emitOpError() << "result element type " << result.getElementType()
                         << " differs from table's " << table.getElementType();
  return success();
}

LogicalResult RMSNormOp::verify() {
  auto input = tensorOf(getInput());
  if (input.getRank() < 1)
    return emitOpError() << "input must have rank >= 1, got " << input;
  if (failed(expectRank(*this, getWeight(), 1, "weight")))
    return failure();
  int64_t hidden = input.getShape().back();
  int64_t weightSize = tensorOf(getWeight()).getDimSize(0);
  if (!dimsAgree(hidden, weightSize))
    return emitOpError() << "weight size " << weightSize
                         << " does not match input last dim " << dimStr(hidden);
  if (getResult().getType() != input)
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal input type " << input;
  if (!(getEps().convertToDouble() > 0.0))
    return emitOpError() << "eps must be > 0, got "
                         << getEps().convertToDouble();
  return success();
}

LogicalResult LinearOp::verify() {
  auto input = tensorOf(getInput());
  if (input.getRank() < 1)
    return emitOpError() << "input must have rank >= 1, got " << input;
  if (failed(expectRank(*this, getWeight(), 2, "weight")))
    return failure();
  auto weight = tensorOf(getWeight());
  int64_t outFeatures = weight.getDimSize(0), inFeatures = weight.getDimSize(1);
  if (failed(verifyWeightScale(*this, getWeight(), getWeightScale(),
                               "weight")))
    return failure();
  if (isFp8(input) != static_cast<bool>(getInputScale()))
    return emitOpError() << (isFp8(input) ? "FP8 input " : "input ") << input
                         << (isFp8(input) ? " needs its input_scale (from the "
                                            "llm.quantize that made it)"
                                          : " is not FP8 but has an "
                                            "input_scale");
  if (Value inputScale = getInputScale()) {
    if (!isFp8(weight))
      return emitOpError() << "FP8 input " << input << " needs an FP8 weight, "
                           << "got " << weight;
    if (failed(verifyActivationScale(*this, getInput(), inputScale,
                                     "input_scale")))
      return failure();
  }
  if (!dimsAgree(input.getShape().back(), inFeatures))
    return emitOpError() << "input features "
                         << dimStr(input.getShape().back())
                         << " do not match weight in-features " << inFeatures
                         << " (weight " << weight << ")";
  if (Value bias = getBias()) {
    auto biasType = tensorOf(bias);
    if (biasType.getRank() != 1 ||
        !dimsAgree(biasType.getDimSize(0), outFeatures))
      return emitOpError() << "bias must be a vector of " << dimStr(outFeatures)
                           << " elements (weight out-features), got "
                           << biasType;
  }
  return expectResultLike(*this, input, tensorOf(getResult()), outFeatures,
                          "weight out-features");
}

LogicalResult BiasAddOp::verify() {
  auto input = tensorOf(getInput());
  auto bias = tensorOf(getBias());
  if (input.getRank() < 1)
    return emitOpError() << "input must have rank >= 1, got " << input;
  if (bias.getRank() != 1 ||
      !dimsAgree(bias.getDimSize(0), input.getShape().back()))
    return emitOpError() << "bias must be a vector of the input's last dim ("
                         << dimStr(input.getShape().back()) << "), got "
                         << bias;
  return success();
}

LogicalResult RopeOp::verify() {
  int64_t headDim = getHeadDim();
  if (headDim < 2 || headDim % 2 != 0)
    return emitOpError() << "head_dim must be even and >= 2, got " << headDim;
  if (failed(expectRank(*this, getInput(), 3, "input")) ||
      failed(expectRank(*this, getPositions(), 2, "positions")))
    return failure();
  auto input = tensorOf(getInput());
  int64_t features = input.getDimSize(2);
  if (!ShapedType::isDynamic(features) && features % headDim != 0)
    return emitOpError() << "input features " << features
                         << " are not a multiple of head_dim " << headDim;
  if (failed(expectLeadingDims(*this, input, "input",
                               tensorOf(getPositions()), "positions", 2)))
    return failure();
  if (getResult().getType() != input)
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal input type " << input;
  return success();
}

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads(),
          headDim = getHeadDim();
  if (failed(expectPositive(*this, heads, "num_heads")) ||
      failed(expectPositive(*this, kvHeads, "num_kv_heads")) ||
      failed(expectPositive(*this, headDim, "head_dim")))
    return failure();
  if (heads % kvHeads != 0)
    return emitOpError() << "num_heads " << heads
                         << " is not a multiple of num_kv_heads " << kvHeads
                         << "; each kv head must serve a whole group of "
                            "query heads";
  for (auto [value, name] :
       {std::pair<Value, StringRef>{getQ(), "q"}, {getK(), "k"},
        {getV(), "v"}, {getResult(), "result"}})
    if (failed(expectRank(*this, value, 3, name)))
      return failure();
  if (failed(expectRank(*this, getPositions(), 2, "positions")))
    return failure();
  auto q = tensorOf(getQ());
  auto checkFeatures = [&](Value value, StringRef name, int64_t count,
                           StringRef countName) -> LogicalResult {
    int64_t features = tensorOf(value).getDimSize(2);
    // Compare by division: count * headDim may overflow for absurd counts.
    bool agree = ShapedType::isDynamic(features) ||
                 (features % headDim == 0 && features / headDim == count);
    if (!agree) {
      InFlightDiagnostic diag = emitOpError()
                                << name << " features " << dimStr(features)
                                << " must equal " << countName << " ("
                                << count << ") x head_dim (" << headDim << ")";
      int64_t product;
      if (llvm::MulOverflow(count, headDim, product))
        diag << ", which overflows int64";
      else
        diag << " = " << product;
      return diag;
    }
    return expectLeadingDims(*this, tensorOf(value), name, q, "q", 2);
  };
  if (failed(checkFeatures(getQ(), "q", heads, "num_heads")) ||
      failed(checkFeatures(getK(), "k", kvHeads, "num_kv_heads")) ||
      failed(checkFeatures(getV(), "v", kvHeads, "num_kv_heads")) ||
      failed(checkFeatures(getResult(), "result", heads, "num_heads")) ||
      failed(expectLeadingDims(*this, tensorOf(getPositions()), "positions",
                               q, "q", 2)))
    return failure();
  if (static_cast<bool>(getCache()) != getCacheSlot().has_value())
    return emitOpError() << "a kv cache operand and a cache slot must be given "
                            "together";
  if (Value cache = getCache()) {
    auto cacheType = cast<KVCacheType>(cache.getType());
    if (cacheType.getNumKvHeads() != kvHeads)
      return emitOpError() << "kv cache holds " << cacheType.getNumKvHeads()
                           << " kv heads but the attention has num_kv_heads "
                           << kvHeads;
    if (cacheType.getHeadDim() != headDim)
      return emitOpError() << "kv cache head_dim " << cacheType.getHeadDim()
                           << " does not match head_dim " << headDim;
    int64_t slot = *getCacheSlot();
    if (slot < 0 || slot >= cacheType.getNumLayers())
      return emitOpError() << "cache slot " << slot << " is outside the "
                           << cacheType.getNumLayers() << " layers of the cache";
  }
  if (auto window = getSlidingWindow();
      window && static_cast<int64_t>(*window) < 1)
    return emitOpError() << "sliding window must be >= 1, got "
                         << static_cast<int64_t>(*window);
  if (auto scale = getScale(); scale && !(scale->convertToDouble() > 0.0))
    return emitOpError() << "scale must be > 0, got "
                         << scale->convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

namespace {
/// Checks routing weights/indices are [B, S, topK] matching `input`.
LogicalResult expectRouting(Operation *op, RankedTensorType input,
                            Value weights, Value indices, int64_t topK) {
  for (auto [value, name] : {std::pair<Value, StringRef>{weights, "routing "
                                                                  "weights"},
                             {indices, "routing indices"}}) {
    if (failed(expectRank(op, value, 3, name)))
      return failure();
    auto type = tensorOf(value);
    if (failed(expectLeadingDims(op, type, name, input, "input", 2)))
      return failure();
    if (!dimsAgree(type.getDimSize(2), topK))
      return op->emitOpError() << name << " last dim "
                               << dimStr(type.getDimSize(2))
                               << " must equal top_k " << dimStr(topK);
  }
  return success();
}
} // namespace

LogicalResult MoERouterOp::verify() {
  int64_t experts = getNumExperts(), topK = getTopK();
  if (failed(expectPositive(*this, experts, "num_experts")) ||
      failed(expectPositive(*this, topK, "top_k")))
    return failure();
  if (topK > experts)
    return emitOpError() << "top_k " << topK << " exceeds num_experts "
                         << experts;
  if (failed(expectRank(*this, getInput(), 3, "input")))
    return failure();
  auto input = tensorOf(getInput());
  if (failed(expectMatrix(*this, getGate(), experts, input.getDimSize(2),
                          "router gate")))
    return failure();
  return expectRouting(*this, input, getWeights(), getIndices(), topK);
}

LogicalResult ExpertsOp::verify() {
  int64_t experts = getNumExperts();
  if (failed(expectPositive(*this, experts, "num_experts")) ||
      failed(expectRank(*this, getInput(), 3, "input")))
    return failure();
  size_t local = getGateWeights().size();
  if (getUpWeights().size() != local || getDownWeights().size() != local)
    return emitOpError() << "expects as many up (" << getUpWeights().size()
                         << ") and down (" << getDownWeights().size()
                         << ") weights as gate weights (" << local << ")";
  if (local == 0)
    return emitOpError() << "holds no experts";
  if (auto ids = getExpertIds()) {
    if (ids->size() != local)
      return emitOpError() << "lists " << ids->size() << " expert ids for "
                           << local << " experts";
    for (auto [i, id] : llvm::enumerate(*ids)) {
      if (id < 0 || id >= experts)
        return emitOpError() << "expert id " << id << " is outside [0, "
                             << experts << ")";
      if (i > 0 && id <= (*ids)[i - 1])
        return emitOpError() << "expert ids must be strictly increasing, got "
                             << (*ids)[i - 1] << " then " << id;
    }
  } else if (static_cast<int64_t>(local) != experts) {
    return emitOpError() << "holds " << local << " experts of " << experts
                         << " without listing their ids";
  }
  if (getOwnerAxis().has_value() != getOwners().has_value())
    return emitOpError() << "owner_axis and owners must be given together";
  if (auto owners = getOwners()) {
    if (static_cast<int64_t>(owners->size()) != experts)
      return emitOpError() << "lists " << owners->size() << " owners for "
                           << experts << " experts";
    for (auto [e, owner] : llvm::enumerate(*owners))
      if (owner < 0)
        return emitOpError() << "owner of expert " << e << " must be >= 0, "
                             << "got " << owner;
  }
  auto input = tensorOf(getInput());
  int64_t hidden = input.getDimSize(2);
  auto firstGate = tensorOf(getGateWeights()[0]);
  if (firstGate.getRank() != 2)
    return emitOpError() << "expert gate weights must be 2-D, got "
                         << firstGate;
  int64_t inter = firstGate.getDimSize(0);
  bool scaled = hasScales();
  if (scaled && (getGateScales().size() != local ||
                 getUpScales().size() != local ||
                 getDownScales().size() != local))
    return emitOpError() << "lists " << getGateScales().size() << " gate, "
                         << getUpScales().size() << " up and "
                         << getDownScales().size() << " down scales for "
                         << local << " experts; FP8 experts need one scale "
                         << "per weight";
  if (!scaled && (!getUpScales().empty() || !getDownScales().empty()))
    return emitOpError() << "lists up or down scales without gate scales";
  for (unsigned i = 0; i < local; ++i) {
    std::string idx = std::to_string(getExpertId(i));
    if (failed(expectMatrix(*this, getGateWeights()[i], inter, hidden,
                            "gate weight of expert " + idx)) ||
        failed(expectMatrix(*this, getUpWeights()[i], inter, hidden,
                            "up weight of expert " + idx)) ||
        failed(expectMatrix(*this, getDownWeights()[i], hidden, inter,
                            "down weight of expert " + idx)))
      return failure();
    Value none;
    if (failed(verifyWeightScale(*this, getGateWeights()[i],
                                 scaled ? getGateScales()[i] : none,
                                 "gate weight of expert " + idx)) ||
        failed(verifyWeightScale(*this, getUpWeights()[i],
                                 scaled ? getUpScales()[i] : none,
                                 "up weight of expert " + idx)) ||
        failed(verifyWeightScale(*this, getDownWeights()[i],
                                 scaled ? getDownScales()[i] : none,
                                 "down weight of expert " + idx)))
      return failure();
  }
  auto weights = tensorOf(getRoutingWeights());
  if (weights.getRank() != 3)
    return emitOpError() << "routing weights must have rank 3, got " << weights;
  if (failed(expectRouting(*this, input, getRoutingWeights(),
                           getRoutingIndices(), weights.getDimSize(2))))
    return failure();
  if (getResult().getType() != input)
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal input type " << input;
  return success();
}

LogicalResult SharedExpertOp::verify() {
  if (failed(expectRank(*this, getInput(), 3, "input")) ||
      failed(expectRank(*this, getGate(), 2, "gate weight")))
    return failure();
  auto input = tensorOf(getInput());
  int64_t hidden = input.getDimSize(2);
  int64_t inter = tensorOf(getGate()).getDimSize(0);
  if (failed(expectMatrix(*this, getGate(), inter, hidden, "gate weight")) ||
      failed(expectMatrix(*this, getUp(), inter, hidden, "up weight")) ||
      failed(expectMatrix(*this, getDown(), hidden, inter, "down weight")) ||
      failed(expectMatrix(*this, getExpertGate(), 1, hidden,
                          "shared expert gate")) ||
      failed(verifyWeightScale(*this, getGate(), getGateScale(),
                               "gate weight")) ||
      failed(verifyWeightScale(*this, getUp(), getUpScale(), "up weight")) ||
      failed(verifyWeightScale(*this, getDown(), getDownScale(),
                               "down weight")))
    return failure();
  if (getResult().getType() != input)
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal input type " << input;
  return success();
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

LogicalResult LastTokenOp::verify() {
  if (failed(expectRank(*this, getInput(), 3, "input")) ||
      failed(expectRank(*this, getResult(), 3, "result")))
    return failure();
  auto input = tensorOf(getInput()), result = tensorOf(getResult());
  if (!dimsAgree(input.getDimSize(0), result.getDimSize(0)) ||
      result.getDimSize(1) != 1 ||
      !dimsAgree(input.getDimSize(2), result.getDimSize(2)) ||
      input.getElementType() != result.getElementType())
    return emitOpError() << "result must be [batch, 1, "
                         << dimStr(input.getDimSize(2)) << "] of "
                         << input.getElementType() << ", got " << result;
  return success();
}

LogicalResult LMHeadOp::verify() {
  if (failed(expectRank(*this, getInput(), 3, "input")))
    return failure();
  auto input = tensorOf(getInput());
  auto weight = tensorOf(getWeight());
  if (weight.getRank() != 2)
    return emitOpError() << "weight must be [vocab, hidden], got " << weight;
  if (!dimsAgree(weight.getDimSize(1), input.getDimSize(2)))
    return emitOpError() << "weight hidden size " << weight.getDimSize(1)
                         << " does not match input hidden size "
                         << dimStr(input.getDimSize(2));
  if (getTied() && isFp8(weight))
    return emitOpError() << "a tied lm_head reads the embedding table, which "
                            "stays in the model's float type; it cannot be "
                            "FP8 "
                         << weight;
  if (failed(verifyWeightScale(*this, getWeight(), getWeightScale(),
                               "weight")))
    return failure();
  return expectResultLike(*this, input, tensorOf(getResult()),
                          weight.getDimSize(0), "weight vocab size");
}

LogicalResult ArgmaxOp::verify() {
  auto logits = tensorOf(getLogits()), result = tensorOf(getResult());
  if (logits.getRank() < 1 || result.getRank() != logits.getRank() - 1)
    return emitOpError() << "result must drop the vocab dim of " << logits
                         << ", got " << result;
  return expectLeadingDims(*this, result, "result", logits, "logits",
                           result.getRank());
}

LogicalResult SampleOp::verify() {
  auto logits = tensorOf(getLogits()), result = tensorOf(getResult());
  if (logits.getRank() < 1 || result.getRank() != logits.getRank() - 1)
    return emitOpError() << "result must drop the vocab dim of " << logits
                         << ", got " << result;
  double temperature = getTemperature().convertToDouble();
  double topP = getTopP().convertToDouble();
  if (!(temperature > 0.0))
    return emitOpError() << "temperature must be > 0, got " << temperature
                         << "; use llm.argmax for greedy decoding";
  if (!(topP > 0.0 && topP <= 1.0))
    return emitOpError() << "top_p must be in (0, 1], got " << topP;
  if (static_cast<int64_t>(getTopK()) < 0)
    return emitOpError() << "top_k must be >= 0 (0: no limit), got "
                         << static_cast<int64_t>(getTopK());
  return expectLeadingDims(*this, result, "result", logits, "logits",
                           result.getRank());
}

#define GET_OP_CLASSES
#include "llmc/Dialect/Llm/LlmOps.cpp.inc"
