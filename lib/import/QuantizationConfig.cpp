//===- QuantizationConfig.cpp - config.json's quantization_config ---------===//
//
// Two published FP8 formats are read (docs/quantization.md):
//
//   * compressed-tensors (llm-compressor's FP8 and FP8_DYNAMIC schemes):
//     config_groups of FP8 weights ("channel" or "tensor" scales) and
//     optional FP8 input activations (dynamic "token", or static "tensor"
//     with input_scale tensors), targets/ignore module lists, an optional
//     kv_cache_scheme;
//   * quant_method "fp8" (AutoFP8 / vLLM): per-tensor weight scales,
//     activation_scheme dynamic or static, ignored_layers /
//     modules_to_not_convert.
//
// Everything else (AWQ, GPTQ, bitsandbytes, block-wise FP8 scales, integer
// or 4-bit schemes, ...) is an error naming the method or the field.
//
//===----------------------------------------------------------------------===//

#include "lib/import/QuantizationConfig.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Regex.h"

using namespace llvm;

namespace llmc {

namespace {

constexpr const char *kSupported =
    "llmc reads FP8 checkpoints: 'compressed-tensors' (llm-compressor's FP8 "
    "and FP8_DYNAMIC schemes) and 'fp8' (per-tensor scales)";

/// A list of strings (absent or null: empty).
Expected<std::vector<std::string>> stringList(FieldReader &reader,
                                              StringRef field) {
  std::vector<std::string> out;
  const json::Value *v = reader.object.get(field);
  if (!v || v->kind() == json::Value::Null)
    return out;
  const json::Array *list = v->getAsArray();
  if (!list)
    return reader.error(field, "must be a list of strings, got " +
                                   FieldReader::render(*v));
  for (const json::Value &item : *list) {
    std::optional<StringRef> s = item.getAsString();
    if (!s)
      return reader.error(field, "must be a list of strings, got " +
                                     FieldReader::render(item));
    out.push_back(s->str());
  }
  return out;
}

/// The nested object `field` (nullptr when absent or null).
Expected<const json::Object *> object(FieldReader &reader, StringRef field) {
  const json::Value *v = reader.object.get(field);
  if (!v || v->kind() == json::Value::Null)
    return nullptr;
  if (const json::Object *o = v->getAsObject())
    return o;
  return reader.error(field, "must be an object or null, got " +
                                 FieldReader::render(*v));
}

/// Compiles the "re:" entries of `entries` into `patterns` (index for
/// index, null for other entries), anchored at the start as Python's
/// re.match is; llvm::Regex speaks POSIX extended regular expressions, which
/// cover the patterns published configs use.
Error compilePatterns(FieldReader &reader, StringRef field,
                      ArrayRef<std::string> entries,
                      std::vector<std::shared_ptr<const Regex>> &patterns) {
  for (const std::string &entry : entries) {
    StringRef text(entry);
    if (!text.consume_front("re:")) {
      patterns.push_back(nullptr);
      continue;
    }
    auto regex = std::make_shared<const Regex>(("^(" + text + ")").str());
    std::string error;
    if (!regex->isValid(error))
      return reader.error(field, formatv("pattern '{0}' is not a POSIX "
                                         "extended regular expression llmc "
                                         "can match: {1}",
                                         entry, error));
    patterns.push_back(std::move(regex));
  }
  return Error::success();
}

bool matchesEntry(StringRef module, StringRef entry, const Regex *pattern,
                  bool isLinear) {
  if (entry == "Linear")
    return isLinear;
  if (pattern)
    return pattern->match(module);
  return entry == module;
}

/// One QuantizationArgs object of compressed-tensors, FP8 only.
struct Fp8Args {
  std::string strategy;
  bool dynamic = false;
};

Expected<Fp8Args> readFp8Args(FieldReader &reader, StringRef what) {
  Fp8Args args;
  int64_t bits;
  ASSIGN_OR_RETURN(bits, reader.integer("num_bits", 1, 64));
  std::optional<std::string> type;
  ASSIGN_OR_RETURN(type, reader.string("type"));
  if (bits != 8 || type != std::optional<std::string>("float"))
    return reader.error(
        bits != 8 ? "num_bits" : "type",
        formatv("{0} {1}-bit {2} quantization is not supported; {3}", what,
                bits, type.value_or("(no type)"), kSupported));
  bool symmetric;
  ASSIGN_OR_RETURN(symmetric, reader.boolean("symmetric", true));
  if (!symmetric)
    return reader.error("symmetric", "asymmetric FP8 (a zero point) is not "
                                     "supported");
  for (StringRef field : {"group_size", "block_structure", "actorder"})
    if (reader.has(field))
      return reader.error(
          field, formatv("= {0} is not supported; FP8 {1} need "
                         "per-channel, per-tensor or per-token "
                         "scales",
                         FieldReader::render(*reader.object.get(field)), what));
  std::optional<std::string> strategy;
  ASSIGN_OR_RETURN(strategy, reader.string("strategy"));
  args.strategy = strategy.value_or("tensor");
  const json::Value *dynamic = reader.object.get("dynamic");
  if (dynamic && dynamic->kind() != json::Value::Null) {
    std::optional<bool> flag = dynamic->getAsBoolean();
    if (!flag)
      return reader.error("dynamic",
                          formatv("= {0} is not supported; expected true or "
                                  "false",
                                  FieldReader::render(*dynamic)));
    args.dynamic = *flag;
  }
  return args;
}

Error readCompressedTensors(FieldReader &q, CheckpointQuantization &out) {
  std::optional<std::string> format, status;
  ASSIGN_OR_RETURN(format, q.string("format"));
  if (format && *format != "float-quantized")
    return q.error("format", formatv("'{0}' is not supported; FP8 "
                                     "checkpoints are 'float-quantized'",
                                     *format));
  ASSIGN_OR_RETURN(status, q.string("quantization_status"));
  if (status && *status != "compressed")
    return q.error("quantization_status",
                   formatv("'{0}' is not supported: the weights are not "
                           "stored as FP8 codes ('compressed')",
                           *status));
  for (StringRef field : {"sparsity_config", "transform_config"})
    if (q.has(field))
      return q.error(field, "is not supported (FP8 quantization only)");
  const json::Object *groups;
  ASSIGN_OR_RETURN(groups, object(q, "config_groups"));
  if (!groups || groups->empty())
    return q.error("config_groups", "is required: one or more FP8 schemes");
  std::optional<std::pair<std::string, std::string>> first;
  std::string firstGroup;
  // Group names in sorted order so the first-differing message is stable.
  std::vector<std::string> names;
  for (const auto &entry : *groups)
    names.push_back(entry.first.str());
  llvm::sort(names);
  for (const std::string &name : names) {
    std::string prefix = (q.prefix + "config_groups." + name + ".").str();
    const json::Object *group = groups->getObject(name);
    if (!group)
      return q.error("config_groups." + name, "must be an object");
    FieldReader g(q.path, *group, prefix);
    std::optional<std::string> groupFormat;
    ASSIGN_OR_RETURN(groupFormat, g.string("format"));
    if (groupFormat && *groupFormat != "float-quantized")
      return g.error("format", formatv("'{0}' is not supported; FP8 "
                                       "checkpoints are 'float-quantized'",
                                       *groupFormat));
    if (g.has("output_activations"))
      return g.error("output_activations", "output quantization is not "
                                           "supported");
    std::vector<std::string> targets;
    ASSIGN_OR_RETURN(targets, stringList(g, "targets"));
    if (Error e = compilePatterns(g, "targets", targets, out.targetPatterns))
      return e;
    for (const std::string &target : targets)
      if (!StringRef(target).starts_with("re:") && target != "Linear" &&
          !StringRef(target).contains('.') && target != "lm_head")
        return g.error("targets",
                       formatv("entry '{0}' is not supported: llmc matches "
                               "'Linear', module names and 're:' patterns",
                               target));
    out.targets.insert(out.targets.end(), targets.begin(), targets.end());

    const json::Object *weights;
    ASSIGN_OR_RETURN(weights, object(g, "weights"));
    if (!weights)
      return g.error("weights", "is required: llmc reads FP8 weights");
    // FieldReader keeps a StringRef to its prefix: keep the string alive.
    std::string weightsPrefix = prefix + "weights.";
    FieldReader w(q.path, *weights, weightsPrefix);
    Fp8Args wa;
    ASSIGN_OR_RETURN(wa, readFp8Args(w, "weights"));
    if (wa.strategy != "channel" && wa.strategy != "tensor")
      return w.error("strategy",
                     formatv("'{0}' is not supported; FP8 weights need "
                             "'channel' or 'tensor' scales (block-wise and "
                             "group-wise scales are not supported)",
                             wa.strategy));
    if (wa.dynamic)
      return w.error("dynamic", "dynamic weight scales are not supported");

    std::string activations = "none";
    const json::Object *inputs;
    ASSIGN_OR_RETURN(inputs, object(g, "input_activations"));
    if (inputs) {
      std::string inputsPrefix = prefix + "input_activations.";
      FieldReader a(q.path, *inputs, inputsPrefix);
      Fp8Args aa;
      ASSIGN_OR_RETURN(aa, readFp8Args(a, "activations"));
      if (aa.dynamic && (aa.strategy == "token" || aa.strategy == "tensor"))
        activations = "dynamic";
      else if (!aa.dynamic && aa.strategy == "tensor")
        activations = "static";
      else
        return a.error("strategy",
                       formatv("'{0}' with dynamic = {1} is not supported; "
                               "FP8 activations need dynamic 'token' (or "
                               "'tensor') scales or a static 'tensor' scale",
                               aa.strategy, aa.dynamic ? "true" : "false"));
    }
    std::pair<std::string, std::string> scheme = {wa.strategy, activations};
    if (first && *first != scheme)
      return q.error("config_groups",
                     formatv("groups '{0}' and '{1}' use different schemes "
                             "(weights {2} / activations {3} against {4} / "
                             "{5}); llmc reads one FP8 scheme per checkpoint",
                             firstGroup, name, first->first, first->second,
                             scheme.first, scheme.second));
    if (!first) {
      first = scheme;
      firstGroup = name;
    }
  }
  out.perChannelWeights = first->first == "channel";
  out.activations = first->second == "none"
                        ? CheckpointQuantization::Activations::None
                    : first->second == "dynamic"
                        ? CheckpointQuantization::Activations::DynamicPerToken
                        : CheckpointQuantization::Activations::StaticPerTensor;
  ASSIGN_OR_RETURN(out.ignore, stringList(q, "ignore"));
  if (Error e = compilePatterns(q, "ignore", out.ignore, out.ignorePatterns))
    return e;

  const json::Object *kv;
  ASSIGN_OR_RETURN(kv, object(q, "kv_cache_scheme"));
  if (kv) {
    std::string kvPrefix = (q.prefix + "kv_cache_scheme.").str();
    FieldReader k(q.path, *kv, kvPrefix);
    Fp8Args ka;
    ASSIGN_OR_RETURN(ka, readFp8Args(k, "KV caches"));
    out.kvCache = true;
  }
  return Error::success();
}

Error readFp8Method(FieldReader &q, CheckpointQuantization &out) {
  std::optional<std::string> scheme, fmt;
  ASSIGN_OR_RETURN(scheme, q.string("activation_scheme"));
  if (!scheme || *scheme == "dynamic")
    out.activations = CheckpointQuantization::Activations::DynamicPerToken;
  else if (*scheme == "static")
    out.activations = CheckpointQuantization::Activations::StaticPerTensor;
  else
    return q.error("activation_scheme",
                   formatv("'{0}' is not supported; expected 'dynamic' or "
                           "'static'",
                           *scheme));
  ASSIGN_OR_RETURN(fmt, q.string("fmt"));
  if (fmt && *fmt != "e4m3")
    return q.error("fmt", formatv("'{0}' is not supported; llmc's FP8 is "
                                  "e4m3",
                                  *fmt));
  if (q.has("weight_block_size"))
    return q.error(
        "weight_block_size",
        formatv("= {0}: block-wise FP8 weight scales "
                "(DeepSeek-V3, Qwen3 FP8) are not supported; "
                "llmc reads per-tensor and per-channel FP8 scales",
                FieldReader::render(*q.object.get("weight_block_size"))));
  out.perChannelWeights = false;
  ASSIGN_OR_RETURN(out.ignore, stringList(q, "ignored_layers"));
  ASSIGN_OR_RETURN(out.ignoreSubstrings,
                   stringList(q, "modules_to_not_convert"));
  return Error::success();
}

} // namespace

bool CheckpointQuantization::quantizes(StringRef module, bool isLinear) const {
  if (method.empty())
    return false;
  auto matchesAny = [&](ArrayRef<std::string> entries,
                        ArrayRef<std::shared_ptr<const Regex>> patterns) {
    for (size_t i = 0; i < entries.size(); ++i)
      if (matchesEntry(module, entries[i],
                       i < patterns.size() ? patterns[i].get() : nullptr,
                       isLinear))
        return true;
    return false;
  };
  if (matchesAny(ignore, ignorePatterns) ||
      llvm::any_of(ignoreSubstrings, [&](const std::string &substring) {
        return module.contains(substring);
      }))
    return false;
  if (method == "fp8")
    return isLinear;
  return matchesAny(targets, targetPatterns);
}

std::string moeModulePrefix(const ModelConfig &config, int64_t layer) {
  return config.arch == Architecture::Mixtral
             ? formatv("model.layers.{0}.block_sparse_moe", layer).str()
             : formatv("model.layers.{0}.mlp", layer).str();
}

std::string expertModule(const ModelConfig &config, int64_t layer,
                         int64_t expert, StringRef projection) {
  bool mixtral = config.arch == Architecture::Mixtral;
  StringRef name = projection == "gate" ? (mixtral ? "w1" : "gate_proj")
                   : projection == "up" ? (mixtral ? "w3" : "up_proj")
                                        : (mixtral ? "w2" : "down_proj");
  return formatv("{0}.experts.{1}.{2}", moeModulePrefix(config, layer), expert,
                 name)
      .str();
}

Error readQuantizationConfig(FieldReader &reader, ModelConfig &config) {
  const json::Object *q;
  ASSIGN_OR_RETURN(q, object(reader, "quantization_config"));
  if (!q)
    return Error::success();
  FieldReader scoped(reader.path, *q, "quantization_config.");
  std::optional<std::string> method;
  ASSIGN_OR_RETURN(method, scoped.string("quant_method"));
  if (!method)
    return scoped.error("quant_method",
                        formatv("is missing, so the checkpoint's quantization "
                                "is unknown; {0}",
                                kSupported));
  CheckpointQuantization &out = config.quantization;
  if (*method == "compressed-tensors") {
    if (Error e = readCompressedTensors(scoped, out))
      return e;
  } else if (*method == "fp8") {
    if (Error e = readFp8Method(scoped, out))
      return e;
  } else {
    return scoped.error("quant_method", formatv("'{0}' is not supported; {1}",
                                                *method, kSupported));
  }
  out.method = *method;

  // Modules llmc keeps in the model's float type must not be FP8.
  auto refuse = [&](StringRef module, StringRef role) {
    return scoped.error(
        out.method == "fp8" ? "ignored_layers" : "ignore",
        formatv("does not exclude '{0}' ({1}), which llmc keeps in the "
                "model's float type; FP8 is supported for the attention, MLP "
                "and expert projections and an untied lm_head",
                module, role));
  };
  if (out.quantizes("model.embed_tokens", /*isLinear=*/false))
    return refuse("model.embed_tokens", "the token embedding");
  if (config.tieWordEmbeddings && out.quantizes("lm_head"))
    return refuse("lm_head", "tied to the token embedding");
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    if (!config.layerIsMoE[layer])
      continue;
    std::string prefix = moeModulePrefix(config, layer);
    if (out.quantizes(prefix + ".gate"))
      return refuse(prefix + ".gate", "the MoE router");
    if (config.hasSharedExpert() &&
        out.quantizes(prefix + ".shared_expert_gate"))
      return refuse(prefix + ".shared_expert_gate",
                    "the shared expert's sigmoid gate");
    // One llm.experts op holds a layer's experts: all FP8 or none, and so
    // for the three projections of the shared expert.
    std::vector<std::string> modules;
    for (int64_t e = 0; e < config.numExperts; ++e)
      for (StringRef p : {"gate", "up", "down"})
        modules.push_back(expertModule(config, layer, e, p));
    if (config.hasSharedExpert())
      for (StringRef p : {"gate_proj", "up_proj", "down_proj"})
        modules.push_back(prefix + ".shared_expert." + p.str());
    size_t routed = 3 * size_t(config.numExperts);
    for (size_t i = 0; i < modules.size(); ++i) {
      size_t first = i < routed ? 0 : routed;
      if (out.quantizes(modules[i]) != out.quantizes(modules[first]))
        return scoped.error(
            out.method == "fp8" ? "ignored_layers" : "ignore",
            formatv("makes '{0}' FP8 but not '{1}' (or the reverse); the "
                    "projections of layer {2}'s {3} must all be FP8 or all "
                    "float",
                    modules[first], modules[i], layer,
                    i < routed ? "routed experts" : "shared expert"));
    }
  }
  return Error::success();
}

} // namespace llmc
