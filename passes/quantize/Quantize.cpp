//===- Quantize.cpp - FP8 weights, activations and KV cache ---------------===//
//
// Quantization is a rewrite of the unsharded graph: weight symbols change
// element type and gain a scale symbol, the ops that read them gain scale
// operands, W8A8 linears get an explicit per-token quantization of their
// input, and the KV cache type becomes FP8. Nothing here knows about
// sharding: the sharding passes later slice a per-channel scale with its
// weight's rows, because the op that reads both says they belong together.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Passes.h"

#include "mlir/IR/Builders.h"

#include <array>

#define DEBUG_TYPE "llm-quantize"

namespace llmc {
#define GEN_PASS_DEF_QUANTIZE
#include "passes/quantize/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

bool isFp8Tensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<Float8E4M3FNType>(tensor.getElementType());
}

RankedTensorType withElementType(Type type, Type element) {
  return cast<RankedTensorType>(type).clone(element);
}

/// [d0, ..., dn-1, k] -> [d0, ..., dn-1, 1] in f32: one scale per row.
RankedTensorType perRowScaleType(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  shape.back() = 1;
  return RankedTensorType::get(shape, Float32Type::get(type.getContext()));
}

//===----------------------------------------------------------------------===//
// The rewriter
//===----------------------------------------------------------------------===//

class Quantizer {
public:
  Quantizer(ModuleOp module, func::FuncOp forward, bool lmHead)
      : module(module), forward(forward), symbols(module),
        builder(module.getContext()), lmHead(lmHead) {}

  LogicalResult quantizeWeights();
  void quantizeActivations();
  void quantizeKVCache();

private:
  /// The scale value for weight `weight` (an llm.param result), converting
  /// its symbol to FP8 on first use; null when the weight was FP8 already
  /// (its op then carries its scale from the importer).
  FailureOr<Value> scaleFor(Value weight, Operation *user);
  /// The scales of a SwiGLU MLP's gate, up and down weights (each as
  /// scaleFor gives it).
  using MlpScales = std::array<Value, 3>;
  FailureOr<MlpScales> mlpScales(Value gate, Value up, Value down,
                                 Operation *user) {
    MlpScales scales;
    for (auto [i, weight] :
         llvm::enumerate(std::array<Value, 3>{gate, up, down})) {
      FailureOr<Value> scale = scaleFor(weight, user);
      if (failed(scale))
        return failure();
      scales[i] = *scale;
    }
    return scales;
  }
  /// Converts symbol `weight` to FP8 with a new [rows, 1] fp32 scale symbol.
  FailureOr<llm::WeightOp> convertSymbol(llm::WeightOp weight, Operation *user);
  /// Checks that every llm.param of `name` feeds only ops that can take an
  /// FP8 weight (so converting the symbol cannot break another use).
  LogicalResult checkUses(StringRef name, Operation *user);

  ModuleOp module;
  func::FuncOp forward;
  SymbolTable symbols;
  OpBuilder builder;
  bool lmHead;
  /// Every llm.param, by symbol name.
  llvm::StringMap<SmallVector<llm::ParamOp>> paramsOf;
  /// Scale symbol of each converted weight symbol.
  llvm::StringMap<llm::WeightOp> scaleSymbolOf;
  /// Scale llm.param created next to a weight llm.param.
  DenseMap<Operation *, Value> scaleParamOf;
};

LogicalResult Quantizer::checkUses(StringRef name, Operation *user) {
  for (llm::ParamOp param : paramsOf.lookup(name))
    for (OpOperand &use : param.getResult().getUses()) {
      Operation *op = use.getOwner();
      unsigned n = use.getOperandNumber();
      bool ok = false;
      if (auto linear = dyn_cast<llm::LinearOp>(op))
        ok = &use == &linear.getWeightMutable();
      else if (auto head = dyn_cast<llm::LMHeadOp>(op))
        ok = lmHead && &use == &head.getWeightMutable() && !head.getTied();
      else if (auto experts = dyn_cast<llm::ExpertsOp>(op))
        ok = n >= 3 && n < 3 + 3 * experts.getNumLocalExperts();
      else if (auto shared = dyn_cast<llm::SharedExpertOp>(op))
        ok = n >= 1 && n <= 3;
      if (!ok)
        return user->emitError()
               << "weight " << name << " is also read by '" << op->getName()
               << "' (operand " << n
               << "), which keeps the model's float type; it cannot become "
                  "FP8";
    }
  return success();
}

