//===- llm-checkpoint.cpp - write a random-weight safetensors checkpoint --===//
//
// llm-checkpoint CONFIG -o DIR [--seed=S] [--max-shard-bytes=N]
//                [--omit=NAME] [--reshape=NAME] [--dtype=F32]
//                [--fp8=METHOD:SCHEME [--fp8-kv-cache]]
//
// Writes DIR/config.json and the safetensors a Hugging Face checkpoint of
// that config would have, filled by the same per-tensor generator as
// `--weights=random:S`, so a run from DIR and a random run of the same seed
// agree up to the checkpoint dtype's rounding. Tests use it to build
// checkpoints without downloads; --omit, --reshape and --dtype make broken
// ones on purpose.
//
// --fp8 writes a published FP8 format instead (docs/quantization.md): F8_E4M3
// weights with F32 scales and config.json's quantization_config, for
//   compressed-tensors:FP8_DYNAMIC  per-channel weights, dynamic per-token
//                                   activations (llm-compressor's scheme)
//   compressed-tensors:FP8          per-tensor weights, static input_scale
//   compressed-tensors:FP8_W8A16    per-channel weights, float activations
//   fp8:dynamic, fp8:static         quant_method "fp8", per-tensor weights
// The codes and scales are exactly those llm-run computes when it quantizes
// the random weights of the same seed while loading.
//
//===----------------------------------------------------------------------===//

#include "llmc/Driver/CommandLine.h"
#include "llmc/Import/Importer.h"
#include "llmc/Import/ModelConfig.h"

#include "llmc/Dialect/Llm/LlmDialect.h"
#include "runtime/weights/Fp8Weights.h"
#include "runtime/weights/RandomWeights.h"
#include "runtime/weights/Safetensors.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"

#include <cstring>

using namespace llvm;

static cl::OptionCategory checkpointCategory("llm-checkpoint options");
static cl::opt<std::string> configPath(cl::Positional, cl::Required,
                                       cl::desc("<config.json or folder>"),
                                       cl::cat(checkpointCategory));
static cl::opt<std::string> outputDir("o", cl::Required,
                                      cl::desc("Output checkpoint folder"),
                                      cl::value_desc("dir"),
                                      cl::cat(checkpointCategory));
static cl::opt<uint64_t> seed("seed", cl::desc("Random weight seed"),
                              cl::init(0), cl::cat(checkpointCategory));
static cl::opt<uint64_t> maxShardBytes(
    "max-shard-bytes",
    cl::desc("Split into model-0000K-of-0000N.safetensors files of at most "
             "this size plus model.safetensors.index.json (0: one file)"),
    cl::init(0), cl::cat(checkpointCategory));
static cl::list<std::string> omit("omit", cl::desc("Leave this tensor out"),
                                  cl::value_desc("name"),
                                  cl::cat(checkpointCategory));
static cl::list<std::string>
    reshape("reshape", cl::desc("Store this tensor with one extra row"),
            cl::value_desc("name"), cl::cat(checkpointCategory));
static cl::opt<std::string>
    dtypeOverride("dtype",
                  cl::desc("Store every tensor in this safetensors dtype "
                           "(F32, F16, BF16) instead of the config's"),
                  cl::init(""), cl::cat(checkpointCategory));

static cl::opt<std::string>
    fp8("fp8",
        cl::desc("Write an FP8 checkpoint: compressed-tensors:FP8_DYNAMIC, "
                 "compressed-tensors:FP8, compressed-tensors:FP8_W8A16, "
                 "fp8:dynamic or fp8:static"),
        cl::value_desc("method:scheme"), cl::init(""),
        cl::cat(checkpointCategory));
static cl::opt<bool>
    fp8KvCache("fp8-kv-cache",
               cl::desc("With --fp8=compressed-tensors:...: add a "
                        "kv_cache_scheme (FP8 KV cache)"),
               cl::cat(checkpointCategory));

static int fail(const Twine &message) {
  return llmc::reportToolError("llm-checkpoint", message);
}

