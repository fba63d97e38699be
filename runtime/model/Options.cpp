//===- Options.cpp - command line of a compiled model binary --------------===//

#include "runtime/model/Options.h"

#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>

namespace llmc::rt {

namespace {

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos)
      return parts;
    start = pos + 1;
  }
}

/// A non-negative decimal integer that fits in int64_t.
bool parseNonNegative(const std::string &text, int64_t &out) {
  if (text.empty() || text.size() > 19)
    return false;
  for (char c : text)
    if (c < '0' || c > '9')
      return false;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno || v > uint64_t(std::numeric_limits<int64_t>::max()))
    return false;
  out = int64_t(v);
  return true;
}

} // namespace

std::string modelUsage(const std::string &program) {
  return "usage: " + program +
         " --weights=DIR|random[:SEED] --prompt=IDS [options]\n"
         "       " +
         program +
         " --weights=DIR|random[:SEED] --text=TEXT|--chat=JSON|@FILE "
         "[options]\n"
         "       " +
         program +
         " --weights=DIR|random[:SEED] --bench [--batch=B --prompt-len=P "
         "--gen-len=G]\n"
         "       " +
         program +
         " serve --weights=DIR|random[:SEED] [--tokenizer=DIR] [--host=H "
         "--port=P ...]\n"
         "                               (OpenAI server, docs/serving.md; "
         "serve --help)\n"
         "\n"
         "  --weights=DIR|random[:SEED]  checkpoint folder (safetensors), or "
         "the\n"
         "                               deterministic random weights of "
         "llm-run\n"
         "  --prompt=IDS                 comma-separated token ids; ';' "
         "separates\n"
         "                               the prompts of a batch (equal "
         "lengths)\n"
         "  --text=TEXT                  generate from this text (BOS "
         "added) and print\n"
         "                               the generated text as it is "
         "decoded\n"
         "  --chat=JSON|@FILE            answer these messages "
         "([{\"role\", \"content\"}]),\n"
         "                               rendered with the chat template\n"
         "  --tokenizer=DIR              tokenizer.json, "
         "tokenizer_config.json,\n"
         "                               generation_config.json (default: "
         "the binary's\n"
         "                               folder, where llm-compile copies "
         "them)\n"
         "  --temperature=T              --text/--chat: sampling "
         "temperature in [0, 2]\n"
         "                               (default 0: greedy)\n"
         "  --seed=S                     --text/--chat: seed of the sampling "
         "(default 0)\n"
         "  --max-new-tokens=N           tokens to generate per prompt "
         "(default 16;\n"
         "                               --text/--chat: "
         "generation_config.json's limit,\n"
         "                               else the rest of limits.max_seq)\n"
         "  --emulate-ranks              run every rank of the plan as a "
         "thread on\n"
         "                               GPU 0 (for testing sharded plans)\n"
         "  --dump-logits=FILE           last-position fp32 logits of every "
         "step;\n"
         "                               .npy, else raw (docs/runtime.md)\n"
         "  --bench                      print TTFT, TPOT, tokens/s, "
         "achieved GB/s and\n"
         "                               TFLOP/s against this GPU's measured "
         "copy\n"
         "                               bandwidth and cuBLASLt GEMM rate; "
         "without\n"
         "                               --prompt it makes up the prompts:\n"
         "  --batch=B                    (--bench) B synthetic prompts "
         "(default 1)\n"
         "  --prompt-len=P               (--bench) of P ids each (default "
         "128)\n"
         "  --gen-len=G                  (--bench) = --max-new-tokens=G\n"
         "  --force-tokens=IDS           feed these ids (one row per prompt, "
         "as\n"
         "                               --prompt) after each step instead "
         "of the\n"
         "                               model's choice (teacher forcing)\n"
         "  --no-cuda-graphs             launch decode steps kernel by "
         "kernel\n"
         "  --tune-gemms                 time cuBLASLt's first 8 answers for "
         "each GEMM\n"
         "                               shape on its first eager call and "
         "keep the\n"
         "                               fastest (1.5% or more ahead of the "
         "first)\n"
         "  --gemm-tuning=FILE           use the GEMM choices of FILE; with "
         "--tune-gemms\n"
         "                               also tune the shapes it lacks and "
         "write FILE\n"
         "  --manifest=FILE              default: manifest.json next to the "
         "binary\n"
         "\n"
         "Rank and world size come from llm-launch, mpirun or srun "
         "(docs/runtime.md).\n";
}

