//===- ServeOptions.h - the serve flags shared by llm-model and llm-run -*- C++ -*-===//
//
// `llm-model serve` and `llm-run serve` take the same serving flags (named
// as vLLM names them) beside their own; extractServeOptions takes these
// out of an argument list and leaves the rest for the binary's parser.
// engineConfigFor then checks them against what the model allows.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_SERVEOPTIONS_H
#define LLMC_RUNTIME_SERVE_SERVEOPTIONS_H

#include "runtime/serve/Engine.h"

#include <optional>
#include <string>
#include <vector>

namespace llmc::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                 ///< 0: any free port (printed at start)
  std::string apiKey;              ///< "": no authentication
  std::string servedModelName;     ///< "": the model's name
  std::optional<int64_t> maxModelLen;
  std::optional<int64_t> maxNumSeqs;          ///< default 256
  std::optional<int64_t> maxNumBatchedTokens; ///< default 2048
  std::optional<int64_t> decodeStepTokens;    ///< default 512
  int32_t blockSize = 16;
  double gpuMemoryUtilization = 0.9;
  bool prefixCaching = true;
  int64_t maxQueuedRequests = 512;
  double drainTimeoutSeconds = 60;
  /// HTTP worker threads (each open request holds one); 0: enough for
  /// every running and queued request plus a few.
  int64_t httpThreads = 0;
  std::string stepTrace; ///< --step-trace: "" none
};

constexpr int64_t kDefaultMaxNumSeqs = 256;
constexpr int64_t kDefaultMaxNumBatchedTokens = 2048;
constexpr int64_t kDefaultDecodeStepTokens = 512;

/// The serve flags' help text (one flag per line, two-space indent).
std::string serveUsage();

/// Removes the serve flags (`--name=value` or `--name value`) from `args`,
/// leaving every other argument in order, and parses them. Errors name
/// the flag and the rule.
Expected<ServeOptions> extractServeOptions(std::vector<std::string> &args);

/// The engine's limits for `model` under `options`: the max model length
/// (at most the model's), max-num-seqs and max-num-batched-tokens (at most
/// the binary's per-step limits: an explicit larger value is an error, a
/// default is lowered), the KV blocks and replicas of `model`.
Expected<EngineConfig> engineConfigFor(const ServeOptions &options,
                                       const ModelFacts &model);

/// HTTP worker threads for `options` and `config` (see httpThreads).
int64_t httpThreadsFor(const ServeOptions &options, const EngineConfig &config);

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_SERVEOPTIONS_H
