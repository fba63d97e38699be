//===- Generate.cpp - the main program of a compiled model ----------------===//
//
// Per step, every rank uploads its batch rows (its replica's prompts; under
// context parallelism its block of the prompt during prefill), calls
// llmc_forward on its whole local batch (the generated code splits it into
// pipeline micro-batches itself, using Step::cacheRow), and all-gathers the
// `next` ids over the world so every rank, stage 0 included, knows every
// sequence's new token. The ids of batch replica d are taken from the
// lowest rank of d in the last pipeline stage. The step ends with a polled
// wait on the stream (timeouts instead of hangs); that is also where rank 0
// reads the tokens back for printing.
//
// Decode steps have one shape (batch rows of one token, the ids and
// positions in the same device buffers), so from the second decode step on
// llmc_forward is captured once as a CUDA graph and replayed: one launch
// per token instead of hundreds. The first decode step runs eagerly and
// sizes every persistent scratch buffer and cuBLASLt plan the capture will
// see. Emulated ranks (threads whose collectives are host rendezvous
// enqueueing event waits between their streams) share ONE graph holding
// every rank's work (EmulatedGraph). Plans that synchronise the host inside
// a step (expert parallelism reads routing counts back) run every step
// eagerly, as does --no-cuda-graphs.
//
//===----------------------------------------------------------------------===//

#include "runtime/generate/Generate.h"

#include "runtime/comm/CudaDeviceOps.h"
#include "runtime/comm/InProcessCommunicator.h"
#include "runtime/comm/NcclCommunicator.h"
#include "runtime/generate/Bench.h"
#include "runtime/generate/RunContext.h"
#include "runtime/gemm/Gemm.h"
#include "runtime/kernels/Kernels.h"
#include "runtime/launch/Environment.h"
#include "runtime/model/Cost.h"
#include "runtime/model/DeviceRank.h"
#include "runtime/model/HostWeights.h"
#include "runtime/model/Options.h"
#include "runtime/model/Weights.h"
#ifdef LLMC_WITH_SERVE
#include "runtime/serve/HttpServer.h"
#endif
#include "runtime/serve/ServeOptions.h"
#include "runtime/serve/TextGeneration.h"
#include "runtime/serve/TokenizerCodec.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <unistd.h>

namespace llmc::rt {

namespace gen {

[[noreturn]] void fatal(const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", kProgram, message.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(1);
}

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f GiB", double(bytes) / (1u << 30));
  return buf;
}

double envSeconds(const char *name, double fallback) {
  if (const char *v = std::getenv(name)) {
    char *end = nullptr;
    double s = std::strtod(v, &end);
    if (end != v && *end == '\0' && s > 0)
      return s;
  }
  return fallback;
}

std::string executableDir() {
  std::vector<char> buf(4096);
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0)
    return ".";
  std::string path(buf.data(), size_t(n));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

//===----------------------------------------------------------------------===//
// --dump-logits
//===----------------------------------------------------------------------===//

/// Last-position fp32 logits of every step: [steps, batch, vocab], as .npy
/// (version 1.0) when the name ends in .npy, else raw: the 8 bytes
/// "LLMCLGT1", then steps, batch and vocab as little-endian int64, then the
/// floats.
class LogitsDump {
public:
  Status open(const std::string &path, int64_t steps, int64_t batch,
              int64_t vocab) {
    out_.open(path, std::ios::binary | std::ios::trunc);
    if (!out_)
      return Status::error("--dump-logits: cannot create " + path);
    path_ = path;
    bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
    if (npy) {
      std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                         std::to_string(steps) + ", " + std::to_string(batch) +
                         ", " + std::to_string(vocab) + "), }";
      size_t total = 10 + dict.size() + 1;
      dict.append((64 - total % 64) % 64, ' ');
      dict += '\n';
      uint16_t len = uint16_t(dict.size());
      out_.write("\x93NUMPY\x01\x00", 8);
      char le[2] = {char(len & 0xff), char(len >> 8)};
      out_.write(le, 2);
      out_ << dict;
    } else {
      out_.write("LLMCLGT1", 8);
      for (int64_t v : {steps, batch, vocab})
        out_.write(reinterpret_cast<const char *>(&v), 8);
    }
    return out_ ? Status::ok()
                : Status::error("--dump-logits: cannot write " + path);
  }
  Status append(const float *data, size_t count) {
    out_.write(reinterpret_cast<const char *>(data),
               std::streamsize(count * sizeof(float)));
    return out_ ? Status::ok()
                : Status::error("--dump-logits: cannot write " + path_);
  }

private:
  std::ofstream out_;
  std::string path_;
};

//===----------------------------------------------------------------------===//
// The run
//===----------------------------------------------------------------------===//

/// A host barrier of the emulated rank threads with a deadline: a rank
/// that never arrives (it failed: fail() ends the process) cannot hang the
/// others.
class HostBarrier {
public:
  explicit HostBarrier(int count) : count_(count) {}
  bool arrive(double timeoutSeconds) {
    std::unique_lock<std::mutex> lock(mu_);
    int64_t generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return true;
    }
    return cv_.wait_for(lock, std::chrono::duration<double>(timeoutSeconds),
                        [&] { return generation_ != generation; });
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_, arrived_ = 0;
  int64_t generation_ = 0;
};

/// The decode-step graph of emulated ranks: ONE graph holds every rank's
/// work. Rank 0's stream starts the capture and forks it to the other
/// ranks' streams through an event; their collectives (event waits between
/// the ranks' streams) become graph edges; the other streams join back
/// before the capture ends. Each replayed step, rank 0 waits for every
/// rank's uploaded inputs, launches the graph, and the others wait for it.
struct EmulatedGraph {
  explicit EmulatedGraph(int ranks)
      : barrier(ranks), events(size_t(ranks) + 2, nullptr) {}
  ~EmulatedGraph() {
    if (exec)
      cudaGraphExecDestroy(exec);
    for (cudaEvent_t e : events)
      if (e)
        cudaEventDestroy(e);
  }
  /// Creates the events (on the current device).
  cudaError_t createEvents() {
    for (cudaEvent_t &e : events)
      if (cudaError_t err =
              cudaEventCreateWithFlags(&e, cudaEventDisableTiming))
        return err;
    return cudaSuccess;
  }
  cudaEvent_t ready(int rank) const { return events[size_t(rank)]; }
  cudaEvent_t fork() const { return events[events.size() - 2]; }
  cudaEvent_t done() const { return events.back(); }
  int ranks() const { return int(events.size()) - 2; }