/// config.json's quantization_config for `--fp8`; MoE routers, the shared
/// expert's gate and lm_head stay in the model's float type.
static Expected<json::Object>
quantizationConfig(const llmc::ModelConfig &config) {
  StringRef method, scheme;
  std::tie(method, scheme) = StringRef(fp8).split(':');
  std::vector<std::string> keepFloat = {"lm_head"};
  for (int64_t layer = 0; layer < config.numLayers; ++layer)
    if (config.layerIsMoE[layer]) {
      std::string prefix = llmc::moeModulePrefix(config, layer);
      keepFloat.push_back(prefix + ".gate");
      if (config.hasSharedExpert())
        keepFloat.push_back(prefix + ".shared_expert_gate");
    }
  json::Array ignore;
  for (const std::string &name : keepFloat)
    ignore.push_back(name);
  if (method == "fp8" && (scheme == "dynamic" || scheme == "static")) {
    if (fp8KvCache)
      return createStringError("--fp8-kv-cache needs --fp8=compressed-tensors:"
                               "...; quant_method fp8 has no KV cache scheme");
    return json::Object{{"quant_method", "fp8"},
                        {"activation_scheme", scheme},
                        {"fmt", "e4m3"},
                        {"ignored_layers", std::move(ignore)}};
  }
  auto args = [](StringRef strategy, bool dynamic) {
    return json::Object{{"num_bits", 8},        {"type", "float"},
                        {"symmetric", true},    {"strategy", strategy},
                        {"dynamic", dynamic},   {"group_size", nullptr},
                        {"block_structure", nullptr},
                        {"actorder", nullptr}};
  };
  json::Value weights = nullptr, inputs = nullptr;
  if (method == "compressed-tensors" && scheme == "FP8_DYNAMIC") {
    weights = args("channel", false);
    inputs = args("token", true);
  } else if (method == "compressed-tensors" && scheme == "FP8") {
    weights = args("tensor", false);
    inputs = args("tensor", false);
  } else if (method == "compressed-tensors" && scheme == "FP8_W8A16") {
    weights = args("channel", false);
  } else {
    return createStringError("--fp8='%s' is not one of "
                             "compressed-tensors:FP8_DYNAMIC, "
                             "compressed-tensors:FP8, "
                             "compressed-tensors:FP8_W8A16, fp8:dynamic, "
                             "fp8:static",
                             fp8.c_str());
  }
  json::Value kv = nullptr;
  if (fp8KvCache)
    kv = args("tensor", false);
  json::Object group{{"targets", json::Array{"Linear"}},
                     {"weights", std::move(weights)},
                     {"input_activations", std::move(inputs)},
                     {"output_activations", nullptr}};
  return json::Object{{"quant_method", "compressed-tensors"},
                      {"format", "float-quantized"},
                      {"quantization_status", "compressed"},
                      {"config_groups",
                       json::Object{{"group_0", std::move(group)}}},
                      {"ignore", std::move(ignore)},
                      {"kv_cache_scheme", std::move(kv)}};
}

