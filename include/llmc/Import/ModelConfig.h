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
#include <optional>
#include <string>
#include <vector>

namespace llmc {

enum class RopeScaling { None, Linear, Llama3 };

/// The architectures llm-import understands (config.json "architectures").
enum class Architecture { Llama, Mistral, Qwen2, Mixtral, Qwen2Moe };

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

  bool isMoE() const { return numExperts > 0; }
  bool hasSharedExpert() const { return sharedExpertIntermediateSize > 0; }
};

/// Parses and validates config.json text. Errors read
/// "<path>: field '<name>': <rule>" and name the offending value.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef path,
                                             llvm::StringRef text);

/// Reads and parses a config.json file.
llvm::Expected<ModelConfig> loadModelConfig(llvm::StringRef path);

} // namespace llmc

#endif // LLMC_IMPORT_MODELCONFIG_H
