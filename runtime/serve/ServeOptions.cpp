//===- ServeOptions.cpp - the serve flags shared by llm-model and llm-run -===//

#include "runtime/serve/ServeOptions.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace llmc::serve {

std::string serveUsage() {
  return "  --host=ADDR                   address to listen on (default "
         "127.0.0.1)\n"
         "  --port=N                      TCP port (default 8000; 0: any free "
         "port)\n"
         "  --api-key=KEY                 require 'Authorization: Bearer KEY' "
         "on /v1 routes\n"
         "  --served-model-name=NAME      the model id of the API (default: "
         "the model's)\n"
         "  --max-model-len=N             prompt + generated tokens per "
         "request (default: the model's)\n"
         "  --max-num-seqs=N              running sequences per replica "
         "(default 256)\n"
         "  --max-num-batched-tokens=N    tokens per step per replica "
         "(default 2048)\n"
         "  --decode-step-tokens=N        tokens per step per replica when "
         "the step\n"
         "                                carries decode tokens (default 512; "
         "0: the\n"
         "                                batched-token budget): prompt chunks "
         "ride\n"
         "                                with the decodes without stalling "
         "them\n"
         "  --block-size=N                tokens per KV block (default 16)\n"
         "  --gpu-memory-utilization=F    fraction of each GPU's memory to "
         "use (default 0.9)\n"
         "  --no-enable-prefix-caching    do not share KV blocks of common "
         "prefixes\n"
         "  --max-queued-requests=N       waiting requests before 429 "
         "(default 512)\n"
         "  --drain-timeout=SECONDS       on SIGTERM, wait this long for "
         "running requests (default 60)\n"
         "  --http-threads=N              HTTP worker threads (default: "
         "running + queued + 16)\n"
         "  --step-trace=FILE             write one JSON line per engine step "
         "(rows,\n"
         "                                model and host milliseconds) to "
         "FILE\n";
}

namespace {

bool parseInt(const std::string &text, int64_t &out) {
  if (text.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  out = v;
  return true;
}

bool parseDouble(const std::string &text, double &out) {
  if (text.empty())
    return false;
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v))
    return false;
  out = v;
  return true;
}

enum class Kind { String, Int, Double, Flag };
struct FlagSpec {
  const char *name;
  Kind kind;
  int64_t min; ///< for Int
};

const FlagSpec kFlags[] = {
    {"host", Kind::String, 0},
    {"port", Kind::Int, 0},
    {"api-key", Kind::String, 0},
    {"served-model-name", Kind::String, 0},
    {"max-model-len", Kind::Int, 2},
    {"max-num-seqs", Kind::Int, 1},
    {"max-num-batched-tokens", Kind::Int, 1},
    {"decode-step-tokens", Kind::Int, 0},
    {"block-size", Kind::Int, 1},
    {"gpu-memory-utilization", Kind::Double, 0},
    {"enable-prefix-caching", Kind::Flag, 0},
    {"no-enable-prefix-caching", Kind::Flag, 0},
    {"max-queued-requests", Kind::Int, 1},
    {"drain-timeout", Kind::Double, 0},
    {"http-threads", Kind::Int, 1},
    {"step-trace", Kind::String, 0},
};

} // namespace