  HostBarrier barrier;
  /// ready per rank, then fork and done.
  std::vector<cudaEvent_t> events;
  cudaGraphExec_t exec = nullptr;
};

/// Ends the capture on `s` and instantiates it (the graph itself is not
/// kept: the executable is all a replay needs).
void endCapture(DeviceRank &d, cudaStream_t s, cudaGraphExec_t &exec) {
  cudaGraph_t graph = nullptr;
  d.check(cudaStreamEndCapture(s, &graph),
          "cudaStreamEndCapture (decode step)");
  cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  d.check(e, "cudaGraphInstantiate (decode step)");
}

Run::Run() = default;
Run::~Run() = default;

/// Creates the world communicator and one per grid axis for `rank`.
void connect(Run &run, DeviceRank &d) {
  const ManifestPlan &plan = run.manifest.plan;
  int rank = d.rank();
  std::unique_ptr<Communicator> world;
  std::vector<std::unique_ptr<Communicator>> axes;
  if (run.emulate) {
    std::vector<int> all(size_t(plan.numRanks()));
    for (size_t i = 0; i < all.size(); ++i)
      all[i] = int(i);
    auto w = run.world->communicator(rank, all, "world");
    d.check(w.status());
    world = std::move(*w);
    for (size_t a = 0; a < plan.axes.size(); ++a) {
      auto c = run.world->communicator(rank, plan.axisGroup(rank, int(a)),
                                       plan.axes[a]);
      d.check(c.status());
      axes.push_back(std::move(*c));
    }
  } else {
    auto w = createNcclWorld(rank, int(plan.numRanks()), processEnvironment(),
                             run.timeout);
    d.check(w.status());
    world = std::move(*w);
    std::vector<int64_t> coords = plan.coordinates(rank);
    for (size_t a = 0; a < plan.axes.size(); ++a) {
      // Members share every other coordinate: the rank with this axis at 0
      // names the group.
      std::vector<int64_t> base = coords;
      base[a] = 0;
      auto c = splitNcclCommunicator(*world, int(plan.rankAt(base)),
                                     int(coords[a]), plan.axes[a]);
      d.check(c.status());
      axes.push_back(std::move(*c));
    }
  }
  d.setCommunicators(std::move(world), std::move(axes));
}

std::unique_ptr<DeviceRank> startRank(Run &run, int rank) {
  const Manifest &m = run.manifest;
  if (cudaError_t e = cudaSetDevice(run.device))
    fatal("rank " + std::to_string(rank) + ": cudaSetDevice(" +
          std::to_string(run.device) + "): " + cudaGetErrorString(e));
  auto created =
      DeviceRank::create(m, rank, size_t(m.arenaBytes + run.arenaExtra));
  if (!created)
    fatal(created.status().message());
  std::unique_ptr<DeviceRank> d = std::move(*created);
  if (run.emulate) {
    InProcessWorld *world = run.world.get();
    d->setFailHook([world, rank](const std::string &msg) {
      world->fail(rank, msg);
    });
  }
  connect(run, *d);
  d->check(loadRankWeights(*d, *run.options.weights, run.checkpoint.get(),
                           run.threadsPerRank));
  return d;
}

bool hasTokenizer(const std::string &dir) {
  return std::ifstream(dir + "/tokenizer.json").good();
}

/// --text/--chat and serve, before any GPU work: the tokenizer folder
/// (--tokenizer, else the binary's folder, where llm-compile copies the
/// files, else a --weights folder holding them), and for --text/--chat
/// the prompt and its new-token budget. Serve without a tokenizer in
/// either place keeps token-id mode.
void loadText(Run &run) {
  const ModelOptions &o = run.options;
  const Manifest &m = run.manifest;
  std::string dir = o.tokenizer;
  if (dir.empty()) {
    dir = executableDir();
    if (!hasTokenizer(dir) && !o.weights->random &&
        hasTokenizer(o.weights->checkpoint))
      dir = o.weights->checkpoint;
    if (!hasTokenizer(dir)) {
      if (o.serve)
        return;
      fatal("--text/--chat need the checkpoint's tokenizer, but " + dir +
            "/tokenizer.json does not exist; compile with llm-compile "
            "--tokenizer=CKPT (it copies the tokenizer files beside the "
            "binary) or pass --tokenizer=DIR");
    }
  }
  Expected<std::unique_ptr<serve::TokenizerCodec>> codec =
      serve::TokenizerCodec::fromDirectory(dir);
  if (!codec)
    fatal("--tokenizer=" + dir + ": " + codec.status().message());
  if (Status s = serve::checkTokenizerVocab(**codec, m.model.vocabSize); !s)
    fatal("--tokenizer=" + dir + ": " + s.message());
  run.tokenizer = std::move(*codec);
  run.tokenizerDir = dir;
  if (o.serve)
    return;
  if (Status s = serve::checkTemperature(o.temperature); !s)
    fatal(s.message());
  serve::TextPrompt flags;
  flags.text = o.text;
  flags.chat = o.chat;
  Expected<std::vector<int32_t>> prompt =
      serve::textPromptIds(*run.tokenizer, flags, dir);
  if (!prompt)
    fatal(prompt.status().message());
  Expected<int64_t> newTokens = serve::textNewTokens(
      *run.tokenizer, int64_t(prompt->size()),
      o.haveMaxNewTokens ? o.maxNewTokens : 0, m.limits.maxSeq,
      "limits.max_seq of this binary; llm-compile --max-seq sets it");
  if (!newTokens)
    fatal(newTokens.status().message());
  run.textPrompt = std::move(*prompt);
  run.textNewTokens = *newTokens;
}

} // namespace gen

