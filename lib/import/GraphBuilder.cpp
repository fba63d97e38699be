//===- GraphBuilder.cpp - ModelConfig to llm dialect graph ----------------===//
//
// Emits the graph Hugging Face's modeling code computes for the supported
// architectures. Weight symbols are the checkpoint's tensor names, so the
// graph is also the list of tensors a checkpoint must provide.
//
//===----------------------------------------------------------------------===//

#include "llmc/Import/Importer.h"

#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace llmc::llm;

namespace llmc {

namespace {

/// Builds one model; keeps the module builder (weight declarations) and the
/// current insertion point (function or layer body) apart.
class GraphBuilder {
public:
  GraphBuilder(MLIRContext *context, const ModelConfig &config)
      : context(context), config(config), builder(context),
        loc(UnknownLoc::get(context)) {
    if (config.dtype == "f16")
      dtype = builder.getF16Type();
    else if (config.dtype == "f32")
      dtype = builder.getF32Type();
    else
      dtype = builder.getBF16Type();
  }

  OwningOpRef<ModuleOp> build(StringRef sourceName);

private:
  RankedTensorType weightType(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, dtype);
  }
  RankedTensorType activation(int64_t features, int64_t seq = kDynamic) {
    return RankedTensorType::get({kDynamic, seq, features}, dtype);
  }

  /// Declares weight `name` (once; of element type `element`, the model's
  /// dtype when null, naming scale symbol `scale` when given) and returns
  /// its value at the insertion point.
  Value param(const std::string &name, ArrayRef<int64_t> shape,
              Type element = {}, StringRef scale = {}) {
    auto type = RankedTensorType::get(shape, element ? element : dtype);
    if (declared.insert(name).second) {
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPoint(weightInsertPoint);
      WeightOp::create(builder, loc, name, type,
                       scale.empty()
                           ? FlatSymbolRefAttr()
                           : FlatSymbolRefAttr::get(context, scale),
                       WeightSliceAttr(), OwnerAttr());
    }
    return ParamOp::create(builder, loc, type, name);
  }

  /// The weight of Linear module `module` ([out, in]) and its FP8 scale:
  /// the checkpoint's FP8 codes and `<module>.weight_scale` when
  /// quantization_config quantizes the module, else the float weight and
  /// no scale.
  std::pair<Value, Value> weight(StringRef module, int64_t out, int64_t in) {
    std::string name = (module + ".weight").str();
    if (!config.quantization.quantizes(module))
      return {param(name, {out, in}), Value()};
    std::string scaleName = name + "_scale";
    Value w = param(name, {out, in}, builder.getType<Float8E4M3FNType>(),
                    scaleName);
    SmallVector<int64_t> scaleShape = {1};
    if (config.quantization.perChannelWeights)
      scaleShape = {out, 1};
    return {w, param(scaleName, scaleShape, builder.getF32Type())};
  }

  /// The FP8 form of a Linear input and its scale, as the checkpoint
  /// quantizes the inputs of `module`: per token at run time (one
  /// quantization per input value, shared by q/k/v and gate/up) or with
  /// the module's static `input_scale`.
  std::pair<Value, Value> quantizedInput(Value input, StringRef module) {
    auto type = cast<RankedTensorType>(input.getType());
    auto codes = type.clone(builder.getType<Float8E4M3FNType>());
    if (config.quantization.activations ==
        CheckpointQuantization::Activations::StaticPerTensor) {
      Value scale = param((module + ".input_scale").str(), {1},
                          builder.getF32Type());
      return {QuantizeOp::create(builder, loc, codes, input, scale), scale};
    }
    auto &entry = dynamicInputs[input];
    if (!entry.first) {
      SmallVector<int64_t> scaleShape(type.getShape());
      scaleShape.back() = 1;
      Value scale = TokenScaleOp::create(
          builder, loc, RankedTensorType::get(scaleShape, builder.getF32Type()),
          input);
      entry = {QuantizeOp::create(builder, loc, codes, input, scale), scale};
    }
    return entry;
  }