FailureOr<llm::WeightOp> Quantizer::convertSymbol(llm::WeightOp weight,
                                                  Operation *user) {
  StringRef name = weight.getSymName();
  if (llm::WeightOp scale = scaleSymbolOf.lookup(name))
    return scale;
  RankedTensorType type = weight.getTensorType();
  if (type.getRank() != 2 ||
      !isa<Float16Type, BFloat16Type, Float32Type>(type.getElementType()))
    return user->emitError() << "cannot quantize weight " << name << " " << type
                             << ": FP8 weights are bf16/f16/f32 matrices";
  if (failed(checkUses(name, user)))
    return failure();
  std::string scaleName = (name + "_scale").str();
  if (symbols.lookup(scaleName))
    return user->emitError()
           << "cannot quantize weight " << name << ": its scale symbol @\""
           << scaleName << "\" already names another weight";
  builder.setInsertionPointAfter(weight);
  auto scaleType =
      RankedTensorType::get({type.getDimSize(0), 1}, builder.getF32Type());
  auto scale = llm::WeightOp::create(builder, weight.getLoc(), scaleName,
                                     scaleType, FlatSymbolRefAttr(),
                                     llm::WeightSliceAttr(), llm::OwnerAttr());
  symbols.insert(scale);
  auto fp8 = withElementType(type, builder.getType<Float8E4M3FNType>());
  weight.setType(fp8);
  weight.setScaleAttr(FlatSymbolRefAttr::get(scale.getSymNameAttr()));
  for (llm::ParamOp param : paramsOf.lookup(name))
    param.getResult().setType(fp8);
  scaleSymbolOf[name] = scale;
  return scale;
}

FailureOr<Value> Quantizer::scaleFor(Value weight, Operation *user) {
  auto param = weight.getDefiningOp<llm::ParamOp>();
  if (!param)
    return user->emitError()
           << "llm-quantize expects weights to come from llm.param";
  auto symbol = symbols.lookup<llm::WeightOp>(param.getName());
  if (!symbol)
    return user->emitError()
           << "'" << param.getName() << "' does not name an llm.weight";
  if (isFp8Tensor(symbol.getType()) && !scaleSymbolOf.count(param.getName()))
    return Value(); // Imported FP8: the op already has its scale.
  FailureOr<llm::WeightOp> scale = convertSymbol(symbol, user);
  if (failed(scale))
    return failure();
  Value &value = scaleParamOf[param];
  if (!value) {
    builder.setInsertionPointAfter(param);
    value = llm::ParamOp::create(builder, param.getLoc(), scale->getType(),
                                 scale->getSymName());
  }
  return value;
}