using namespace gen;

namespace {

/// The results rank 0 reports.
struct Report {
  std::vector<std::vector<int64_t>> tokens;
  bool graphs = false; ///< decode steps replayed a CUDA graph
  std::vector<float> stepMs;
  double wallSeconds = 0;
};

/// One decode step of an emulated rank through the shared graph (captured
/// on the first call). Every rank thread calls it with the same step.
template <class Forward>
void emulatedGraphStep(Run &run, DeviceRank &d, Forward &&forward,
                       bool &captured) {
  EmulatedGraph &g = *run.emulatedGraph;
  int rank = d.rank();
  cudaStream_t s = d.stream();
  auto meet = [&](const char *what) {
    if (!g.barrier.arrive(run.timeout))
      d.fail(std::string("timed out after ") +
             std::to_string(int(run.timeout)) +
             " s waiting for the other emulated ranks (" + what + ")");
  };
  // The other ranks' streams reach a point rank 0's stream then waits for.
  auto joinRank0 = [&](const char *what) {
    if (rank != 0)
      d.check(cudaEventRecord(g.ready(rank), s), "cudaEventRecord (join)");
    meet(what);
    if (rank == 0)
      for (int r = 1; r < g.ranks(); ++r)
        d.check(cudaStreamWaitEvent(s, g.ready(r), 0),
                "cudaStreamWaitEvent (join)");
  };
  if (!captured) {
    meet("decode graph capture");
    if (rank == 0) {
      d.check(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed),
              "cudaStreamBeginCapture (decode step)");
      d.check(cudaEventRecord(g.fork(), s), "cudaEventRecord (capture fork)");
    }
    meet("decode graph fork");
    if (rank != 0)
      d.check(cudaStreamWaitEvent(s, g.fork(), 0),
              "cudaStreamWaitEvent (capture fork)");
    forward();
    joinRank0("decode graph join");
    if (rank == 0)
      endCapture(d, s, g.exec);
    // Until rank 0 ends the capture, work the others enqueue would join it.
    meet("decode graph end");
    captured = true;
  }
  joinRank0("decode step inputs");
  if (rank == 0) {
    d.check(cudaGraphLaunch(g.exec, s), "cudaGraphLaunch (decode step)");
    d.check(cudaEventRecord(g.done(), s), "cudaEventRecord (step done)");
  }
  meet("decode step launch");
  if (rank != 0)
    d.check(cudaStreamWaitEvent(s, g.done(), 0), "cudaStreamWaitEvent (step)");
}