Expected<WeightsSpec> parseWeightsSpec(const std::string &text) {
  using E = Expected<WeightsSpec>;
  WeightsSpec spec;
  if (text == "random") {
    spec.random = true;
    return spec;
  }
  if (text.rfind("random:", 0) == 0) {
    int64_t seed;
    if (!parseNonNegative(text.substr(7), seed))
      return E::fromError(Status::error(
          "--weights=random:SEED needs a non-negative integer seed, got '" +
          text.substr(7) + "'"));
    spec.random = true;
    spec.seed = uint64_t(seed);
    return spec;
  }
  if (text.empty())
    return E::fromError(Status::error(
        "--weights needs a checkpoint folder or random[:SEED]"));
  spec.checkpoint = text;
  return spec;
}

Expected<std::vector<std::vector<int64_t>>>
parsePromptList(const std::string &text, const std::string &flag) {
  using E = Expected<std::vector<std::vector<int64_t>>>;
  std::vector<std::vector<int64_t>> prompts;
  std::vector<std::string> rows = split(text, ';');
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<int64_t> ids;
    for (const std::string &item : split(rows[i], ',')) {
      std::string t = trim(item);
      int64_t id;
      if (!parseNonNegative(t, id))
        return E::fromError(Status::error(
            flag + ": '" + t + "' in prompt " + std::to_string(i) +
            " is not a non-negative token id"));
      ids.push_back(id);
    }
    if (!prompts.empty() && ids.size() != prompts.front().size())
      return E::fromError(Status::error(
          flag + ": prompt " + std::to_string(i) + " has " +
          std::to_string(ids.size()) + " tokens but prompt 0 has " +
          std::to_string(prompts.front().size()) +
          "; prompts of a batch must have equal lengths"));
    prompts.push_back(std::move(ids));
  }
  return prompts;
}