  Value linear(Value input, const std::string &prefix, int64_t out,
               int64_t in, bool bias) {
    auto [w, scale] = weight(prefix, out, in);
    Value b = bias ? param(prefix + ".bias", {out}) : Value();
    Value inputScale;
    if (scale && config.quantization.activations !=
                     CheckpointQuantization::Activations::None)
      std::tie(input, inputScale) = quantizedInput(input, prefix);
    return LinearOp::create(builder, loc, activation(out), input, w, b, scale,
                            inputScale);
  }

  Value rmsNorm(Value input, const std::string &name) {
    auto type = cast<RankedTensorType>(input.getType());
    Value w = param(name, {config.hiddenSize});
    return RMSNormOp::create(builder, loc, type, input, w,
                                     builder.getF64FloatAttr(config.rmsNormEps));
  }

  Value swigluMLP(Value input, const std::string &prefix, int64_t inter,
                  bool bias) {
    int64_t h = config.hiddenSize;
    Value gate = linear(input, prefix + ".gate_proj", inter, h, bias);
    Value up = linear(input, prefix + ".up_proj", inter, h, bias);
    Value act = SwiGLUOp::create(builder, loc, gate, up);
    return linear(act, prefix + ".down_proj", h, inter, bias);
  }

  Value attention(Value x, Value positions, Value cache, int64_t layer);
  Value moe(Value x, int64_t layer);
  void decoderLayer(int64_t layer, Value &hidden, Value positions,
                    Value cache);

