//===- ModelConfig.h - Hugging Face config.json, validated --------*- C++ -*-===//
//
// The subset of a Hugging Face config.json that determines the graph of the
// supported decoder-only architectures, after every field was type-checked
// and every cross-field rule enforced.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_IMPORT_MODELCONFIG_H
#define LLMC_IMPORT_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class Regex;
} // namespace llvm

namespace llmc {

enum class RopeScaling { None, Linear, Llama3 };

/// The architectures llm-import understands (config.json "architectures").
enum class Architecture { Llama, Mistral, Qwen2, Mixtral, Qwen2Moe };

/// How a published FP8 checkpoint is quantized (config.json's
/// quantization_config; docs/quantization.md lists what is read).
struct CheckpointQuantization {
  /// quant_method: "compressed-tensors" or "fp8"; empty for a checkpoint
  /// in its float dtype.
  std::string method;
  /// Weight scales: [out, 1] per output channel, else [1] per tensor.
  bool perChannelWeights = false;
  /// Linear inputs: kept in the model's float type, quantized per token at
  /// run time, or quantized with the checkpoint's static per-tensor
  /// `input_scale`.
  enum class Activations { None, DynamicPerToken, StaticPerTensor };
  Activations activations = Activations::None;
  /// kv_cache_scheme asks for an FP8 KV cache.
  bool kvCache = false;
  /// Which Linear modules are FP8: compressed-tensors `targets` / `ignore`
  /// ("Linear", exact names, "re:" regexes matched at the start as Python's
  /// re.match does); fp8's `ignored_layers` (exact names) and
  /// `modules_to_not_convert` (substrings).
  std::vector<std::string> targets, ignore, ignoreSubstrings;
  /// The compiled "re:" entries of targets and ignore, index for index
  /// (null for the other entries); filled by the parser.
  std::vector<std::shared_ptr<const llvm::Regex>> targetPatterns,
      ignorePatterns;

  bool any() const { return !method.empty(); }
  /// Whether module `module` (a weight name without ".weight"), an
  /// nn.Linear unless `isLinear` is false, holds FP8 weights.
  bool quantizes(llvm::StringRef module, bool isLinear = true) const;
};

struct ModelConfig {
  Architecture arch = Architecture::Llama;
  std::string architectureName; ///< As written, e.g. "LlamaForCausalLM".
  std::string dtype;            ///< "bf16", "f16" or "f32".

  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  int64_t vocabSize = 0;
  int64_t maxPositionEmbeddings = 0;
  double rmsNormEps = 1e-6;
  bool tieWordEmbeddings = false;

  double ropeTheta = 10000.0;
  RopeScaling ropeScaling = RopeScaling::None;
  double ropeFactor = 1.0;
  double ropeLowFreqFactor = 1.0;
  double ropeHighFreqFactor = 4.0;
  int64_t ropeOriginalMaxPosition = 0;

  bool qkvBias = false; ///< q/k/v projections have biases (Qwen2).
  bool oBias = false;   ///< o_proj has a bias (Llama attention_bias).
  bool mlpBias = false; ///< gate/up/down have biases (Llama mlp_bias).

  /// Sliding-window size per layer (nullopt: full attention).
  std::vector<std::optional<int64_t>> slidingWindow;

  // Mixture of experts (Mixtral, Qwen2-MoE).
  int64_t numExperts = 0;
  int64_t numExpertsPerTok = 0;
  int64_t moeIntermediateSize = 0;    ///< Routed experts' intermediate size.
  int64_t sharedExpertIntermediateSize = 0; ///< Qwen2-MoE shared expert.
  bool normTopkProb = true;           ///< Renormalise the top-k weights.
  std::vector<bool> layerIsMoE;       ///< Per layer: routed experts or MLP.

  std::vector<int64_t> eosTokenIds;
  int64_t bosTokenId = -1;

  /// FP8 checkpoints: how they are quantized (method empty otherwise).
  CheckpointQuantization quantization;

  bool isMoE() const { return numExperts > 0; }
  bool hasSharedExpert() const { return sharedExpertIntermediateSize > 0; }
};

/// The module prefix of layer `layer`'s MoE block: "model.layers.N.mlp"
/// (Qwen2-MoE) or "model.layers.N.block_sparse_moe" (Mixtral); its router is
/// "<prefix>.gate".
std::string moeModulePrefix(const ModelConfig &config, int64_t layer);

/// The module of expert `expert`'s `projection` ("gate", "up" or "down")
/// in layer `layer`: Mixtral's w1/w3/w2, Qwen2-MoE's gate_proj/up_proj/
/// down_proj.
std::string expertModule(const ModelConfig &config, int64_t layer,
                         int64_t expert, llvm::StringRef projection);

/// Parses and validates config.json text. Errors read
/// "<path>: field '<name>': <rule>" and name the offending value.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef path,
                                             llvm::StringRef text);

/// Reads and parses a config.json file.
llvm::Expected<ModelConfig> loadModelConfig(llvm::StringRef path);

} // namespace llmc

#endif // LLMC_IMPORT_MODELCONFIG_H