Expected<ModelOptions> parseModelOptions(const std::vector<std::string> &args) {
  using E = Expected<ModelOptions>;
  ModelOptions o;
  bool haveMaxNewTokens = false, haveGenLen = false, haveSampling = false;
  // Flags of one generation, meaningless to a server.
  std::vector<std::string> generationOnly;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (i == 0 && arg == "serve") {
      o.serve = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      return E::fromError(Status::error("unexpected argument '" + arg +
                                        "' (see --help)"));
    std::string name = arg.substr(2), value;
    bool hasValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    auto takeValue = [&]() -> Status {
      if (hasValue)
        return Status::ok();
      if (i + 1 >= args.size())
        return Status::error("--" + name + " needs a value");
      value = args[++i];
      hasValue = true;
      return Status::ok();
    };
    // A value that names a file: present and not empty.
    auto takeFileName = [&]() -> Status {
      if (Status s = takeValue(); !s)
        return s;
      if (value.empty())
        return Status::error("--" + name + " needs a file name");
      return Status::ok();
    };
    auto noValue = [&]() -> Status {
      if (hasValue)
        return Status::error("--" + name + " takes no value");
      return Status::ok();
    };
    if (name == "prompt" || name == "max-new-tokens" || name == "batch" ||
        name == "prompt-len" || name == "gen-len" || name == "dump-logits" ||
        name == "force-tokens" || name == "bench" || name == "text" ||
        name == "chat" || name == "temperature" || name == "seed")
      generationOnly.push_back("--" + name);
    if (name == "tokenizer") {
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      if (value.empty())
        return E::fromError(Status::error("--tokenizer needs a folder"));
      o.tokenizer = value;
    } else if (name == "text" || name == "chat") {
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      if (name == "chat" && value.empty())
        return E::fromError(Status::error(
            "--chat needs a JSON array of messages or @FILE"));
      (name == "text" ? o.text : o.chat) = value;
    } else if (name == "temperature") {
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      char *end = nullptr;
      std::string t = trim(value);
      o.temperature = std::strtod(t.c_str(), &end);
      if (t.empty() || *end != '\0')
        return E::fromError(Status::error(
            "--temperature must be a number in [0, 2], got '" + value + "'"));
      haveSampling = true;
    } else if (name == "seed") {
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      int64_t seed;
      if (!parseNonNegative(trim(value), seed))
        return E::fromError(Status::error(
            "--seed must be a non-negative integer, got '" + value + "'"));
      o.seed = uint64_t(seed);
      haveSampling = true;
    } else if (name == "weights") {
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      Expected<WeightsSpec> w = parseWeightsSpec(value);
      if (!w)
        return E::fromError(w.status());
      o.weights = *w;
    } else if (name == "prompt") {
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      auto p = parsePromptList(value);
      if (!p)
        return E::fromError(p.status());
      o.prompts = std::move(*p);
      o.havePrompt = true;
    } else if (name == "max-new-tokens") {
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      int64_t n;
      if (!parseNonNegative(trim(value), n) || n < 1)
        return E::fromError(Status::error(
            "--max-new-tokens must be a positive integer, got '" + value +
            "'"));
      o.maxNewTokens = n;
      haveMaxNewTokens = true;
    } else if (name == "batch" || name == "prompt-len" || name == "gen-len") {
      // --bench sizes.
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      int64_t n;
      if (!parseNonNegative(trim(value), n) || n < 1)
        return E::fromError(Status::error(
            "--" + name + " must be a positive integer, got '" + value + "'"));
      if (name == "batch")
        o.benchBatch = n;
      else if (name == "prompt-len")
        o.benchPromptLen = n;
      else {
        o.maxNewTokens = n;
        haveGenLen = true;
      }
    } else if (name == "emulate-ranks") {
      if (Status s = noValue(); !s)
        return E::fromError(s);
      o.emulateRanks = true;
    } else if (name == "dump-logits") {
      if (Status s = takeFileName(); !s)
        return E::fromError(s);
      o.dumpLogits = value;
    } else if (name == "force-tokens") {
      if (Status s = takeValue(); !s)
        return E::fromError(s);
      auto p = parsePromptList(value, "--force-tokens");
      if (!p)
        return E::fromError(p.status());
      o.forceTokens = std::move(*p);
    } else if (name == "no-cuda-graphs") {
      if (Status s = noValue(); !s)
        return E::fromError(s);
      o.cudaGraphs = false;
    } else if (name == "bench") {
      if (Status s = noValue(); !s)
        return E::fromError(s);
      o.bench = true;
    } else if (name == "tune-gemms") {
      if (Status s = noValue(); !s)
        return E::fromError(s);
      o.tuneGemms = true;
    } else if (name == "gemm-tuning") {
      if (Status s = takeFileName(); !s)
        return E::fromError(s);
      o.gemmTuning = value;
    } else if (name == "manifest") {
      if (Status s = takeFileName(); !s)
        return E::fromError(s);
      o.manifest = value;
    } else {
      return E::fromError(
          Status::error("unknown option '--" + name + "' (see --help)"));
    }
  }
  if (o.help)
    return o;
  if (!o.weights)
    return E::fromError(
        Status::error("--weights=DIR|random[:SEED] is required"));
  if (o.serve) {
    if (!generationOnly.empty())
      return E::fromError(Status::error(
          generationOnly.front() +
          " sets up one generation; llm-model serve takes its prompts and "
          "lengths from HTTP requests, drop it"));
    return o;
  }
  o.haveMaxNewTokens = haveMaxNewTokens;
  if (o.text && o.chat)
    return E::fromError(Status::error("--text and --chat exclude each other"));
  if (o.textMode()) {
    if (o.havePrompt)
      return E::fromError(
          Status::error("--prompt excludes --text and --chat"));
    for (auto [given, flag] :
         {std::pair<bool, const char *>{o.bench, "--bench"},
          {!o.forceTokens.empty(), "--force-tokens"},
          {!o.dumpLogits.empty(), "--dump-logits"},
          {haveGenLen || o.benchBatch || o.benchPromptLen,
           "--batch/--prompt-len/--gen-len"}})
      if (given)
        return E::fromError(Status::error(
            std::string(flag) +
            " works on token ids (--prompt); it cannot be combined with "
            "--text or --chat"));
    return o;
  }
  if (!o.tokenizer.empty())
    return E::fromError(Status::error(
        "--tokenizer reads the text of --text, --chat and llm-model serve; "
        "--prompt takes token ids"));
  if (haveSampling)
    return E::fromError(Status::error(
        "--temperature and --seed sample --text/--chat generations; "
        "--prompt generation is greedy"));
  // --bench sizes.
  if (!o.bench && (o.benchBatch || o.benchPromptLen))
    return E::fromError(Status::error(
        std::string(o.benchBatch ? "--batch" : "--prompt-len") +
        " sizes the synthetic prompts of a benchmark and needs --bench"));
  if (!o.bench && haveGenLen)
    return E::fromError(Status::error(
        "--gen-len sizes a benchmark and needs --bench; without it, use "
        "--max-new-tokens"));
  if (haveGenLen && haveMaxNewTokens)
    return E::fromError(Status::error(
        "--gen-len and --max-new-tokens set the same thing; give one"));
  if (o.havePrompt && (o.benchBatch || o.benchPromptLen))
    return E::fromError(Status::error(
        std::string(o.benchBatch ? "--batch" : "--prompt-len") +
        " sizes the synthetic prompts of --bench and cannot be combined "
        "with --prompt, whose rows set the batch and the length; drop one"));
  if (!o.havePrompt && !o.bench)
    return E::fromError(Status::error(
        "give the prompt as --prompt=IDS, --text or --chat (or --bench, "
        "which makes up prompts)"));
  if (o.usesSyntheticPrompts()) {
    if (!o.benchBatch)
      o.benchBatch = kDefaultBenchBatch;
    if (!o.benchPromptLen)
      o.benchPromptLen = kDefaultBenchPromptLen;
  }
  return o;
}