void runRank(Run &run, int rank, Report *report) {
  const Manifest &m = run.manifest;
  const ManifestPlan &plan = m.plan;
  std::unique_ptr<DeviceRank> rankState = startRank(run, rank);
  DeviceRank &d = *rankState;
  if (Status s = d.allocateCache(); !s)
    d.fail(s.message());
  Communicator &world = d.comm();
  // Ranks load at different speeds; wait for all with the load timeout.
  d.check(world.barrier(d.stream(), run.loadTimeout));

  const RunShape &shape = run.shape;
  int64_t lb = shape.localBatch, vocab = m.model.vocabSize;
  int64_t worldSize = plan.numRanks();
  int64_t replica = plan.replicaOf(rank);
  int64_t spCoord =
      plan.sequenceAxis ? plan.coordinate(rank, *plan.sequenceAxis) : 0;
  // Per replica, the rank whose `next` and logits count.
  std::vector<int> sources(size_t(shape.replicas), -1);
  for (int64_t r = worldSize - 1; r >= 0; --r)
    if (plan.stageOf(r) == plan.numStages() - 1)
      sources[size_t(plan.replicaOf(r))] = int(r);

  size_t maxRows = size_t(lb * shape.promptLen);
  DeviceBuffer idsDev, posDev, logitsDev, nextDev, nextAllDev, dumpDev;
  d.check(idsDev.allocate(maxRows * 8, "token ids"));
  d.check(posDev.allocate(maxRows * 8, "positions"));
  d.check(logitsDev.allocate(size_t(lb * vocab) * 4, "logits"));
  d.check(nextDev.allocate(size_t(lb) * 8, "next ids"));
  d.check(nextAllDev.allocate(size_t(worldSize * lb) * 8, "next ids"));
  d.check(cudaMemset(nextDev.data(), 0, size_t(lb) * 8), "cudaMemset");
  // The memset runs on the legacy stream; the rank's stream does not wait.
  d.check(cudaDeviceSynchronize(), "cudaMemset");
  d.registerBuffer(logitsDev.data(), logitsDev.size(), 4);
  d.registerBuffer(nextDev.data(), nextDev.size(), 8);
  bool dumping = !run.options.dumpLogits.empty();
  LogitsDump dump;
  if (dumping && rank == 0) {
    d.check(dumpDev.allocate(size_t(shape.batch * vocab) * 4, "dumped logits"));
    d.check(dump.open(run.options.dumpLogits, shape.maxNewTokens, shape.batch,
                      vocab));
  }
  auto *idsHost = static_cast<int64_t *>(d.pinned(ScratchSlot::StepInputs,
                                                  maxRows * 16));
  int64_t *posHost = idsHost + maxRows;
  auto *nextHost = static_cast<int64_t *>(
      d.pinned(ScratchSlot::StepNext, size_t(worldSize * lb) * 8));
  auto *dumpHost = static_cast<float *>(
      dumping && rank == 0
          ? d.pinned(ScratchSlot::StepLogits, size_t(shape.batch * vocab) * 4)
          : nullptr);

  bool timing = run.options.bench && rank == 0;
  cudaEvent_t evStart = nullptr, evEnd = nullptr;
  if (timing) {
    d.check(cudaEventCreate(&evStart), "cudaEventCreate");
    d.check(cudaEventCreate(&evEnd), "cudaEventCreate");
  }

  cudaGraphExec_t graphExec = nullptr;
  bool emulatedCaptured = false;
  const std::vector<std::vector<int64_t>> &forced = run.options.forceTokens;
  std::vector<std::vector<int64_t>> sequences = run.options.prompts;
  std::vector<std::vector<int64_t>> generated(size_t(shape.batch));
  auto wallStart = std::chrono::steady_clock::now();
  // --bench: a few untimed steps first (cuBLASLt heuristics, lazy module
  // loading, scratch growth and, with graphs, the capture at step 2), then
  // the timed generation from step 0, which rewrites the same cache
  // positions and replays the captured graph. Nothing of the warm-up is
  // reported or dumped.
  const int64_t warmupSteps =
      run.options.bench ? std::min<int64_t>(3, shape.maxNewTokens) : 0;
  for (int64_t iter = 0; iter < warmupSteps + shape.maxNewTokens; ++iter) {
    const bool warmup = iter < warmupSteps;
    const int64_t step = warmup ? iter : iter - warmupSteps;
    if (warmupSteps > 0 && iter == warmupSteps) {
      sequences = run.options.prompts;
      wallStart = std::chrono::steady_clock::now();
    }
    int64_t start, len;
    if (step == 0) {
      auto [blockStart, blockLen] =
          sequenceBlock(shape.promptLen, shape.spDegree, spCoord);
      start = blockStart;
      len = blockLen;
    } else {
      start = shape.promptLen + step - 1;
      len = 1;
    }
    for (int64_t b = 0; b < lb; ++b) {
      const std::vector<int64_t> &seq = sequences[size_t(replica * lb + b)];
      for (int64_t s = 0; s < len; ++s) {
        idsHost[b * len + s] = seq[size_t(start + s)];
        posHost[b * len + s] = start + s;
      }
    }
    size_t rows = size_t(lb * len);
    d.check(cudaMemcpyAsync(idsDev.data(), idsHost, rows * 8,
                            cudaMemcpyHostToDevice, d.stream()),
            "cudaMemcpyAsync (ids)");
    d.check(cudaMemcpyAsync(posDev.data(), posHost, rows * 8,
                            cudaMemcpyHostToDevice, d.stream()),
            "cudaMemcpyAsync (positions)");
    if (timing)
      d.check(cudaEventRecord(evStart, d.stream()), "cudaEventRecord");

    d.resetArena();
    Step s;
    s.batch = lb;
    s.seq = len;
    s.ids = static_cast<const int64_t *>(idsDev.data());
    s.positions = static_cast<const int64_t *>(posDev.data());
    s.cacheRow = 0;
    auto forward = [&] {
      llmc_forward(d, s, static_cast<float *>(logitsDev.data()),
                   static_cast<int64_t *>(nextDev.data()));
    };
    if (run.graphs && step >= 2 && run.emulate) {
      emulatedGraphStep(run, d, forward, emulatedCaptured);
    } else if (run.graphs && step >= 2) {
      if (!graphExec) {
        d.check(cudaStreamBeginCapture(d.stream(),
                                       cudaStreamCaptureModeThreadLocal),
                "cudaStreamBeginCapture (decode step)");
        forward();
        endCapture(d, d.stream(), graphExec);
      }
      d.check(cudaGraphLaunch(graphExec, d.stream()),
              "cudaGraphLaunch (decode step)");
    } else {
      forward();
    }

    d.check(world.allGather(nextDev.data(), nextAllDev.data(), size_t(lb),
                            DataType::I64, d.stream()));
    if (dumping && !warmup) {
      size_t block = size_t(lb * vocab);
      for (size_t r = 0; r < sources.size(); ++r) {
        int src = sources[r];
        if (rank == 0 && src == 0)
          d.check(cudaMemcpyAsync(static_cast<float *>(dumpDev.data()) +
                                      r * block,
                                  logitsDev.data(), block * 4,
                                  cudaMemcpyDeviceToDevice, d.stream()),
                  "cudaMemcpyAsync (logits)");
        else if (rank == 0)
          d.check(world.recv(static_cast<float *>(dumpDev.data()) + r * block,
                             block, DataType::F32, src, d.stream()));
        else if (rank == src)
          d.check(world.send(logitsDev.data(), block, DataType::F32, 0,
                             d.stream()));
      }
      if (rank == 0)
        d.check(cudaMemcpyAsync(dumpHost, dumpDev.data(),
                                size_t(shape.batch * vocab) * 4,
                                cudaMemcpyDeviceToHost, d.stream()),
                "cudaMemcpyAsync (logits)");
    }
    d.check(cudaMemcpyAsync(nextHost, nextAllDev.data(),
                            size_t(worldSize * lb) * 8, cudaMemcpyDeviceToHost,
                            d.stream()),
            "cudaMemcpyAsync (next ids)");
    if (timing)
      d.check(cudaEventRecord(evEnd, d.stream()), "cudaEventRecord");
    d.sync(run.timeout);

    for (int64_t r = 0; r < shape.replicas; ++r)
      for (int64_t b = 0; b < lb; ++b) {
        int64_t id = nextHost[sources[size_t(r)] * lb + b];
        size_t row = size_t(r * lb + b);
        if (id < 0 || id >= vocab)
          d.fail("step " + std::to_string(step) + ": the model's next token " +
                 "for prompt " + std::to_string(row) + " is " +
                 std::to_string(id) + ", outside the vocabulary of " +
                 std::to_string(vocab) + " (from rank " +
                 std::to_string(sources[size_t(r)]) + ")");
        if (!warmup)
          generated[row].push_back(id);
        sequences[row].push_back(
            !forced.empty() && size_t(step) < forced[row].size()
                ? forced[row][size_t(step)]
                : id);
      }
    if (dumping && rank == 0 && !warmup)
      d.check(dump.append(dumpHost, size_t(shape.batch * vocab)));
    if (timing && !warmup) {
      float ms = 0;
      d.check(cudaEventElapsedTime(&ms, evStart, evEnd),
              "cudaEventElapsedTime");
      report->stepMs.push_back(ms);
    }
  }
  bool replayed = graphExec != nullptr || emulatedCaptured;
  if (graphExec)
    cudaGraphExecDestroy(graphExec);
  if (rank == 0) {
    report->tokens = std::move(generated);
    report->graphs = replayed;
    report->wallSeconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - wallStart)
                              .count();
  }
  if (timing) {
    cudaEventDestroy(evStart);
    cudaEventDestroy(evEnd);
  }
  // Everyone finishes the last step's communication before tearing down.
  d.check(world.barrier(d.stream(), run.timeout));
}