  static constexpr int64_t kDynamic = ShapedType::kDynamic;
  MLIRContext *context;
  const ModelConfig &config;
  OpBuilder builder;
  Location loc;
  Type dtype;
  RopeAttr rope;
  Operation *weightInsertPoint = nullptr;
  llvm::StringSet<> declared;
  /// Per-token FP8 forms of Linear inputs, shared by their consumers.
  DenseMap<Value, std::pair<Value, Value>> dynamicInputs;
};

Value GraphBuilder::attention(Value x, Value positions, Value cache,
                              int64_t layer) {
  std::string prefix = llvm::formatv("model.layers.{0}.self_attn", layer);
  int64_t h = config.hiddenSize, hd = config.headDim;
  int64_t qSize = config.numHeads * hd, kvSize = config.numKvHeads * hd;
  Value q = linear(x, prefix + ".q_proj", qSize, h, config.qkvBias);
  Value k = linear(x, prefix + ".k_proj", kvSize, h, config.qkvBias);
  Value v = linear(x, prefix + ".v_proj", kvSize, h, config.qkvBias);
  auto headDimAttr = builder.getI64IntegerAttr(hd);
  q = RopeOp::create(builder, loc, q.getType(), q, positions, headDimAttr, rope);
  k = RopeOp::create(builder, loc, k.getType(), k, positions, headDimAttr, rope);
  IntegerAttr window;
  if (auto w = config.slidingWindow[layer])
    window = builder.getI64IntegerAttr(*w);
  Value attn = AttentionOp::create(builder, loc, activation(qSize), q, k, v, positions, cache,
      builder.getI64IntegerAttr(layer), builder.getI64IntegerAttr(config.numHeads),
      builder.getI64IntegerAttr(config.numKvHeads), headDimAttr,
      builder.getUnitAttr(), window, FloatAttr());
  return linear(attn, prefix + ".o_proj", h, qSize, config.oBias);
}

Value GraphBuilder::moe(Value x, int64_t layer) {
  int64_t h = config.hiddenSize, e = config.numExperts;
  std::string prefix = moeModulePrefix(config, layer);
  Value gate = param(prefix + ".gate.weight", {e, h});
  int64_t k = config.numExpertsPerTok;
  auto weightsType =
      RankedTensorType::get({kDynamic, kDynamic, k}, builder.getF32Type());
  auto indicesType =
      RankedTensorType::get({kDynamic, kDynamic, k}, builder.getI64Type());
  auto router = MoERouterOp::create(builder, loc, weightsType, indicesType, x, gate, builder.getI64IntegerAttr(e),
      builder.getI64IntegerAttr(k),
      config.normTopkProb ? builder.getUnitAttr() : UnitAttr());
  int64_t inter = config.moeIntermediateSize;
  // Experts keep their activations in the model's float type, even when
  // the checkpoint quantizes Linear inputs (docs/quantization.md).
  SmallVector<Value> gates, ups, downs, gateScales, upScales, downScales;
  for (int64_t i = 0; i < e; ++i) {
    auto [g, gs] = weight(expertModule(config, layer, i, "gate"), inter, h);
    auto [u, us] = weight(expertModule(config, layer, i, "up"), inter, h);
    auto [d, ds] = weight(expertModule(config, layer, i, "down"), h, inter);
    gates.push_back(g);
    ups.push_back(u);
    downs.push_back(d);
    if (gs) {
      gateScales.push_back(gs);
      upScales.push_back(us);
      downScales.push_back(ds);
    }
  }
  Value out = ExpertsOp::create(
      builder, loc, x.getType(), x, router.getWeights(), router.getIndices(),
      gates, ups, downs, gateScales, upScales, downScales,
      builder.getI64IntegerAttr(e), DenseI64ArrayAttr(), StringAttr(),
      DenseI64ArrayAttr());
  if (!config.hasSharedExpert())
    return out;
  int64_t si = config.sharedExpertIntermediateSize;
  std::string sp = prefix + ".shared_expert";
  // Separate statements: argument evaluation order is unspecified, and the
  // weights should be declared in checkpoint order.
  auto [sharedGate, gs] = weight(sp + ".gate_proj", si, h);
  auto [sharedUp, us] = weight(sp + ".up_proj", si, h);
  auto [sharedDown, ds] = weight(sp + ".down_proj", h, si);
  Value expertGate = param(prefix + ".shared_expert_gate.weight", {1, h});
  Value shared = SharedExpertOp::create(builder, loc, x.getType(), x,
                                        sharedGate, sharedUp, sharedDown,
                                        expertGate, gs, us, ds);
  return AddOp::create(builder, loc, out, shared);
}

void GraphBuilder::decoderLayer(int64_t layer, Value &hidden, Value positions,
                                Value cache) {
  auto op = DecoderLayerOp::create(builder, loc, layer, TypeRange{hidden.getType()},
      ValueRange{hidden, positions, cache});
  OpBuilder::InsertionGuard guard(builder);
  Block &body = op.getBody().front();
  builder.setInsertionPointToStart(&body);
  Value x = body.getArgument(0), pos = body.getArgument(1),
        kv = body.getArgument(2);
  std::string prefix = llvm::formatv("model.layers.{0}", layer);

  Value normed = rmsNorm(x, prefix + ".input_layernorm.weight");
  Value attn = attention(normed, pos, kv, layer);
  Value residual = AddOp::create(builder, loc, x, attn);
  Value normed2 = rmsNorm(residual, prefix + ".post_attention_layernorm.weight");
  Value mlp = config.layerIsMoE[layer]
                  ? moe(normed2, layer)
                  : swigluMLP(normed2, prefix + ".mlp", config.intermediateSize,
                              config.mlpBias);
  Value out = AddOp::create(builder, loc, residual, mlp);
  YieldOp::create(builder, loc, ValueRange{out});
  hidden = op.getResult(0);
}

OwningOpRef<ModuleOp> GraphBuilder::build(StringRef sourceName) {
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr(LlmDialect::kArchitectureAttrName,
                     builder.getStringAttr(config.architectureName));
  (*module)->setAttr(LlmDialect::kSourceAttrName,
                     builder.getStringAttr(sourceName));
  (*module)->setAttr(LlmDialect::kMaxPositionEmbeddingsAttrName,
                     builder.getI64IntegerAttr(config.maxPositionEmbeddings));
  if (!config.eosTokenIds.empty())
    (*module)->setAttr(LlmDialect::kEosTokenIdsAttrName,
                       builder.getDenseI64ArrayAttr(config.eosTokenIds));
  if (config.bosTokenId >= 0)
    (*module)->setAttr(LlmDialect::kBosTokenIdAttrName,
                       builder.getI64IntegerAttr(config.bosTokenId));

  switch (config.ropeScaling) {
  case RopeScaling::None:
    rope = RopeAttr::get(context, config.ropeTheta);
    break;
  case RopeScaling::Linear:
    rope = RopeAttr::get(context, config.ropeTheta, RopeScalingKind::linear,
                         config.ropeFactor);
    break;
  case RopeScaling::Llama3:
    rope = RopeAttr::get(context, config.ropeTheta, RopeScalingKind::llama3,
                         config.ropeFactor, config.ropeLowFreqFactor,
                         config.ropeHighFreqFactor,
                         config.ropeOriginalMaxPosition);
    break;
  }

  builder.setInsertionPointToEnd(module->getBody());
  int64_t h = config.hiddenSize, vocab = config.vocabSize;
  auto idsType = RankedTensorType::get({kDynamic, kDynamic},
                                       builder.getI64Type());
  auto cacheType =
      config.quantization.kvCache
          ? KVCacheType::get(context, config.numLayers, config.numKvHeads,
                             config.headDim,
                             builder.getType<Float8E4M3FNType>(),
                             KVScaleKind::per_token_head)
          : KVCacheType::get(context, config.numLayers, config.numKvHeads,
                             config.headDim, dtype);
  if (config.quantization.any())
    (*module)->setAttr(LlmDialect::kQuantizationAttrName,
                       builder.getStringAttr(config.quantization.method));
  auto logitsType = activation(vocab, 1);
  auto nextType = RankedTensorType::get({kDynamic, 1}, builder.getI64Type());
  auto func = func::FuncOp::create(
      builder, loc, LlmDialect::kEntryName,
      builder.getFunctionType({idsType, idsType, cacheType},
                              {logitsType, nextType}));
  func.setArgAttr(0, LlmDialect::kArgNameAttrName,
                  builder.getStringAttr("input_ids"));
  func.setArgAttr(1, LlmDialect::kArgNameAttrName,
                  builder.getStringAttr("positions"));
  func.setArgAttr(2, LlmDialect::kArgNameAttrName,
                  builder.getStringAttr("kv_cache"));
  weightInsertPoint = func;
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  Value ids = entry->getArgument(0), positions = entry->getArgument(1),
        cache = entry->getArgument(2);

  Value table = param("model.embed_tokens.weight", {vocab, h});
  Value hidden = EmbeddingOp::create(builder, loc, activation(h), ids, table,
                                             UnitAttr());
  for (int64_t layer = 0; layer < config.numLayers; ++layer)
    decoderLayer(layer, hidden, positions, cache);
  Value last = LastTokenOp::create(builder, loc, activation(h, 1), hidden);
  Value normed = rmsNorm(last, "model.norm.weight");
  auto [head, headScale] =
      config.tieWordEmbeddings
          ? std::pair<Value, Value>(param("model.embed_tokens.weight",
                                          {vocab, h}),
                                    Value())
          : weight("lm_head", vocab, h);
  Value logits = LMHeadOp::create(builder, loc, logitsType, normed, head,
      headScale, config.tieWordEmbeddings ? builder.getUnitAttr() : UnitAttr(),
      UnitAttr());
  Value next = ArgmaxOp::create(builder, loc, nextType, logits);
  func::ReturnOp::create(builder, loc, ValueRange{logits, next});
  return module;
}

} // namespace

OwningOpRef<ModuleOp> buildModelGraph(MLIRContext *context,
                                      const ModelConfig &config,
                                      StringRef sourceName) {
  context->loadDialect<LlmDialect, func::FuncDialect>();
  return GraphBuilder(context, config).build(sourceName);
}

} // namespace llmc