std::vector<std::vector<int64_t>> syntheticPrompts(int64_t batch, int64_t len,
                                                   int64_t vocab) {
  // The SplitMix64 stream of a fixed seed (the random weights' mixer):
  // deterministic, spread over the whole vocabulary.
  constexpr uint64_t kSeed = 0x6c6c6d632d62656eull; // "llmc-ben"
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;
  std::vector<std::vector<int64_t>> prompts(
      static_cast<size_t>(batch),
      std::vector<int64_t>(static_cast<size_t>(len)));
  uint64_t index = 0;
  for (std::vector<int64_t> &row : prompts)
    for (int64_t &id : row)
      id = int64_t(splitmix64(kSeed + index++ * kGolden) % uint64_t(vocab));
  return prompts;
}

Expected<RunShape> checkRequest(const Manifest &m, const ModelOptions &o) {
  using E = Expected<RunShape>;
  auto fail = [](std::string msg) { return E::fromError(Status::error(msg)); };
  RunShape r;
  if (o.usesSyntheticPrompts() && o.prompts.empty()) {
    // --bench without --prompt: the prompts are made after these checks
    // (syntheticPrompts), so a huge --batch is refused before it is.
    r.batch = o.benchBatch;
    r.promptLen = o.benchPromptLen;
    if (r.batch < 1 || r.promptLen < 1)
      return fail("--batch and --prompt-len must be positive");
  } else {
    if (o.prompts.empty() || o.prompts.front().empty())
      return fail("--prompt is empty");
    r.batch = int64_t(o.prompts.size());
    r.promptLen = int64_t(o.prompts.front().size());
  }
  r.maxNewTokens = o.maxNewTokens;
  for (size_t p = 0; p < o.prompts.size(); ++p)
    for (int64_t id : o.prompts[p])
      if (id >= m.model.vocabSize)
        return fail("token id " + std::to_string(id) + " in prompt " +
                    std::to_string(p) + " is out of range: the vocabulary has " +
                    std::to_string(m.model.vocabSize) + " tokens");
  // Overflow-safe: both are < 2^63 and checked one at a time.
  if (r.promptLen > m.limits.maxSeq ||
      r.maxNewTokens > m.limits.maxSeq - r.promptLen)
    return fail("a prompt of " + std::to_string(r.promptLen) + " tokens plus " +
                std::to_string(r.maxNewTokens) +
                " new tokens exceeds the binary's maximum sequence length " +
                std::to_string(m.limits.maxSeq) +
                " (limits.max_seq); shorten the request or recompile with a "
                "larger limit");
  if (r.batch > m.limits.maxBatch)
    return fail("a batch of " + std::to_string(r.batch) +
                " prompts exceeds the binary's maximum batch " +
                std::to_string(m.limits.maxBatch) + " (limits.max_batch)");
  r.replicas = m.plan.numReplicas();
  if (r.batch % r.replicas != 0) {
    std::string axes;
    for (const std::string &a : m.plan.batchAxes)
      axes += (axes.empty() ? "" : ", ") + a;
    return fail("a batch of " + std::to_string(r.batch) +
                " prompts cannot be split evenly over " +
                std::to_string(r.replicas) + " batch replicas (axes " + axes +
                "); pass a multiple of " + std::to_string(r.replicas) +
                " prompts");
  }
  r.localBatch = r.batch / r.replicas;
  if (r.localBatch % m.plan.microbatches != 0)
    return fail("a batch of " + std::to_string(r.batch) + " prompts (" +
                std::to_string(r.localBatch) +
                " per batch replica) cannot be split into " +
                std::to_string(m.plan.microbatches) +
                " pipeline micro-batches; pass a multiple of " +
                std::to_string(m.plan.microbatches * r.replicas) + " prompts");
  if (m.plan.sequenceAxis) {
    r.spDegree = m.plan.degree(*m.plan.sequenceAxis);
    if (r.promptLen < r.spDegree)
      return fail("a prompt of " + std::to_string(r.promptLen) +
                  " tokens cannot be split over " +
                  std::to_string(r.spDegree) +
                  " sequence-parallel ranks (axis '" + *m.plan.sequenceAxis +
                  "'); each needs at least one token");
  }
  if (!o.forceTokens.empty()) {
    if (int64_t(o.forceTokens.size()) != r.batch)
      return fail("--force-tokens has " + std::to_string(o.forceTokens.size()) +
                  " rows but there are " + std::to_string(r.batch) +
                  " prompts; give one row of ids per prompt");
    if (int64_t(o.forceTokens.front().size()) < r.maxNewTokens - 1)
      return fail("--force-tokens rows have " +
                  std::to_string(o.forceTokens.front().size()) +
                  " ids but " + std::to_string(r.maxNewTokens) +
                  " new tokens need " + std::to_string(r.maxNewTokens - 1) +
                  " (one fed back after every step but the last)");
    for (size_t p = 0; p < o.forceTokens.size(); ++p)
      for (int64_t id : o.forceTokens[p])
        if (id >= m.model.vocabSize)
          return fail("token id " + std::to_string(id) +
                      " in --force-tokens row " + std::to_string(p) +
                      " is out of range: the vocabulary has " +
                      std::to_string(m.model.vocabSize) + " tokens");
  }
  // One llmc_forward call gets the rank's whole batch (the generated code
  // splits it into micro-batches itself).
  int64_t prefillRows =
      r.localBatch * sequenceBlock(r.promptLen, r.spDegree, 0).second;
  if (prefillRows > m.limits.maxTokensPerStep)
    return fail("prefill of " + std::to_string(r.localBatch) + " x " +
                std::to_string(r.promptLen) + " tokens needs " +
                std::to_string(prefillRows) +
                " rows per rank, more than the binary's " +
                std::to_string(m.limits.maxTokensPerStep) +
                " (limits.max_tokens_per_step)");
  return r;
}

} // namespace llmc::rt