/// --bench, after the run (rank 0; emulated ranks: every thread joined, so
/// the ranks' memory is free): measures this GPU's copy bandwidth (again:
/// `copyBeforeGBs`, measured before the weights loaded, is the reference
/// when there is one) and cuBLASLt rate on the model's prefill GEMM shapes
/// (runtime/generate/Bench.h), then prints the run's figures `f`
/// (runtime/model/Cost.h) against them as a summary and one
/// `bench-json: {...}` line.
void printBenchReference(const RunCost &cost, BenchFigures f,
                         double copyBeforeGBs) {
  std::fflush(stdout);
  cudaStream_t stream = nullptr;
  if (cudaError_t e =
          cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)) {
    std::fprintf(stderr,
                 "%s: warning: --bench reference rates: cudaStreamCreate: "
                 "%s\n",
                 kProgram, cudaGetErrorString(e));
  } else {
    CopyBandwidth copy = measureCopyBandwidth(stream);
    GemmPeak gemm = measureGemmPeak(cost.gemms, stream);
    cudaStreamDestroy(stream);
    for (const std::string *error : {&copy.error, &gemm.error})
      if (!error->empty())
        std::fprintf(stderr, "%s: warning: --bench reference rates: %s\n",
                     kProgram, error->c_str());
    // The copy before the weights loaded is the reference: after a long
    // run the same copy has read up to 13% slower (8B and 12B runs on an
    // H100: 2586 vs 2983 GB/s); both are printed.
    f.copyGBs = std::isfinite(copyBeforeGBs) ? copyBeforeGBs : copy.gbs;
    f.copyGBsAfter = copy.gbs;
    f.gemmPeakTflops = gemm.aggregateTflops;
    f.gemmBestTflops = gemm.bestTflops;
  }
  std::printf("%s", benchSummary(f).c_str());
  std::printf("bench-json: %s\n", benchJson(f).c_str());
}