/// Writes `config` with `quantization` added as config.json in `path`.
static Error writeConfig(StringRef configPath, StringRef path,
                         std::optional<json::Object> quantization) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> text =
      MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (!text)
    return createStringError(configPath + ": " + text.getError().message());
  if (!quantization) {
    if (std::error_code ec = sys::fs::copy_file(configPath, path))
      return createStringError(path + ": " + ec.message());
    return Error::success();
  }
  Expected<json::Value> parsed = json::parse((*text)->getBuffer());
  if (!parsed)
    return parsed.takeError();
  json::Object *object = parsed->getAsObject();
  if (!object)
    return createStringError(configPath + ": not a JSON object");
  (*object)["quantization_config"] = std::move(*quantization);
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec)
    return createStringError(path + ": " + ec.message());
  os << formatv("{0:2}", json::Value(std::move(*object))) << "\n";
  return Error::success();
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  llmc::parseToolCommandLine(argc, argv,
                             "llm-checkpoint: random-weight safetensors "
                             "checkpoint for a Hugging Face config\n",
                             {&checkpointCategory});
  std::string config = configPath;
  if (sys::fs::is_directory(config)) {
    SmallString<256> path(config);
    sys::path::append(path, "config.json");
    config = std::string(path);
  }
  Expected<llmc::ModelConfig> parsed = llmc::loadModelConfig(config);
  if (!parsed)
    return fail(toString(parsed.takeError()));
  if (parsed->quantization.any() && !fp8.empty())
    return fail(config + " is already quantized (quantization_config); "
                "--fp8 needs a float config");
  if (fp8KvCache && fp8.empty())
    return fail("--fp8-kv-cache needs --fp8=compressed-tensors:SCHEME");
  std::optional<json::Object> quantization;
  if (!fp8.empty()) {
    Expected<json::Object> q = quantizationConfig(*parsed);
    if (!q)
      return fail(toString(q.takeError()));
    quantization = std::move(*q);
  }

  if (std::error_code ec = sys::fs::create_directories(outputDir))
    return fail(outputDir + ": " + ec.message());
  SmallString<256> configCopy(outputDir.getValue());
  sys::path::append(configCopy, "config.json");
  if (Error e = writeConfig(config, configCopy, std::move(quantization)))
    return fail(toString(std::move(e)));
  // The graph of the written config: FP8 symbols where it quantizes.
  parsed = llmc::loadModelConfig(configCopy);
  if (!parsed)
    return fail(toString(parsed.takeError()));
  mlir::MLIRContext context;
  auto module = llmc::buildModelGraph(&context, *parsed, "checkpoint");
  mlir::SymbolTable symbols(*module);
  llmc::rt::Fp8Source random{nullptr, seed};
  llvm::StringSet<> scaleNames;
  for (auto weight : module->getOps<llmc::llm::WeightOp>())
    if (mlir::FlatSymbolRefAttr scale = weight.getScaleAttr())
      scaleNames.insert(scale.getValue());

  std::vector<llmc::rt::TensorData> tensors;
  for (auto weight : module->getOps<llmc::llm::WeightOp>()) {
    std::string name = weight.getSymName().str();
    if (llvm::is_contained(omit, name))
      continue;
    mlir::RankedTensorType type = weight.getTensorType();
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    if (mlir::FlatSymbolRefAttr scaleRef = weight.getScaleAttr()) {
      // FP8 codes and their F32 scales, as llm-run quantizes random:S.
      auto scale = symbols.lookup<llmc::llm::WeightOp>(scaleRef.getValue());
      llvm::ArrayRef<int64_t> scaleShape = scale.getTensorType().getShape();
      llmc::rt::Fp8WeightSpec spec{
          name, shape, scaleRef.getValue().str(),
          std::vector<int64_t>(scaleShape.begin(), scaleShape.end())};
      llmc::rt::TensorData codes{name, llmc::rt::DType::F8_E4M3, shape, {}};
      codes.bytes.resize(size_t(type.getNumElements()));
      llmc::rt::TensorData scales{spec.scaleName, llmc::rt::DType::F32,
                                  spec.scaleFullShape, {}};
      std::vector<float> values(
          size_t(scale.getTensorType().getNumElements()));
      if (llmc::rt::Status s = random.codes(spec, std::nullopt,
                                            codes.bytes.data());
          !s)
        return fail(s.message());
      if (llmc::rt::Status s = random.scales(spec, std::nullopt,
                                             values.data());
          !s)
        return fail(s.message());
      scales.bytes.resize(values.size() * 4);
      std::memcpy(scales.bytes.data(), values.data(), scales.bytes.size());
      tensors.push_back(std::move(codes));
      if (!llvm::is_contained(omit, spec.scaleName))
        tensors.push_back(std::move(scales));
      continue;
    }
    if (scaleNames.contains(name))
      continue; // Written with its FP8 weight.
    std::vector<float> values(type.getNumElements());
    if (auto status = llmc::rt::fillRandom(seed, name, shape, std::nullopt,
                                           values.data());
        !status)
      return fail(status.message());
    if (llvm::is_contained(reshape, name)) {
      shape[0] += 1;
      values.resize(values.size() + values.size() / (shape[0] - 1), 0.0f);
    }
    // FP8 input scales are written as F32 like the weight scales.
    bool inputScale = StringRef(name).ends_with("input_scale");
    std::string dtypeName = dtypeOverride.empty() || inputScale
                                ? llmc::safetensorsDTypeName(
                                      type.getElementType())
                                : dtypeOverride.getValue();
    std::optional<llmc::rt::DType> dtype = llmc::rt::parseDType(dtypeName);
    if (!dtype || (*dtype != llmc::rt::DType::F32 &&
                   *dtype != llmc::rt::DType::F16 &&
                   *dtype != llmc::rt::DType::BF16))
      return fail("--dtype must be F32, F16 or BF16, got '" + dtypeName + "'");
    llmc::rt::TensorData data{name, *dtype, shape, {}};
    data.bytes.resize(values.size() * llmc::rt::dtypeSize(*dtype));
    for (size_t i = 0; i < values.size(); ++i) {
      if (*dtype == llmc::rt::DType::F32) {
        std::memcpy(&data.bytes[i * 4], &values[i], 4);
      } else {
        uint16_t bits = *dtype == llmc::rt::DType::BF16
                            ? llmc::rt::floatToBf16(values[i])
                            : llmc::rt::floatToF16(values[i]);
        std::memcpy(&data.bytes[i * 2], &bits, 2);
      }
    }
    tensors.push_back(std::move(data));
  }
  llmc::rt::Status status =
      maxShardBytes > 0
          ? llmc::rt::writeShardedSafetensors(outputDir, tensors,
                                              maxShardBytes)
          : llmc::rt::writeSafetensors(
                outputDir + "/model.safetensors", tensors,
                {{"format", "pt"}});
  if (!status)
    return fail(status.message());
  return 0;
}