LogicalResult Quantizer::quantizeWeights() {
  forward.walk(
      [&](llm::ParamOp param) { paramsOf[param.getName()].push_back(param); });
  SmallVector<Operation *> ops;
  forward.walk([&](Operation *op) {
    if (isa<llm::LinearOp, llm::ExpertsOp, llm::SharedExpertOp>(op) ||
        (lmHead && isa<llm::LMHeadOp>(op)))
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    if (auto linear = dyn_cast<llm::LinearOp>(op)) {
      FailureOr<Value> scale = scaleFor(linear.getWeight(), op);
      if (failed(scale))
        return failure();
      if (*scale)
        linear.getWeightScaleMutable().assign(*scale);
    } else if (auto head = dyn_cast<llm::LMHeadOp>(op)) {
      if (head.getTied())
        return head.emitError()
               << "lm-head quantization needs an untied lm_head; this one "
                  "reads the embedding table, which stays in the model's "
                  "float type (drop 'lm-head' from --quantize)";
      FailureOr<Value> scale = scaleFor(head.getWeight(), op);
      if (failed(scale))
        return failure();
      if (*scale)
        head.getWeightScaleMutable().assign(*scale);
    } else if (auto shared = dyn_cast<llm::SharedExpertOp>(op)) {
      FailureOr<MlpScales> scales =
          mlpScales(shared.getGate(), shared.getUp(), shared.getDown(), op);
      if (failed(scales))
        return failure();
      if ((*scales)[0]) {
        shared.getGateScaleMutable().assign((*scales)[0]);
        shared.getUpScaleMutable().assign((*scales)[1]);
        shared.getDownScaleMutable().assign((*scales)[2]);
      }
    } else {
      auto experts = cast<llm::ExpertsOp>(op);
      SmallVector<Value> gates, ups, downs;
      for (unsigned i = 0; i < experts.getNumLocalExperts(); ++i) {
        FailureOr<MlpScales> scales =
            mlpScales(experts.getGateWeights()[i], experts.getUpWeights()[i],
                      experts.getDownWeights()[i], op);
        if (failed(scales))
          return failure();
        if (!(*scales)[0])
          continue; // Imported FP8 experts carry their scales.
        gates.push_back((*scales)[0]);
        ups.push_back((*scales)[1]);
        downs.push_back((*scales)[2]);
      }
      if (!gates.empty()) {
        experts.getGateScalesMutable().assign(gates);
        experts.getUpScalesMutable().assign(ups);
        experts.getDownScalesMutable().assign(downs);
      }
    }
  }
  return success();
}

void Quantizer::quantizeActivations() {
  SmallVector<llm::LinearOp> linears;
  forward.walk([&](llm::LinearOp op) { linears.push_back(op); });
  // One quantization per input value: q/k/v (and gate/up) share theirs.
  DenseMap<Value, std::pair<Value, Value>> quantized;
  for (llm::LinearOp linear : linears) {
    Value input = linear.getInput();
    if (isFp8Tensor(input.getType()) ||
        !isFp8Tensor(linear.getWeight().getType()))
      continue;
    auto &entry = quantized[input];
    if (!entry.first) {
      builder.setInsertionPointAfterValue(input);
      Location loc = linear.getLoc();
      Value scale = llm::TokenScaleOp::create(
          builder, loc, perRowScaleType(input.getType()), input);
      Value codes = llm::QuantizeOp::create(
          builder, loc,
          withElementType(input.getType(), builder.getType<Float8E4M3FNType>()),
          input, scale);
      entry = {codes, scale};
    }
    linear.getInputMutable().assign(entry.first);
    linear.getInputScaleMutable().assign(entry.second);
  }
}

void Quantizer::quantizeKVCache() {
  auto retype = [&](Value v) {
    auto cache = dyn_cast<llm::KVCacheType>(v.getType());
    if (!cache || cache.isFp8())
      return;
    v.setType(llm::KVCacheType::get(v.getContext(), cache.getNumLayers(),
                                    cache.getNumKvHeads(), cache.getHeadDim(),
                                    builder.getType<Float8E4M3FNType>(),
                                    llm::KVScaleKind::per_token_head));
  };
  forward.walk([&](Block *block) {
    for (BlockArgument arg : block->getArguments())
      retype(arg);
  });
  forward.walk([&](Operation *op) {
    for (Value result : op->getResults())
      retype(result);
  });
  forward.setType(FunctionType::get(
      forward.getContext(), forward.getBody().front().getArgumentTypes(),
      forward.getBody().front().getTerminator()->getOperandTypes()));
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct QuantizePass : public llmc::impl::QuantizeBase<QuantizePass> {
  using QuantizeBase::QuantizeBase;

  LogicalResult checkOptions(ModuleOp module) {
    auto refuse = [&](StringRef option, StringRef value, StringRef valid) {
      return emitError(module.getLoc())
             << "llm-quantize: " << option << "=" << value
             << " is not supported; expected " << valid;
    };
    if (weights != "fp8-e4m3" && weights != "none")
      return refuse("weights", weights, "fp8-e4m3 or none");
    if (activations != "fp8-dynamic" && activations != "none")
      return refuse("activations", activations, "fp8-dynamic or none");
    if (kvCache != "fp8-e4m3" && kvCache != "none")
      return refuse("kv-cache", kvCache, "fp8-e4m3 or none");
    if (activations == "fp8-dynamic" && weights != "fp8-e4m3")
      return emitError(module.getLoc())
             << "llm-quantize: activations=fp8-dynamic (W8A8) needs "
                "weights=fp8-e4m3";
    if (lmHead && weights != "fp8-e4m3")
      return emitError(module.getLoc())
             << "llm-quantize: lm-head=true needs weights=fp8-e4m3";
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(checkOptions(module)))
      return signalPassFailure();
    if (findGrid(module)) {
      emitError(module.getLoc())
          << "llm-quantize runs on the unsharded graph, but this module is "
             "sharded (it has a shard.grid); quantize first, then shard "
             "(llm-opt --quantize=... --shard=...)";
      return signalPassFailure();
    }
    auto forward = llm::lookupEntry(module);
    if (!forward) {
      module.emitError() << "expected a func.func @forward to quantize";
      return signalPassFailure();
    }
    Quantizer quantizer(module, forward, lmHead);
    if (weights == "fp8-e4m3" && failed(quantizer.quantizeWeights()))
      return signalPassFailure();
    if (activations == "fp8-dynamic")
      quantizer.quantizeActivations();
    if (kvCache == "fp8-e4m3")
      quantizer.quantizeKVCache();
  }
};

} // namespace