Expected<ServeOptions> extractServeOptions(std::vector<std::string> &args) {
  using E = Expected<ServeOptions>;
  ServeOptions o;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    std::string name = arg.rfind("--", 0) == 0 ? arg.substr(2) : "";
    std::string value;
    bool hasValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    const FlagSpec *spec = nullptr;
    for (const FlagSpec &f : kFlags)
      if (name == f.name)
        spec = &f;
    if (!spec) {
      rest.push_back(arg);
      continue;
    }
    std::string flag = "--" + name;
    if (spec->kind == Kind::Flag) {
      if (hasValue)
        return E::fromError(Status::error(flag + " takes no value"));
      o.prefixCaching = name == "enable-prefix-caching";
      continue;
    }
    if (!hasValue) {
      if (i + 1 >= args.size())
        return E::fromError(Status::error(flag + " needs a value"));
      value = args[++i];
    }
    int64_t n = 0;
    double d = 0;
    if (spec->kind == Kind::Int) {
      if (!parseInt(value, n))
        return E::fromError(Status::error(flag + "='" + value +
                                          "' is not an integer"));
      if (n < spec->min)
        return E::fromError(Status::error(
            flag + " is " + value + "; it must be at least " +
            std::to_string(spec->min)));
    } else if (spec->kind == Kind::Double) {
      if (!parseDouble(value, d))
        return E::fromError(Status::error(flag + "='" + value +
                                          "' is not a number"));
    }
    if (name == "host") {
      if (value.empty())
        return E::fromError(Status::error("--host needs an address"));
      o.host = value;
    } else if (name == "port") {
      if (n > 65535)
        return E::fromError(Status::error(
            "--port is " + value + "; it must be in [0, 65535]"));
      o.port = int(n);
    } else if (name == "api-key") {
      if (value.empty())
        return E::fromError(Status::error(
            "--api-key is empty; give a key or leave the flag out"));
      o.apiKey = value;
    } else if (name == "served-model-name") {
      o.servedModelName = value;
    } else if (name == "max-model-len") {
      o.maxModelLen = n;
    } else if (name == "max-num-seqs") {
      o.maxNumSeqs = n;
    } else if (name == "max-num-batched-tokens") {
      o.maxNumBatchedTokens = n;
    } else if (name == "decode-step-tokens") {
      o.decodeStepTokens = n;
    } else if (name == "block-size") {
      if (n > 1024)
        return E::fromError(Status::error(
            "--block-size is " + value + "; it must be in [1, 1024]"));
      o.blockSize = int32_t(n);
    } else if (name == "gpu-memory-utilization") {
      if (!(d > 0.0 && d <= 1.0))
        return E::fromError(Status::error(
            "--gpu-memory-utilization is " + value +
            "; it must be in (0, 1] (the fraction of each GPU's memory)"));
      o.gpuMemoryUtilization = d;
    } else if (name == "max-queued-requests") {
      o.maxQueuedRequests = n;
    } else if (name == "drain-timeout") {
      if (d < 0)
        return E::fromError(Status::error("--drain-timeout is " + value +
                                          "; it must be >= 0 seconds"));
      o.drainTimeoutSeconds = d;
    } else if (name == "http-threads") {
      o.httpThreads = n;
    } else if (name == "step-trace") {
      if (value.empty())
        return E::fromError(Status::error("--step-trace needs a file path"));
      o.stepTrace = value;
    }
  }
  args = std::move(rest);
  return o;
}

Expected<EngineConfig> engineConfigFor(const ServeOptions &o,
                                       const ModelFacts &m) {
  using E = Expected<EngineConfig>;
  EngineConfig c;
  c.scheduler = schedulerConfigFor(m);
  SchedulerConfig &s = c.scheduler;
  s.prefixCaching = o.prefixCaching;
  if (o.maxModelLen) {
    if (*o.maxModelLen > m.maxModelLen)
      return E::fromError(Status::error(
          "--max-model-len is " + std::to_string(*o.maxModelLen) +
          " but the model allows at most " + std::to_string(m.maxModelLen) +
          " tokens per sequence"));
    s.maxModelLen = *o.maxModelLen;
  }
  auto limit = [](const std::optional<int64_t> &given, int64_t fallback,
                  int64_t modelMax, const char *flag,
                  const char *what) -> Expected<int64_t> {
    if (given && modelMax > 0 && *given > modelMax)
      return Expected<int64_t>::fromError(Status::error(
          std::string(flag) + " is " + std::to_string(*given) +
          " but the binary runs at most " + std::to_string(modelMax) + " " +
          what + " per step and replica"));
    int64_t v = given ? *given : fallback;
    return modelMax > 0 ? std::min(v, modelMax) : v;
  };
  Expected<int64_t> seqs = limit(o.maxNumSeqs, kDefaultMaxNumSeqs,
                                 m.maxSeqsPerStep, "--max-num-seqs",
                                 "sequences");
  if (!seqs)
    return E::fromError(seqs.status());
  Expected<int64_t> tokens =
      limit(o.maxNumBatchedTokens,
            std::max(kDefaultMaxNumBatchedTokens, *seqs), m.maxTokensPerStep,
            "--max-num-batched-tokens", "tokens");
  if (!tokens)
    return E::fromError(tokens.status());
  s.maxNumSeqs = *seqs;
  s.maxNumBatchedTokens = *tokens;
  // The default follows a lowered batched-token budget; a given value
  // cannot exceed it.
  if (o.decodeStepTokens && *o.decodeStepTokens > *tokens)
    return E::fromError(Status::error(
        "--decode-step-tokens is " + std::to_string(*o.decodeStepTokens) +
        "; it must be at most --max-num-batched-tokens (" +
        std::to_string(*tokens) + ")"));
  s.decodeStepTokens = o.decodeStepTokens
                           ? *o.decodeStepTokens
                           : std::min(kDefaultDecodeStepTokens, *tokens);
  c.maxQueuedRequests = o.maxQueuedRequests;
  c.stepTrace = o.stepTrace;
  if (Status st = validateSchedulerConfig(s); !st)
    return E::fromError(st);
  return c;
}

int64_t httpThreadsFor(const ServeOptions &o, const EngineConfig &c) {
  if (o.httpThreads > 0)
    return o.httpThreads;
  return c.scheduler.maxNumSeqs * c.scheduler.replicas + c.maxQueuedRequests +
         16;
}

} // namespace llmc::serve