void printReport(const Run &run, const Report &report) {
  for (const std::vector<int64_t> &row : report.tokens) {
    std::printf("tokens:");
    for (int64_t id : row)
      std::printf(" %lld", (long long)id);
    std::printf("\n");
  }
  if (run.options.bench && !report.stepMs.empty()) {
    RunCost cost = runCost(run.manifest, run.shape, run.emulate);
    BenchFigures f = benchFigures(report.stepMs, run.shape, cost, run.manifest,
                                  run.emulate, report.graphs);
    f.wallS = report.wallSeconds;
    auto orZero = [](double v) { return std::isfinite(v) ? v : 0.0; };
    std::printf("bench: ttft_ms=%.3f tpot_ms=%.3f tokens_per_s=%.1f "
                "batch=%lld prompt_len=%lld new_tokens=%lld ranks=%lld%s "
                "wall_s=%.3f\n",
                f.ttftMs, orZero(f.tpotMs), orZero(f.tokensPerS),
                (long long)run.shape.batch, (long long)run.shape.promptLen,
                (long long)run.shape.maxNewTokens,
                (long long)run.manifest.plan.numRanks(),
                run.emulate ? " (emulated on one GPU)" : "",
                report.wallSeconds);
    printBenchReference(cost, f, run.copyBeforeGBs);
  }
  std::fflush(stdout);
}

} // namespace

/// --gemm-tuning=FILE (read where it exists; without --tune-gemms it must)
/// and --tune-gemms, on the selected GPU before any GEMM.
void applyGemmTuning(const ModelOptions &o) {
  if (!o.gemmTuning.empty()) {
    if (std::ifstream(o.gemmTuning).good()) {
      if (std::string e = gemm::loadTuning(o.gemmTuning); !e.empty())
        fatal("--gemm-tuning: " + e);
    } else if (!o.tuneGemms) {
      fatal("--gemm-tuning=" + o.gemmTuning +
            ": no such file (--tune-gemms --gemm-tuning=FILE writes one)");
    }
  }
  gemm::setTuning(o.tuneGemms);
}

/// After a run with --tune-gemms: a line on the table and, with
/// --gemm-tuning=FILE, the table written there; `rc` or 1 if that fails.
int saveGemmTuning(const ModelOptions &o, int rc) {
  if (!o.tuneGemms)
    return rc;
  std::vector<gemm::TuningEntry> entries = gemm::tuningEntries();
  int changed = 0;
  for (const gemm::TuningEntry &e : entries)
    changed += e.rank != 0;
  std::fprintf(stderr,
               "%s: GEMM tuning: %zu shapes, %d run another answer than "
               "cuBLASLt's first\n",
               kProgram, entries.size(), changed);
  if (o.gemmTuning.empty())
    return rc;
  if (std::string e = gemm::saveTuning(o.gemmTuning); !e.empty()) {
    std::fprintf(stderr, "%s: error: %s\n", kProgram, e.c_str());
    return rc ? rc : 1;
  }
  return rc;
}

