//===- ModelConfig.cpp - Hugging Face config.json reader and checks -------===//
//
// Every field is type-checked and range-checked before the graph is built, so
// a bad config yields one diagnostic naming file, field and rule instead of a
// malformed graph or a huge allocation later.
//
//===----------------------------------------------------------------------===//

#include "llmc/Import/ModelConfig.h"

#include "lib/import/FieldReader.h"
#include "lib/import/QuantizationConfig.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace llvm;

namespace llmc {

namespace {

/// Sizes far beyond any published model; larger values are refused before
/// anything is allocated from them.
constexpr int64_t kMaxHidden = 1 << 18;        // 262144
constexpr int64_t kMaxIntermediate = 1 << 21;  // 2097152
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxVocab = 1 << 24;         // 16.7M
constexpr int64_t kMaxExperts = 4096;
constexpr int64_t kMaxPositions = int64_t(1) << 32;
/// Routed experts summed over the MoE layers (DeepSeek-V3 has 58 x 256 =
/// 14848). Each is three llm.weight ops, so this bounds the graph llm-import
/// builds: 4096 layers of 4096 experts pass every per-field limit but would
/// take tens of GB and minutes to build.
constexpr int64_t kMaxExpertInstances = int64_t(1) << 16;

/// RoPE parameters: transformers 4 writes `rope_theta` and `rope_scaling`;
/// transformers 5 writes one `rope_parameters` object holding both (its
/// save_pretrained emits only that form), so both are read.
Error readRope(FieldReader &reader, ModelConfig &config) {
  StringRef field = "rope_scaling";
  const json::Value *v = reader.object.get(field);
  if (!v || v->kind() == json::Value::Null) {
    field = "rope_parameters";
    v = reader.object.get(field);
  }
  ASSIGN_OR_RETURN(config.ropeTheta, reader.positive("rope_theta", 10000.0));
  if (!v || v->kind() == json::Value::Null)
    return Error::success();
  const json::Object *scaling = v->getAsObject();
  if (!scaling)
    return reader.error(field, "must be an object or null, got " +
                                   FieldReader::render(*v));
  std::string prefix = (field + ".").str();
  FieldReader scoped(reader.path, *scaling, prefix);
  if (field == "rope_parameters" && !reader.has("rope_theta"))
    ASSIGN_OR_RETURN(config.ropeTheta,
                     scoped.positive("rope_theta", 10000.0));
  std::optional<std::string> type;
  ASSIGN_OR_RETURN(type, scoped.string("rope_type"));
  if (!type)
    ASSIGN_OR_RETURN(type, scoped.string("type"));
  if (!type && field == "rope_parameters")
    type = "default";
  if (!type)
    return reader.error(field, "needs 'rope_type' (or 'type')");
  if (*type == "default")
    return Error::success();
  if (*type != "linear" && *type != "llama3")
    return reader.error(field, formatv("type '{0}' is not supported; "
                                       "supported: linear, llama3",
                                                *type));
  double factor;
  ASSIGN_OR_RETURN(factor, scoped.positive("factor", std::nullopt));
  config.ropeFactor = factor;
  if (*type == "linear") {
    config.ropeScaling = RopeScaling::Linear;
    return Error::success();
  }
  config.ropeScaling = RopeScaling::Llama3;
  // transformers requires all three (its llama3 RoPE reads them without
  // defaults); guessing Llama 3.1's values would silently compute another
  // model's frequencies.
  ASSIGN_OR_RETURN(config.ropeLowFreqFactor,
                   scoped.positive("low_freq_factor", std::nullopt));
  ASSIGN_OR_RETURN(config.ropeHighFreqFactor,
                   scoped.positive("high_freq_factor", std::nullopt));
  ASSIGN_OR_RETURN(config.ropeOriginalMaxPosition,
                   scoped.integer("original_max_position_embeddings", 1,
                                  kMaxPositions));
  if (config.ropeHighFreqFactor <= config.ropeLowFreqFactor)
    return reader.error(prefix + "high_freq_factor",
                        formatv("= {0} must exceed low_freq_factor = {1}",
                                config.ropeHighFreqFactor,
                                config.ropeLowFreqFactor));
  return Error::success();
}

Error readTokenIds(FieldReader &reader, ModelConfig &config) {
  const json::Value *eos = reader.object.get("eos_token_id");
  if (eos && eos->kind() != json::Value::Null) {
    if (auto id = eos->getAsInteger()) {
      config.eosTokenIds.push_back(*id);
    } else if (const json::Array *ids = eos->getAsArray()) {
      for (const json::Value &item : *ids) {
        auto id = item.getAsInteger();
        if (!id)
          return reader.error("eos_token_id",
                              "must be an integer or a list of integers");
        config.eosTokenIds.push_back(*id);
      }
    } else {
      return reader.error("eos_token_id",
                          "must be an integer or a list of integers");
    }
  }
  ASSIGN_OR_RETURN(config.bosTokenId,
                   reader.integer("bos_token_id", -1, kMaxVocab, -1));
  for (int64_t id : config.eosTokenIds)
    if (id < 0 || id >= config.vocabSize)
      return reader.error("eos_token_id",
                          formatv("id {0} is outside the vocabulary [0, {1})",
                                  id, config.vocabSize));
  if (config.bosTokenId >= config.vocabSize)
    return reader.error("bos_token_id",
                        formatv("id {0} is outside the vocabulary [0, {1})",
                                config.bosTokenId, config.vocabSize));
  return Error::success();
}

Error readSlidingWindow(FieldReader &reader, ModelConfig &config) {
  config.slidingWindow.assign(config.numLayers, std::nullopt);
  std::optional<int64_t> window;
  if (reader.has("sliding_window")) {
    int64_t w;
    ASSIGN_OR_RETURN(w, reader.integer("sliding_window", 1, kMaxPositions));
    window = w;
  }
  if (!window)
    return Error::success();
  if (config.arch == Architecture::Qwen2 ||
      config.arch == Architecture::Qwen2Moe) {
    // Qwen2 keeps sliding_window in every config but only uses it when
    // use_sliding_window is set, for layers >= max_window_layers.
    bool use;
    ASSIGN_OR_RETURN(use, reader.boolean("use_sliding_window", false));
    if (!use)
      return Error::success();
    int64_t maxWindowLayers;
    ASSIGN_OR_RETURN(maxWindowLayers,
                     reader.integer("max_window_layers", 0, kMaxLayers,
                                    config.numLayers));
    for (int64_t i = maxWindowLayers; i < config.numLayers; ++i)
      config.slidingWindow[i] = window;
    return Error::success();
  }
  for (auto &w : config.slidingWindow)
    w = window;
  return Error::success();
}

Error readMoE(FieldReader &reader, ModelConfig &config) {
  config.layerIsMoE.assign(config.numLayers, false);
  if (config.arch == Architecture::Mixtral) {
    ASSIGN_OR_RETURN(config.numExperts,
                     reader.integer("num_local_experts", 1, kMaxExperts));
    config.moeIntermediateSize = config.intermediateSize;
    config.normTopkProb = true; // Mixtral always renormalises the top-k.
    config.layerIsMoE.assign(config.numLayers, true);
  } else if (config.arch == Architecture::Qwen2Moe) {
    ASSIGN_OR_RETURN(config.numExperts,
                     reader.integer("num_experts", 1, kMaxExperts));
    ASSIGN_OR_RETURN(config.moeIntermediateSize,
                     reader.integer("moe_intermediate_size", 1,
                                    kMaxIntermediate));
    ASSIGN_OR_RETURN(config.sharedExpertIntermediateSize,
                     reader.integer("shared_expert_intermediate_size", 0,
                                    kMaxIntermediate, 0));
    ASSIGN_OR_RETURN(config.normTopkProb,
                     reader.boolean("norm_topk_prob", false));
    int64_t step;
    ASSIGN_OR_RETURN(step, reader.integer("decoder_sparse_step", 1,
                                          kMaxLayers, 1));
    std::vector<bool> mlpOnly(config.numLayers, false);
    if (const json::Value *v = reader.object.get("mlp_only_layers");
        v && v->kind() != json::Value::Null) {
      const json::Array *layers = v->getAsArray();
      if (!layers)
        return reader.error("mlp_only_layers", "must be a list of layer "
                                               "indices");
      for (const json::Value &item : *layers) {
        auto index = item.getAsInteger();
        if (!index || *index < 0 || *index >= config.numLayers)
          return reader.error(
              "mlp_only_layers",
              formatv("entry {0} is not a layer index in [0, {1})",
                      FieldReader::render(item), config.numLayers));
        mlpOnly[*index] = true;
      }
    }
    for (int64_t i = 0; i < config.numLayers; ++i)
      config.layerIsMoE[i] = !mlpOnly[i] && (i + 1) % step == 0;
  } else {
    return Error::success();
  }
  // Both factors are <= 4096, so the product cannot overflow.
  int64_t moeLayers = llvm::count(config.layerIsMoE, true);
  if (moeLayers * config.numExperts > kMaxExpertInstances)
    return reader.error(
        config.arch == Architecture::Mixtral ? "num_local_experts"
                                             : "num_experts",
        formatv("= {0} experts in each of {1} MoE layers make {2} experts in "
                "all, more than the supported maximum {3}",
                config.numExperts, moeLayers, moeLayers * config.numExperts,
                kMaxExpertInstances));
  ASSIGN_OR_RETURN(config.numExpertsPerTok,
                   reader.integer("num_experts_per_tok", 1, kMaxExperts));
  if (config.numExpertsPerTok > config.numExperts)
    return reader.error("num_experts_per_tok",
                        formatv("= {0} exceeds the number of experts {1}; "
                                "top-k must pick at most every expert",
                                config.numExpertsPerTok, config.numExperts));
  return Error::success();
}

} // namespace

Expected<ModelConfig> parseModelConfig(StringRef path, StringRef text) {
  if (text.trim().empty())
    return createStringError(inconvertibleErrorCode(),
                             path + ": file is empty; expected a Hugging Face "
                                    "config.json object");
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return createStringError(inconvertibleErrorCode(),
                             path + ": not valid JSON: " +
                                 toString(parsed.takeError()));
  const json::Object *object = parsed->getAsObject();
  if (!object)
    return createStringError(inconvertibleErrorCode(),
                             path + ": expected a JSON object at top level, "
                                    "got " +
                                 FieldReader::render(*parsed));
  FieldReader reader(path, *object);
  ModelConfig config;

  // Architecture.
  const json::Value *archs = object->get("architectures");
  const json::Array *archList = archs ? archs->getAsArray() : nullptr;
  if (archs && archs->kind() != json::Value::Null && !archList)
    return reader.error("architectures",
                        "must be a list of class names, e.g. "
                        "[\"LlamaForCausalLM\"], got " +
                            FieldReader::render(*archs));
  std::optional<StringRef> archName;
  if (archList && !archList->empty())
    archName = (*archList)[0].getAsString();
  if (!archName) {
    // Fall back on model_type, which every config has.
    std::optional<std::string> modelType;
    ASSIGN_OR_RETURN(modelType, reader.string("model_type"));
    if (!modelType)
      return reader.error("architectures",
                          "is missing; expected e.g. [\"LlamaForCausalLM\"]");
    static const std::pair<const char *, const char *> kByType[] = {
        {"llama", "LlamaForCausalLM"},     {"mistral", "MistralForCausalLM"},
        {"qwen2", "Qwen2ForCausalLM"},     {"mixtral", "MixtralForCausalLM"},
        {"qwen2_moe", "Qwen2MoeForCausalLM"}};
    for (auto [type, name] : kByType)
      if (*modelType == type)
        archName = name;
    if (!archName)
      return reader.error("model_type",
                          formatv("'{0}' is not supported; supported: llama, "
                                  "mistral, qwen2, mixtral, qwen2_moe",
                                  *modelType));
  }
  std::optional<Architecture> arch =
      StringSwitch<std::optional<Architecture>>(*archName)
          .Case("LlamaForCausalLM", Architecture::Llama)
          .Case("MistralForCausalLM", Architecture::Mistral)
          .Case("Qwen2ForCausalLM", Architecture::Qwen2)
          .Case("MixtralForCausalLM", Architecture::Mixtral)
          .Case("Qwen2MoeForCausalLM", Architecture::Qwen2Moe)
          .Default(std::nullopt);
  if (!arch)
    return reader.error("architectures",
                        formatv("'{0}' is not supported; supported: "
                                "LlamaForCausalLM, MistralForCausalLM, "
                                "Qwen2ForCausalLM, MixtralForCausalLM, "
                                "Qwen2MoeForCausalLM",
                                *archName));
  config.arch = *arch;
  config.architectureName = archName->str();

  std::optional<std::string> act;
  ASSIGN_OR_RETURN(act, reader.string("hidden_act"));
  if (act && *act != "silu")
    return reader.error("hidden_act",
                        formatv("'{0}' is not supported; the supported "
                                "architectures use 'silu' (SwiGLU)",
                                *act));

  std::optional<std::string> dtype;
  ASSIGN_OR_RETURN(dtype, reader.string("torch_dtype"));
  if (!dtype)
    ASSIGN_OR_RETURN(dtype, reader.string("dtype"));
  std::string dt = dtype.value_or("bfloat16");
  if (dt == "bfloat16")
    config.dtype = "bf16";
  else if (dt == "float16")
    config.dtype = "f16";
  else if (dt == "float32")
    config.dtype = "f32";
  else
    return reader.error(reader.has("torch_dtype") ? "torch_dtype" : "dtype",
                        formatv("'{0}' is not supported; expected bfloat16, "
                                "float16 or float32",
                                dt));

  // Sizes.
  ASSIGN_OR_RETURN(config.hiddenSize,
                   reader.integer("hidden_size", 1, kMaxHidden));
  ASSIGN_OR_RETURN(config.numLayers,
                   reader.integer("num_hidden_layers", 1, kMaxLayers));
  ASSIGN_OR_RETURN(config.numHeads,
                   reader.integer("num_attention_heads", 1, kMaxHeads));
  ASSIGN_OR_RETURN(config.numKvHeads,
                   reader.integer("num_key_value_heads", 1, kMaxHeads,
                                  config.numHeads));
  ASSIGN_OR_RETURN(config.vocabSize,
                   reader.integer("vocab_size", 1, kMaxVocab));
  ASSIGN_OR_RETURN(config.maxPositionEmbeddings,
                   reader.integer("max_position_embeddings", 1, kMaxPositions,
                                  4096));
  // Qwen2-MoE needs intermediate_size only for its dense layers; checked
  // once the layer pattern is known.
  bool intermediateOptional = config.arch == Architecture::Qwen2Moe;
  ASSIGN_OR_RETURN(config.intermediateSize,
                   reader.integer("intermediate_size", 1, kMaxIntermediate,
                                  intermediateOptional
                                      ? std::optional<int64_t>(0)
                                      : std::nullopt));

  if (reader.has("head_dim")) {
    ASSIGN_OR_RETURN(config.headDim, reader.integer("head_dim", 2, 4096));
  } else {
    if (config.hiddenSize % config.numHeads != 0)
      return reader.error("num_attention_heads",
                          formatv("= {0} does not divide hidden_size = {1}; "
                                  "without an explicit head_dim every head "
                                  "must get hidden_size / num_attention_heads "
                                  "features",
                                  config.numHeads, config.hiddenSize));
    config.headDim = config.hiddenSize / config.numHeads;
  }
  if (config.headDim % 2 != 0)
    return reader.error(reader.has("head_dim") ? "head_dim"
                                               : "num_attention_heads",
                        formatv("head_dim = {0} must be even for rotary "
                                "embeddings",
                                config.headDim));
  if (config.numKvHeads > config.numHeads)
    return reader.error("num_key_value_heads",
                        formatv("= {0} exceeds num_attention_heads = {1}",
                                config.numKvHeads, config.numHeads));
  if (config.numHeads % config.numKvHeads != 0)
    return reader.error("num_key_value_heads",
                        formatv("= {0} does not divide num_attention_heads = "
                                "{1}; each kv head must serve a whole group "
                                "of query heads",
                                config.numKvHeads, config.numHeads));

  ASSIGN_OR_RETURN(config.rmsNormEps, reader.positive("rms_norm_eps", 1e-6));
  if (Error e = readRope(reader, config))
    return std::move(e);
  ASSIGN_OR_RETURN(config.tieWordEmbeddings,
                   reader.boolean("tie_word_embeddings",
                                  /*HF default*/ false));

  switch (config.arch) {
  case Architecture::Llama: {
    bool attentionBias;
    ASSIGN_OR_RETURN(attentionBias, reader.boolean("attention_bias", false));
    config.qkvBias = config.oBias = attentionBias;
    ASSIGN_OR_RETURN(config.mlpBias, reader.boolean("mlp_bias", false));
    break;
  }
  case Architecture::Qwen2:
  case Architecture::Qwen2Moe:
    config.qkvBias = true;
    break;
  default:
    break;
  }
  if (Error e = readSlidingWindow(reader, config))
    return std::move(e);
  if (Error e = readMoE(reader, config))
    return std::move(e);
  if (config.intermediateSize == 0)
    for (int64_t i = 0; i < config.numLayers; ++i)
      if (!config.layerIsMoE[i])
        return reader.error("intermediate_size",
                            formatv("is required: layer {0} is a dense MLP "
                                    "layer (mlp_only_layers / "
                                    "decoder_sparse_step)",
                                    i));
  if (Error e = readTokenIds(reader, config))
    return std::move(e);
  if (Error e = readQuantizationConfig(reader, config))
    return std::move(e);
  return config;
}

Expected<ModelConfig> loadModelConfig(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return createStringError(buffer.getError(),
                             path + ": cannot read: " +
                                 buffer.getError().message());
  return parseModelConfig(path, (*buffer)->getBuffer());
}

} // namespace llmc