int runModelMain(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // `serve`: the serve flags (runtime/serve/ServeOptions.h) come out first,
  // and SIGTERM/SIGINT are blocked before any thread starts (SignalDrain
  // takes them).
  std::optional<serve::ServeOptions> serveOptions;
#ifndef LLMC_WITH_SERVE
  if (!args.empty() && args[0] == "serve") {
    std::fprintf(stderr,
                 "%s: error: serve: this runtime was built without the HTTP "
                 "server (Debian: libcpp-httplib-dev)\n",
                 kProgram);
    return 2;
  }
#else
  if (!args.empty() && args[0] == "serve") {
    serve::blockTerminationSignals();
    Expected<serve::ServeOptions> so = serve::extractServeOptions(args);
    if (!so) {
      std::fprintf(stderr, "%s: error: %s\n", kProgram,
                   so.status().message().c_str());
      return 2;
    }
    serveOptions = *so;
  }
#endif
  Expected<ModelOptions> options = parseModelOptions(args);
  if (!options) {
    std::fprintf(stderr, "%s: error: %s\n", kProgram,
                 options.status().message().c_str());
    return 2;
  }
  if (options->help) {
    std::printf("%s", modelUsage(kProgram).c_str());
#ifdef LLMC_WITH_SERVE
    if (serveOptions)
      std::printf("\nserve flags:\n%s", serve::serveUsage().c_str());
#endif
    return 0;
  }
  Run run;
  run.options = std::move(*options);
  run.emulate = run.options.emulateRanks;
  std::string manifestPath = run.options.manifest.empty()
                                 ? executableDir() + "/manifest.json"
                                 : run.options.manifest;
  Expected<Manifest> manifest = readManifestFile(manifestPath);
  if (!manifest)
    fatal(manifest.status().message());
  run.manifest = std::move(*manifest);
  const Manifest &m = run.manifest;
  // The compiler's choice of decode projection kernels (manifest "decode").
  LaunchPolicy policy;
  policy.streamMaxRows = int(m.decode.streamMaxRows);
  policy.pdl = m.decode.pdl;
  policy.decodeAttentionBlocksPerSm = int(m.decode.attentionBlocksPerSm);
  // Emulated ranks share one GPU and run their steps concurrently.
  policy.ranksPerGpu = run.emulate ? int(m.plan.numRanks()) : 1;
  setLaunchPolicy(policy);

  // Refusals that need no GPU.
  Expected<LaunchInfo> launch = detectLaunch(processEnvironment());
  if (!launch)
    fatal(launch.status().message());
  run.launch = *launch;
  int64_t planRanks = m.plan.numRanks();
  std::string spec = m.plan.spec.empty() ? "unsharded" : m.plan.spec;
  if (run.emulate && run.launch.worldSize != 1)
    fatal("--emulate-ranks runs all " + std::to_string(planRanks) +
          " ranks in one process, but " + run.launch.launcher + " started " +
          std::to_string(run.launch.worldSize) +
          " processes; start one process");
  if (!run.emulate && run.launch.worldSize != planRanks)
    fatal("the plan '" + spec + "' has " + std::to_string(planRanks) +
          " rank" + (planRanks == 1 ? "" : "s") + " but " +
          (run.launch.launcher == "none"
               ? std::string("this is a single process")
               : run.launch.launcher + " started " +
                     std::to_string(run.launch.worldSize) + " processes") +
          "; run it with llm-launch -n " + std::to_string(planRanks) +
          " (or mpirun/srun with " + std::to_string(planRanks) +
          " processes), or pass --emulate-ranks to run every rank on one GPU");
  if (run.options.serve || run.options.textMode())
    loadText(run);
  if (!run.options.serve && !run.options.textMode()) {
    Expected<RunShape> shape = checkRequest(m, run.options);
    if (!shape)
      fatal(shape.status().message());
    run.shape = *shape;
  }
  if (run.options.usesSyntheticPrompts()) // --bench without --prompt
    run.options.prompts = syntheticPrompts(run.shape.batch, run.shape.promptLen,
                                           m.model.vocabSize);
  std::vector<int> myRanks;
  if (run.emulate)
    for (int64_t r = 0; r < planRanks; ++r)
      myRanks.push_back(int(r));
  else
    myRanks.push_back(run.launch.rank);
  if (!run.options.weights->random) {
    auto ckpt = Checkpoint::open(run.options.weights->checkpoint);
    if (!ckpt)
      fatal("--weights=" + run.options.weights->checkpoint + ": " +
            ckpt.status().message());
    run.checkpoint = std::move(*ckpt);
    if (Status s = checkCheckpoint(m, *run.checkpoint, myRanks); !s)
      fatal("--weights=" + run.options.weights->checkpoint + ": " +
            s.message());
  }

  // The GPU.
  int devices = 0;
  cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess || devices == 0)
    fatal(std::string("no CUDA device: ") +
          (err != cudaSuccess ? cudaGetErrorString(err)
                              : "none is visible") +
          "; llm-model needs an NVIDIA GPU (" + m.target.name + ", " +
          m.target.arch + ")");
  run.device = run.emulate ? 0 : run.launch.localRank;
  if (run.device >= devices)
    fatal("rank " + std::to_string(run.launch.rank) + " has local rank " +
          std::to_string(run.launch.localRank) + " but only " +
          std::to_string(devices) + " GPU" + (devices == 1 ? " is" : "s are") +
          " visible; start at most " + std::to_string(devices) +
          " ranks per node");
  if (cudaError_t e = cudaSetDevice(run.device))
    fatal("cudaSetDevice(" + std::to_string(run.device) +
          "): " + cudaGetErrorString(e));
  {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, run.device);
    int want = 0;
    if (std::sscanf(m.target.arch.c_str(), "sm_%d", &want) == 1 &&
        prop.major * 10 + prop.minor != want)
      std::fprintf(stderr,
                   "%s: warning: the binary was compiled for %s (%s) but GPU "
                   "%d is %s (sm_%d%d)\n",
                   kProgram, m.target.arch.c_str(), m.target.name.c_str(),
                   run.device, prop.name, prop.major, prop.minor);
  }
  applyGemmTuning(run.options);
  if (run.options.bench && (run.emulate || run.launch.rank == 0)) {
    cudaStream_t stream = nullptr;
    if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) ==
        cudaSuccess) {
      CopyBandwidth copy = measureCopyBandwidth(stream);
      cudaStreamDestroy(stream);
      run.copyBeforeGBs = copy.gbs;
    }
    cudaGetLastError();
  }
  uint64_t need = 0, weightBytes = 0, cacheBytes = 0, other = 0;
  for (int r : myRanks) {
    weightBytes += m.rankWeightBytes(r);
    // Serving (and --text/--chat, through the serving engine) sizes its
    // paged cache from what is left (Serve.cpp).
    cacheBytes += run.options.serve || run.options.textMode()
                      ? 0
                      : m.rankCacheBytes(r);
    other += m.arenaBytes + (uint64_t(32) << 20) + kReserveBytes;
  }
  need = weightBytes + cacheBytes + other;
  size_t freeBytes = 0, totalBytes = 0;
  if (cudaError_t e = cudaMemGetInfo(&freeBytes, &totalBytes))
    fatal(std::string("cudaMemGetInfo: ") + cudaGetErrorString(e));
  if (need > freeBytes)
    fatal(std::string(run.emulate ? "the " + std::to_string(planRanks) +
                                        " emulated ranks need "
                                  : "rank " + std::to_string(run.launch.rank) +
                                        " needs ") +
          gib(need) + " on GPU " + std::to_string(run.device) + " (weights " +
          gib(weightBytes) + ", KV cache " + gib(cacheBytes) +
          ", arena, workspace and reserve " + gib(other) + ") but only " +
          gib(freeBytes) + " of " + gib(totalBytes) +
          " is free; use more GPUs (a plan with more tp or pp), or a binary "
          "compiled with smaller limits");
  if (!run.emulate)
    if (Status s = ensureNvlsDisabled(); !s)
      fatal(s.message());

  run.timeout = defaultCommTimeoutSeconds();
  run.loadTimeout = std::max(run.timeout, envSeconds("LLMC_LOAD_TIMEOUT_S",
                                                     3600));
  run.graphs = run.options.cudaGraphs &&
               std::none_of(m.weights.begin(), m.weights.end(),
                            [](const ManifestWeight &w) {
                              return w.owner.has_value();
                            });
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  run.threadsPerRank = int(std::max<size_t>(1, hw / myRanks.size()));
#ifdef LLMC_WITH_SERVE
  if (serveOptions)
    return saveGemmTuning(run.options, runServe(run, myRanks, *serveOptions));
#endif
  if (run.options.textMode())
    return saveGemmTuning(run.options, runText(run, myRanks));

  Report report;
  if (run.emulate) {
    run.world = std::make_unique<InProcessWorld>(
        int(planRanks), makeCudaDeviceOps(), run.timeout);
    if (run.graphs) {
      run.emulatedGraph = std::make_unique<EmulatedGraph>(int(planRanks));
      if (cudaError_t err = run.emulatedGraph->createEvents())
        fatal(std::string("cudaEventCreate: ") + cudaGetErrorString(err));
    }
    std::vector<std::thread> threads;
    for (int r : myRanks)
      threads.emplace_back([&run, r, &report] {
        runRank(run, r, r == 0 ? &report : nullptr);
      });
    for (std::thread &t : threads)
      t.join();
  } else {
    runRank(run, run.launch.rank, run.launch.rank == 0 ? &report : nullptr);
  }
  if (run.emulate || run.launch.rank == 0)
    printReport(run, report);
  return saveGemmTuning(run.options, 0);
}

} // namespace llmc::rt
