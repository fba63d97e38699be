//===- Serve.cpp - llm-model serve: the OpenAI server on the GPU model ----===//
//
// Also `llm-model --text/--chat` (runText): one request of the same engine
// over the same ranks, its text streamed to stdout; and, without
// cpp-httplib, only that (runServe needs the HTTP server).
//
// Rank 0 binds the HTTP server first (so /health answers 503 while weights
// load), every rank loads its weights and allocates a paged KV cache of
// the blocks that fit in --gpu-memory-utilization of its GPU (the smallest
// count over the ranks, so block ids mean the same everywhere), then rank
// 0 attaches an Engine over GpuModelStep. Each step, rank 0 broadcasts the
// encoded StepPlan over the world communicator (NCCL, or the in-process
// one of --emulate-ranks); every rank runs the plan's forward calls
// (runtime/serve/ForwardCalls.h) with the block tables as
// Step::blockTables: one flat varlen call for a mixed step of a plan with
// one replica and no micro-batches (Step::queryStart: decode rows and
// prefill chunks together, the weights read once), else one call for the
// decode rows and one per longer prefill chunk, the same shapes on every
// replica; each replica's last-stage source rank sends its
// `next` ids, and the logits of rows that sample or want logprobs, to rank
// 0, which picks the tokens: the device argmax for greedy rows, else
// serve::sampleLogits with the request's seed and draw index (the CPU
// reference's rule, so one seed gives one token stream on either).
//
// The other ranks wait for plans with the communicators' timeout, so an
// idle server broadcasts an empty plan every quarter of it (a heartbeat).
// On SIGTERM the HTTP server drains, rank 0 broadcasts Shutdown, and every
// rank leaves its loop.
//
// Decode calls of a process-per-rank plan replay one CUDA graph per
// batch-size bucket (1, 2, 4, 8, then multiples of 8; padded with padding
// rows), as the generation loop does; emulated ranks and expert-parallel
// plans run eagerly, as do flat calls. Not yet: flat calls for several
// replicas (dp/ep keep their padded calls: every replica must run the same
// shapes), sequence parallelism.
//
//===----------------------------------------------------------------------===//

#include "runtime/generate/RunContext.h"

#include "runtime/comm/CudaDeviceOps.h"
#include "runtime/comm/NcclCommunicator.h"
#include "runtime/model/Weights.h"
#include "runtime/serve/ForwardCalls.h"
#ifdef LLMC_WITH_SERVE
#include "runtime/serve/HttpServer.h"
#endif
#include "runtime/serve/KVSizing.h"
#include "runtime/serve/Sampler.h"
#include "runtime/serve/ServeOptions.h"
#include "runtime/serve/TextGeneration.h"
#include "runtime/serve/TokenizerCodec.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace llmc::rt::gen {

namespace {

using serve::StepPlan;
using serve::StepResult;

//===----------------------------------------------------------------------===//
// Token-id text mode (no --tokenizer)
//===----------------------------------------------------------------------===//

/// Prompts are token ids written as text ("1, 2, 3" or "1 2 3"; the API's
/// token-id prompts need no codec), the output text is the generated ids,
/// each followed by a space. Chat needs a tokenizer.
class IdCodec final : public serve::TextCodec {
public:
  explicit IdCodec(int64_t vocab) : vocab_(vocab) {}
  Expected<std::vector<int32_t>>
  encode(const std::string &text) const override {
    using E = Expected<std::vector<int32_t>>;
    std::vector<int32_t> ids;
    std::string cur;
    auto flush = [&]() -> Status {
      if (cur.empty())
        return Status::ok();
      char *end = nullptr;
      long long v = std::strtoll(cur.c_str(), &end, 10);
      if (*end != '\0' || v < 0 || v >= vocab_)
        return Status::error("prompt: '" + cur +
                             "' is not a token id in [0, " +
                             std::to_string(vocab_) +
                             ") (llm-model serve without --tokenizer takes "
                             "prompts as token ids)");
      ids.push_back(int32_t(v));
      cur.clear();
      return Status::ok();
    };
    for (char c : text) {
      if (c == ',' || c == ' ' || c == '\n' || c == '\t') {
        if (Status s = flush(); !s)
          return E::fromError(s);
      } else {
        cur += c;
      }
    }
    if (Status s = flush(); !s)
      return E::fromError(s);
    return ids;
  }
  Expected<std::vector<int32_t>>
  encodeChat(const std::vector<serve::ChatMessage> &) const override {
    return Expected<std::vector<int32_t>>::fromError(
        Status::error("messages: chat needs a tokenizer; start llm-model "
                      "serve with --tokenizer=DIR"));
  }
  std::unique_ptr<serve::OutputText>
  output(const std::vector<int32_t> &,
         const std::vector<std::string> &) const override {
    struct Out final : serve::OutputText {
      Piece push(int32_t token) override {
        return {std::to_string(token) + " ", false};
      }
      std::string finish() override { return ""; }
    };
    return std::make_unique<Out>();
  }
  std::string tokenText(int32_t token) const override {
    return std::to_string(token);
  }
  std::string tokenBytes(int32_t token) const override {
    return std::to_string(token);
  }

private:
  int64_t vocab_;
};

//===----------------------------------------------------------------------===//
// One rank's share of a step
//===----------------------------------------------------------------------===//

/// What every rank of the process knows about the served model.
struct ServeShape {
  serve::ModelFacts facts;
  int64_t tableStride = 0;     ///< blocks of the longest sequence
  int64_t maxSeqsPerCall = 0;  ///< rows of one forward call
  int64_t maxTokensPerCall = 0;
  std::vector<int> sources;    ///< per replica: the rank whose logits count
  /// Mixed steps as one flat varlen call (one replica, no micro-batches).
  bool flat = false;
};

class RankServer {
public:
  RankServer(Run &run, DeviceRank &d, const ServeShape &shape)
      : run_(run), d_(d), shape_(shape),
        replica_(int32_t(run.manifest.plan.replicaOf(d.rank()))) {
    const ServeShape &sh = shape_;
    int64_t rows = sh.maxTokensPerCall, seqs = sh.maxSeqsPerCall;
    int64_t vocab = sh.facts.vocabSize;
    d.check(ids_.allocate(size_t(rows) * 8, "step token ids"));
    d.check(pos_.allocate(size_t(rows) * 8, "step positions"));
    d.check(tables_.allocate(size_t(seqs * sh.tableStride) * 4,
                             "block tables"));
    d.check(queryStart_.allocate(size_t(seqs + 1) * 4, "query starts"));
    d.check(tokenSeq_.allocate(size_t(rows) * 4, "token sequences"));
    d.check(logits_.allocate(size_t(seqs * vocab) * 4, "logits"));
    d.check(next_.allocate(size_t(seqs) * 8, "next ids"));
    d.registerBuffer(logits_.data(), logits_.size(), 4);
    d.registerBuffer(next_.data(), next_.size(), 8);
    if (d.rank() == 0) {
      size_t replicas = size_t(sh.facts.replicas);
      d.check(recvNext_.allocate(replicas * size_t(seqs) * 8, "next ids"));
      d.check(recvLogits_.allocate(replicas * size_t(seqs * vocab) * 4,
                                   "received logits"));
      d.registerBuffer(recvLogits_.data(), recvLogits_.size(), 4);
      d.registerBuffer(recvNext_.data(), recvNext_.size(), 8);
      hostNext_.resize(replicas * size_t(seqs));
      hostLogits_ = static_cast<float *>(d.pinned(
          ScratchSlot::StepLogits, replicas * size_t(seqs * vocab) * 4));
    }
    hostIn_ = static_cast<char *>(
        d.pinned(ScratchSlot::StepInputs,
                 size_t(rows) * 20 + size_t(seqs * sh.tableStride) * 4 +
                     size_t(seqs + 1) * 4));
  }

  /// Runs `plan` on this rank; rank 0 returns the sampled tokens.
  Expected<StepResult> run(const StepPlan &plan) {
    const ServeShape &sh = shape_;
    std::vector<serve::ForwardCall> calls =
        sh.flat ? serve::flatCalls(plan, sh.maxSeqsPerCall, sh.maxTokensPerCall)
                : serve::forwardCalls(plan, sh.facts.replicas,
                                      sh.maxSeqsPerCall, sh.maxTokensPerCall);
    // Rank 0: the sampled token per plan sequence.
    std::vector<serve::SampledToken> sampled(plan.sequences.size());
    for (const serve::ForwardCall &call : calls)
      if (Status s = runCall(plan, call, sampled); !s)
        return Expected<StepResult>::fromError(s);
    StepResult result;
    result.issueMs = issueMs_;
    issueMs_ = 0.0;
    if (d_.rank() == 0)
      for (size_t i = 0; i < plan.sequences.size(); ++i)
        if (plan.sequences[i].sample)
          result.sampled.push_back(std::move(sampled[i]));
    return result;
  }

  ~RankServer() { dropGraphs(); }

  /// Decode calls captured as CUDA graphs so far.
  size_t graphCount() const { return graphs_.size(); }

private:
  void dropGraphs() {
    for (auto &[batch, g] : graphs_)
      if (g)
        cudaGraphExecDestroy(g);
    graphs_.clear();
  }

  /// Where the rank's persistent scratch buffers are now.
  std::vector<void *> scratchPointers() {
    std::vector<void *> out;
    for (int i = 0; i < int(ScratchSlot::Count); ++i)
      out.push_back(d_.scratch(ScratchSlot(i), 0));
    return out;
  }

  /// The graph bucket of a decode batch: 1, 2, 4, 8, then multiples of 8,
  /// at most `most`.
  static int64_t decodeBucket(int64_t batch, int64_t most) {
    int64_t b = 1;
    while (b < batch && b < 8)
      b *= 2;
    if (batch > 8)
      b = (batch + 7) / 8 * 8;
    return std::min(std::max(b, batch), std::max(most, batch));
  }

  static bool needsLogits(const serve::SequenceStep &s) {
    return s.sampling.temperature > 0.0f || s.sampling.logprobs >= 0;
  }

  Status runCall(const StepPlan &plan, const serve::ForwardCall &unpadded,
                 std::vector<serve::SampledToken> &sampled) {
    const ServeShape &sh = shape_;
    int64_t vocab = sh.facts.vocabSize;
    // Decode calls replay a CUDA graph per batch-size bucket: padded to
    // the bucket with padding rows, the first call of a bucket eager (it
    // sizes scratch buffers and cuBLASLt plans), the second captured.
    serve::ForwardCall call = unpadded;
    bool graphed = run_.graphs && !run_.emulate && call.seq == 1 && !call.flat;
    if (graphed) {
      call.batch = decodeBucket(call.batch, sh.maxSeqsPerCall);
      for (std::vector<int32_t> &rows : call.rows)
        rows.resize(size_t(call.batch), -1);
    }
    serve::CallInputs in;
    if (Status s = serve::fillCallInputs(plan, call, replica_, sh.tableStride,
                                         sh.facts.numBlocks, in);
        !s)
      return s;
    size_t rows = in.ids.size();
    auto *idsHost = reinterpret_cast<int64_t *>(hostIn_);
    int64_t *posHost = idsHost + rows;
    auto *tabHost = reinterpret_cast<int32_t *>(posHost + rows);
    int32_t *startHost = tabHost + in.blockTables.size();
    int32_t *tokSeqHost = startHost + in.queryStart.size();
    std::memcpy(idsHost, in.ids.data(), rows * 8);
    std::memcpy(posHost, in.positions.data(), rows * 8);
    std::memcpy(tabHost, in.blockTables.data(), in.blockTables.size() * 4);
    std::memcpy(startHost, in.queryStart.data(), in.queryStart.size() * 4);
    std::memcpy(tokSeqHost, in.tokenSeq.data(), in.tokenSeq.size() * 4);
    cudaStream_t st = d_.stream();
    d_.check(cudaMemcpyAsync(ids_.data(), idsHost, rows * 8,
                             cudaMemcpyHostToDevice, st),
             "cudaMemcpyAsync (ids)");
    d_.check(cudaMemcpyAsync(pos_.data(), posHost, rows * 8,
                             cudaMemcpyHostToDevice, st),
             "cudaMemcpyAsync (positions)");
    d_.check(cudaMemcpyAsync(tables_.data(), tabHost,
                             in.blockTables.size() * 4,
                             cudaMemcpyHostToDevice, st),
             "cudaMemcpyAsync (block tables)");
    if (call.flat) {
      d_.check(cudaMemcpyAsync(queryStart_.data(), startHost,
                               in.queryStart.size() * 4,
                               cudaMemcpyHostToDevice, st),
               "cudaMemcpyAsync (query starts)");
      d_.check(cudaMemcpyAsync(tokenSeq_.data(), tokSeqHost,
                               in.tokenSeq.size() * 4, cudaMemcpyHostToDevice,
                               st),
               "cudaMemcpyAsync (token sequences)");
    }
    d_.resetArena();
    Step s;
    s.batch = call.batch;
    s.seq = call.seq;
    s.ids = static_cast<const int64_t *>(ids_.data());
    s.positions = static_cast<const int64_t *>(pos_.data());
    s.cacheRow = 0;
    s.blockTables = static_cast<const int32_t *>(tables_.data());
    s.blockTableStride = sh.tableStride;
    if (call.flat) {
      s.queryStart = static_cast<const int32_t *>(queryStart_.data());
      s.tokenSeq = static_cast<const int32_t *>(tokenSeq_.data());
      s.tokens = call.tokens;
      s.decodeRows = call.decodeRows;
    }
    auto forward = [&] {
      llmc_forward(d_, s, static_cast<float *>(logits_.data()),
                   static_cast<int64_t *>(next_.data()));
    };
    auto issueStart = std::chrono::steady_clock::now();
    if (graphed && seen_[call.batch]++ > 0) {
      // A later, larger eager call may have regrown a communication
      // scratch buffer the captured graphs point into: capture again.
      std::vector<void *> scratch = scratchPointers();
      if (scratch != graphScratch_) {
        dropGraphs();
        graphScratch_ = std::move(scratch);
      }
      cudaGraphExec_t &g = graphs_[call.batch];
      if (!g) {
        d_.check(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal),
                 "cudaStreamBeginCapture (decode step)");
        forward();
        endCapture(d_, st, g);
      }
      d_.check(cudaGraphLaunch(g, st), "cudaGraphLaunch (decode step)");
    } else {
      forward();
    }
    issueMs_ += std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - issueStart)
                    .count();

    // Results: each replica's source hands its rows to rank 0.
    int rank = d_.rank();
    Communicator &world = d_.comm();
    size_t batch = size_t(call.batch);
    bool any = false;
    for (size_t r = 0; r < sh.sources.size(); ++r) {
      bool wantNext = false, wantLogits = false;
      for (int32_t idx : call.rows[r])
        if (idx >= 0 && plan.sequences[size_t(idx)].sample) {
          wantNext = true;
          wantLogits |= needsLogits(plan.sequences[size_t(idx)]);
        }
      if (!wantNext)
        continue;
      any = true;
      int src = sh.sources[r];
      auto *nextDst = static_cast<int64_t *>(recvNext_.data()) + r * batch;
      auto *logitsDst =
          static_cast<float *>(recvLogits_.data()) + r * batch * size_t(vocab);
      if (rank == 0 && src == 0) {
        d_.check(cudaMemcpyAsync(nextDst, next_.data(), batch * 8,
                                 cudaMemcpyDeviceToDevice, st),
                 "cudaMemcpyAsync (next ids)");
        if (wantLogits)
          d_.check(cudaMemcpyAsync(logitsDst, logits_.data(),
                                   batch * size_t(vocab) * 4,
                                   cudaMemcpyDeviceToDevice, st),
                   "cudaMemcpyAsync (logits)");
      } else if (rank == 0) {
        d_.check(world.recv(nextDst, batch, DataType::I64, src, st));
        if (wantLogits)
          d_.check(world.recv(logitsDst, batch * size_t(vocab), DataType::F32,
                              src, st));
      } else if (rank == src) {
        d_.check(world.send(next_.data(), batch, DataType::I64, 0, st));
        if (wantLogits)
          d_.check(world.send(logits_.data(), batch * size_t(vocab),
                              DataType::F32, 0, st));
      }
    }
    if (rank != 0 || !any) {
      // Other ranks go on to the next call; their stream orders the calls.
      // Rank 0 without results still waits, so that errors surface per step.
      if (rank == 0)
        d_.sync(run_.timeout);
      return Status::ok();
    }
    // Rank 0: bring back what the host samples from.
    std::vector<std::pair<size_t, size_t>> hostRows; // (replica, row)
    for (size_t r = 0; r < sh.sources.size(); ++r)
      for (size_t b = 0; b < call.rows[r].size(); ++b) {
        int32_t idx = call.rows[r][b];
        if (idx < 0 || !plan.sequences[size_t(idx)].sample)
          continue;
        if (needsLogits(plan.sequences[size_t(idx)])) {
          size_t off = (r * batch + b) * size_t(vocab);
          d_.check(cudaMemcpyAsync(hostLogits_ + off,
                                   static_cast<float *>(recvLogits_.data()) +
                                       off,
                                   size_t(vocab) * 4, cudaMemcpyDeviceToHost,
                                   st),
                   "cudaMemcpyAsync (logits)");
        }
      }
    d_.check(cudaMemcpyAsync(hostNext_.data(), recvNext_.data(),
                             sh.sources.size() * batch * 8,
                             cudaMemcpyDeviceToHost, st),
             "cudaMemcpyAsync (next ids)");
    d_.sync(run_.timeout);
    for (size_t r = 0; r < sh.sources.size(); ++r)
      for (size_t b = 0; b < call.rows[r].size(); ++b) {
        int32_t idx = call.rows[r][b];
        if (idx < 0)
          continue;
        const serve::SequenceStep &q = plan.sequences[size_t(idx)];
        if (!q.sample)
          continue;
        serve::SampledToken &out = sampled[size_t(idx)];
        if (needsLogits(q)) {
          Expected<serve::SampledToken> t = serve::sampleLogits(
              hostLogits_ + (r * batch + b) * size_t(vocab), vocab, q.sampling,
              q.drawIndex);
          if (!t)
            return Status::error("sequence " + std::to_string(q.seqId) +
                                 ": " + t.status().message());
          out = std::move(*t);
        } else {
          int64_t id = hostNext_[r * batch + b];
          if (id < 0 || id >= vocab)
            return Status::error(
                "sequence " + std::to_string(q.seqId) + ": the model's next " +
                "token " + std::to_string(id) + " is outside the vocabulary");
          out.token = int32_t(id);
        }
        out.seqId = q.seqId;
      }
    return Status::ok();
  }

  Run &run_;
  DeviceRank &d_;
  const ServeShape &shape_;
  int32_t replica_;
  DeviceBuffer ids_, pos_, tables_, queryStart_, tokenSeq_, logits_, next_,
      recvNext_, recvLogits_;
  std::vector<int64_t> hostNext_;
  float *hostLogits_ = nullptr;
  char *hostIn_ = nullptr;
  std::map<int64_t, int64_t> seen_;             ///< decode calls per bucket
  std::map<int64_t, cudaGraphExec_t> graphs_;   ///< per bucket
  double issueMs_ = 0.0; ///< this step's host time in forward()/replays
  std::vector<void *> graphScratch_; ///< scratchPointers() the graphs saw
};

//===----------------------------------------------------------------------===//
// Plan transport
//===----------------------------------------------------------------------===//

/// Broadcasts rank 0's encoded plan to every rank: its size, then its
/// bytes, through device buffers (NCCL moves device memory).
class PlanChannel {
public:
  PlanChannel(Run &run, DeviceRank &d) : run_(run), d_(d) {
    d.check(size_.allocate(8, "step plan size"));
    d.check(hostSize_.reserve(8));
  }
  /// Rank 0 sends `bytes`; the others receive into it.
  Status exchange(std::vector<uint8_t> &bytes) {
    Communicator &world = d_.comm();
    cudaStream_t st = d_.stream();
    auto *hostSize = static_cast<int64_t *>(hostSize_.data());
    bool root = d_.rank() == 0;
    if (root) {
      *hostSize = int64_t(bytes.size());
      d_.check(cudaMemcpyAsync(size_.data(), hostSize, 8,
                               cudaMemcpyHostToDevice, st),
               "cudaMemcpyAsync (plan size)");
    }
    if (Status s = world.broadcast(size_.data(), 1, DataType::I64, 0, st); !s)
      return s;
    if (!root)
      d_.check(cudaMemcpyAsync(hostSize, size_.data(), 8,
                               cudaMemcpyDeviceToHost, st),
               "cudaMemcpyAsync (plan size)");
    // An idle server's heartbeat keeps this wait under the timeout.
    d_.sync(run_.timeout);
    int64_t n = *hostSize;
    if (n <= 0 || n > (int64_t(1) << 32))
      return Status::error("a step plan of " + std::to_string(n) +
                           " bytes arrived from rank 0");
    size_t padded = (size_t(n) + 7) / 8 * 8;
    if (padded > data_.size()) {
      d_.check(data_.allocate(padded * 2, "the step plan"));
      d_.check(hostData_.reserve(padded * 2));
    }
    auto *host = static_cast<uint8_t *>(hostData_.data());
    if (root) {
      std::memcpy(host, bytes.data(), size_t(n));
      d_.check(cudaMemcpyAsync(data_.data(), host, padded,
                               cudaMemcpyHostToDevice, st),
               "cudaMemcpyAsync (plan)");
    }
    if (Status s = world.broadcast(data_.data(), padded, DataType::U8, 0, st);
        !s)
      return s;
    if (!root)
      d_.check(cudaMemcpyAsync(host, data_.data(), padded,
                               cudaMemcpyDeviceToHost, st),
               "cudaMemcpyAsync (plan)");
    d_.sync(run_.timeout);
    if (!root)
      bytes.assign(host, host + n);
    return Status::ok();
  }

private:
  Run &run_;
  DeviceRank &d_;
  DeviceBuffer size_, data_;
  PinnedBuffer hostSize_, hostData_;
};

//===----------------------------------------------------------------------===//
// Rank 0's ModelStep and the other ranks' loop
//===----------------------------------------------------------------------===//

/// The engine's model: broadcast the plan (multi-rank), run rank 0's share,
/// return the sampled tokens. A heartbeat thread sends empty plans while
/// the engine is idle so the other ranks' waits never time out.
class GpuModelStep final : public serve::ModelStep {
public:
  GpuModelStep(Run &run, DeviceRank &d, const ServeShape &shape,
               RankServer &server, PlanChannel *channel)
      : run_(run), d_(d), shape_(shape), server_(server), channel_(channel) {
    if (channel_)
      heartbeat_ = std::thread([this] { beat(); });
  }
  ~GpuModelStep() override { shutdown(); }

  const serve::ModelFacts &facts() const override { return shape_.facts; }

  Expected<StepResult> step(const StepPlan &plan) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = std::chrono::steady_clock::now();
    if (Status s = serve::validateStepPlan(plan, shape_.facts); !s)
      return Expected<StepResult>::fromError(s);
    d_.check(cudaSetDevice(run_.device), "cudaSetDevice");
    if (channel_) {
      std::vector<uint8_t> bytes = serve::encodeStepPlan(plan);
      if (Status s = channel_->exchange(bytes); !s)
        return Expected<StepResult>::fromError(s);
    }
    return server_.run(plan);
  }

  /// Sends Shutdown to the other ranks (once) and stops the heartbeat.
  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_)
        return;
      done_ = true;
      if (channel_) {
        d_.check(cudaSetDevice(run_.device), "cudaSetDevice");
        StepPlan bye;
        bye.kind = StepPlan::Kind::Shutdown;
        std::vector<uint8_t> bytes = serve::encodeStepPlan(bye);
        d_.check(channel_->exchange(bytes));
      }
    }
    cv_.notify_all();
    if (heartbeat_.joinable())
      heartbeat_.join();
  }

private:
  void beat() {
    double period = std::max(0.05, run_.timeout / 4);
    std::unique_lock<std::mutex> lock(mu_);
    while (!done_) {
      auto due = last_ + std::chrono::duration_cast<
                             std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(period));
      if (std::chrono::steady_clock::now() >= due) {
        d_.check(cudaSetDevice(run_.device), "cudaSetDevice");
        std::vector<uint8_t> bytes = serve::encodeStepPlan(StepPlan{});
        d_.check(channel_->exchange(bytes));
        last_ = std::chrono::steady_clock::now();
        continue;
      }
      cv_.wait_until(lock, due);
    }
  }

  Run &run_;
  DeviceRank &d_;
  const ServeShape &shape_;
  RankServer &server_;
  PlanChannel *channel_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::chrono::steady_clock::time_point last_ =
      std::chrono::steady_clock::now();
  std::thread heartbeat_;
};

/// Ranks other than 0: run every plan rank 0 sends until Shutdown.
void followerLoop(DeviceRank &d, PlanChannel &channel, RankServer &server,
                  const ServeShape &shape) {
  std::vector<uint8_t> bytes;
  for (;;) {
    d.check(channel.exchange(bytes));
    Expected<StepPlan> plan = serve::decodeStepPlan(bytes.data(), bytes.size());
    d.check(plan.status());
    if (plan->kind == StepPlan::Kind::Shutdown)
      return;
    d.check(serve::validateStepPlan(*plan, shape.facts));
    Expected<StepResult> r = server.run(*plan);
    d.check(r.status());
  }
}

//===----------------------------------------------------------------------===//
// Setup
//===----------------------------------------------------------------------===//

/// What the ranks of this process agree on before serving.
struct ServeSetup {
  Run *run = nullptr;
  serve::ServeOptions options;
  ServeShape shape;
  std::atomic<bool> failed{false};
};

/// Whether mixed steps run as one flat varlen call: one replica (dp/ep
/// replicas must run the same shapes) and no micro-batches (the compiled
/// micro-batch loop splits a step into equal sequence counts).
bool flatSteps(const Manifest &m) {
  return m.plan.numReplicas() == 1 && m.plan.microbatches == 1;
}

/// Sequences one call (and one replica's step) runs: the compiled
/// cacheBatch(), or with flat steps and a manifest that records the arena's
/// per-sequence bytes, --max-num-seqs (default 256) up to the tokens per
/// step: the arena then grows by those bytes per extra sequence, and the
/// KV pool, not max_batch, bounds the running sequences.
int64_t servedSeqs(const Manifest &m, const serve::ServeOptions &so) {
  int64_t compiled = m.cacheBatch();
  if (!flatSteps(m) || m.arenaBytesPerSequence == 0)
    return compiled;
  int64_t want = so.maxNumSeqs ? *so.maxNumSeqs : serve::kDefaultMaxNumSeqs;
  return std::max(compiled, std::min(want, m.limits.maxTokensPerStep));
}

/// Arena bytes a flat call needs beyond arena_bytes: the per-sequence
/// buffers of the sequences past cacheBatch(), and per attention layer the
/// decode kernel's split partials for the decode rows, at most (rows + 4 x
/// SMs / kv heads + 1) x heads x (head_dim x 4 + 8) bytes (launchDecode's
/// split rule), plus alignment (a flat call holds a full prefill and the
/// decode rows at once).
uint64_t flatArenaExtra(const Manifest &m, int64_t seqs) {
  if (!flatSteps(m))
    return 0;
  int sms = 0, dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) !=
          cudaSuccess ||
      sms <= 0)
    sms = 256; // an upper bound of today's GPUs
  uint64_t total = 0;
  for (const ManifestAttention &a : m.attention) {
    uint64_t kv = uint64_t(std::max<int64_t>(a.kvHeads, 1));
    uint64_t rows = uint64_t(seqs) + 4 * uint64_t(sms) / kv + 2;
    total += rows * uint64_t(a.heads) * (uint64_t(a.headDim) * 4 + 8) + 512;
  }
  if (seqs > m.cacheBatch())
    total += uint64_t(seqs - m.cacheBatch()) * m.arenaBytesPerSequence;
  return total;
}

/// Memory each rank on this GPU puts there besides KV blocks.
serve::RankMemoryUse memoryUse(const Manifest &m, int64_t rank,
                               const serve::ServeOptions &so) {
  serve::RankMemoryUse u;
  u.weightBytes = m.rankWeightBytes(rank);
  int64_t seqs = servedSeqs(m, so), vocab = m.model.vocabSize;
  int64_t replicas = m.plan.numReplicas();
  u.activationBytes = uint64_t(m.arenaBytes) + flatArenaExtra(m, seqs) +
                      (uint64_t(32) << 20) +
                      kReserveBytes +
                      uint64_t(seqs * vocab) * 4 * uint64_t(1 + replicas) +
                      uint64_t(m.limits.maxTokensPerStep) * 16;
  auto [first, end] = m.slotsOf(rank);
  u.kv.layers = end - first;
  u.kv.kvHeads = m.kvCache.kvHeads;
  u.kv.headDim = m.kvCache.headDim;
  u.kv.dtypeBytes = m.kvCache.fp8() ? 1 : 2;
  u.kv.scaleBytes = m.kvCache.fp8() ? 4 : 0;
  u.kv.blockSize = so.blockSize;
  return u;
}

/// KV blocks the ranks `ranks` of this process fit on their GPU.
Expected<int64_t> localBlocks(const Run &run, const std::vector<int> &ranks,
                              const serve::ServeOptions &so) {
  size_t freeBytes = 0, totalBytes = 0;
  if (cudaError_t e = cudaMemGetInfo(&freeBytes, &totalBytes))
    return Expected<int64_t>::fromError(
        Status::error(std::string("cudaMemGetInfo: ") + cudaGetErrorString(e)));
  serve::DeviceMemory dev;
  dev.name = "GPU " + std::to_string(run.device);
  dev.totalBytes = totalBytes;
  for (int r : ranks)
    dev.ranks.push_back(memoryUse(run.manifest, r, so));
  return serve::kvBlocksFromMemory({dev}, so.gpuMemoryUtilization);
}

/// One rank: load, allocate the paged cache, agree on the block count,
/// then serve (rank 0) or follow.
void serveRank(ServeSetup &setup, int rank, int64_t localBlockCount,
               const std::function<void(RankServer &, DeviceRank &,
                                        PlanChannel *)> &rank0) {
  Run &run = *setup.run;
  const Manifest &m = run.manifest;
  std::unique_ptr<DeviceRank> rankState = startRank(run, rank);
  DeviceRank &d = *rankState;
  // Every rank's block count, the smallest wins (block ids are global).
  Communicator &world = d.comm();
  int64_t blocks = localBlockCount;
  if (!run.emulate && world.size() > 1) {
    DeviceBuffer all;
    d.check(all.allocate(size_t(world.size()) * 8, "block counts"));
    std::vector<int64_t> host(size_t(world.size()));
    d.check(cudaMemcpy(static_cast<int64_t *>(all.data()) + world.member(),
                       &blocks, 8, cudaMemcpyHostToDevice),
            "cudaMemcpy (block count)");
    d.check(world.allGather(static_cast<int64_t *>(all.data()) +
                                world.member(),
                            all.data(), 1, DataType::I64, d.stream()));
    d.sync(run.loadTimeout);
    d.check(cudaMemcpy(host.data(), all.data(), host.size() * 8,
                       cudaMemcpyDeviceToHost),
            "cudaMemcpy (block counts)");
    blocks = *std::min_element(host.begin(), host.end());
  }
  // One process per rank here, or emulated ranks that all computed the
  // same count: no other thread writes `shape`.
  ServeShape &shape = setup.shape;
  if (!run.emulate)
    shape.facts.numBlocks = blocks;
  d.check(serve::checkKVCapacity(blocks, setup.options.blockSize,
                                 shape.facts.maxModelLen));
  d.check(d.allocatePagedCache(blocks, setup.options.blockSize,
                               shape.maxSeqsPerCall));
  d.check(world.barrier(d.stream(), run.loadTimeout));

  RankServer server(run, d, shape);
  std::unique_ptr<PlanChannel> channel;
  if (m.plan.numRanks() > 1)
    channel = std::make_unique<PlanChannel>(run, d);
  if (rank == 0)
    rank0(server, d, channel.get());
  else
    followerLoop(d, *channel, server, shape);
  d.check(world.barrier(d.stream(), run.timeout));
}

/// The manifest's serving facts for flags `so` (the model's stop ids and,
/// with a tokenizer, the checkpoint's); sets the run's extra arena bytes
/// for flat steps. Refuses plans serving cannot run.
ServeShape serveShape(Run &run, const serve::ServeOptions &so) {
  const Manifest &m = run.manifest;
  if (m.plan.sequenceAxis)
    fatal(std::string(run.options.serve ? "serve" : "--text/--chat") +
          ": the plan '" + m.plan.spec + "' splits sequences over '" +
          *m.plan.sequenceAxis +
          "'; serving needs a plan without a sequence axis");
  ServeShape shape;
  serve::ModelFacts &f = shape.facts;
  f.name = so.servedModelName;
  if (f.name.empty())
    f.name = run.options.weights->random ? "llm-model"
                                         : run.options.weights->checkpoint;
  f.vocabSize = m.model.vocabSize;
  f.blockSize = so.blockSize;
  f.maxModelLen = m.limits.maxSeq;
  f.replicas = int32_t(m.plan.numReplicas());
  f.maxTokensPerStep = m.limits.maxTokensPerStep;
  f.maxSeqsPerStep = servedSeqs(m, so);
  if (run.tokenizer)
    f.eosTokenIds = run.tokenizer->eosTokenIds();
  for (int64_t id : m.model.eosTokenIds)
    if (std::find(f.eosTokenIds.begin(), f.eosTokenIds.end(), int32_t(id)) ==
        f.eosTokenIds.end())
      f.eosTokenIds.push_back(int32_t(id));
  shape.tableStride = (f.maxModelLen + so.blockSize - 1) / so.blockSize;
  shape.maxSeqsPerCall = f.maxSeqsPerStep;
  shape.maxTokensPerCall = m.limits.maxTokensPerStep;
  shape.flat = flatSteps(m);
  run.arenaExtra = flatArenaExtra(m, shape.maxSeqsPerCall);
  shape.sources.assign(size_t(f.replicas), -1);
  for (int64_t r = m.plan.numRanks() - 1; r >= 0; --r)
    if (m.plan.stageOf(r) == m.plan.numStages() - 1)
      shape.sources[size_t(m.plan.replicaOf(r))] = int(r);
  return shape;
}

using Rank0Body =
    std::function<void(RankServer &, DeviceRank &, PlanChannel *)>;

/// Runs this process's ranks (threads under --emulate-ranks) with
/// `blocks` KV blocks each; rank 0's `rank0` drives them.
void runRanks(ServeSetup &setup, const std::vector<int> &myRanks,
              int64_t blocks, const Rank0Body &rank0) {
  Run &run = *setup.run;
  if (run.emulate) {
    run.world = std::make_unique<InProcessWorld>(
        int(run.manifest.plan.numRanks()), makeCudaDeviceOps(), run.timeout);
    std::vector<std::thread> threads;
    for (int r : myRanks)
      threads.emplace_back([&, r] { serveRank(setup, r, blocks, rank0); });
    for (std::thread &t : threads)
      t.join();
  } else {
    serveRank(setup, run.launch.rank, blocks, rank0);
  }
}

/// Rank 0's engine over GpuModelStep; fails the rank on a bad config.
std::unique_ptr<serve::Engine> createEngine(DeviceRank &d,
                                            GpuModelStep &model,
                                            const serve::ServeOptions &so) {
  Expected<serve::EngineConfig> config =
      serve::engineConfigFor(so, model.facts());
  if (!config)
    d.fail("serve: " + config.status().message());
  Expected<std::unique_ptr<serve::Engine>> e =
      serve::Engine::create(model, *config);
  if (!e)
    d.fail("serve: " + e.status().message());
  return std::move(*e);
}

/// After rank 0's work `ran`: stops the engine and the other ranks (the
/// Shutdown plan); returns the exit status, printing `what` and the error
/// of a failed run.
int stopEngine(std::unique_ptr<serve::Engine> &engine, GpuModelStep &model,
               const Status &ran, const char *what) {
  engine->stop();
  model.shutdown();
  engine.reset();
  if (ran)
    return 0;
  std::fprintf(stderr, "%s: error: %s%s\n", kProgram, what,
               ran.message().c_str());
  return 1;
}

} // namespace

int runText(Run &run, const std::vector<int> &myRanks) {
  ServeSetup setup;
  setup.run = &run;
  const serve::ServeOptions &so = setup.options;
  setup.shape = serveShape(run, so);
  ServeShape &shape = setup.shape;
  serve::ModelFacts &f = shape.facts;
  f.name = kProgram;
  Expected<int64_t> blocks = localBlocks(run, myRanks, so);
  if (!blocks)
    fatal(blocks.status().message());
  // One sequence of limits.max_seq is all one request needs.
  f.numBlocks = std::min(*blocks, (f.maxModelLen + f.blockSize - 1) /
                                      f.blockSize);
  if (Expected<serve::EngineConfig> config = serve::engineConfigFor(so, f);
      !config)
    fatal(config.status().message());
  int status = 0;
  runRanks(setup, myRanks, f.numBlocks,
           [&](RankServer &server, DeviceRank &d, PlanChannel *channel) {
             GpuModelStep model(run, d, shape, server, channel);
             std::unique_ptr<serve::Engine> engine =
                 createEngine(d, model, so);
             const serve::TokenizerCodec &codec = *run.tokenizer;
             Status ran = serve::streamTextGeneration(
                 *engine, codec, run.textPrompt, run.textNewTokens,
                 serve::textSampling(codec, run.options.temperature,
                                     run.options.seed),
                 stdout, stderr);
             status = stopEngine(engine, model, ran, "");
           });
  std::fflush(stdout);
  return status;
}

#ifdef LLMC_WITH_SERVE
int runServe(Run &run, const std::vector<int> &myRanks,
             const serve::ServeOptions &so) {
  ServeSetup setup;
  setup.run = &run;
  setup.options = so;
  setup.shape = serveShape(run, so);
  ServeShape &shape = setup.shape;
  serve::ModelFacts &f = shape.facts;

  Expected<int64_t> blocks = localBlocks(run, myRanks, so);
  if (!blocks)
    fatal("serve: " + blocks.status().message());
  f.numBlocks = *blocks;
  // Before any weight loads: the limits the flags ask for must fit.
  Expected<serve::EngineConfig> config = serve::engineConfigFor(so, f);
  if (!config)
    fatal("serve: " + config.status().message());

  bool hasRank0 = std::find(myRanks.begin(), myRanks.end(), 0) != myRanks.end();
  std::unique_ptr<serve::HttpServer> http;
  std::unique_ptr<serve::SignalDrain> signals;
  if (hasRank0) {
    serve::HttpOptions ho;
    ho.host = so.host;
    ho.port = so.port;
    ho.apiKey = so.apiKey;
    ho.threads = serve::httpThreadsFor(so, *config);
    http = std::make_unique<serve::HttpServer>(ho);
    if (Status s = http->bind(); !s)
      fatal("serve: " + s.message());
    std::printf("llmc serve: listening on http://%s:%d\n", so.host.c_str(),
                http->port());
    if (run.tokenizer)
      std::printf("llmc serve: text and chat through the tokenizer in %s\n",
                  run.tokenizerDir.c_str());
    else
      std::printf("llmc serve: token-id mode (no tokenizer.json beside the "
                  "binary and no --tokenizer)\n");
    std::fflush(stdout);
    signals =
        std::make_unique<serve::SignalDrain>(*http, so.drainTimeoutSeconds);
  }

  IdCodec ids(f.vocabSize);
  const serve::TextCodec &codec =
      run.tokenizer ? static_cast<const serve::TextCodec &>(*run.tokenizer)
                    : ids;
  int status = 0;
  // Rank 0's part once its rank is ready: the engine over GpuModelStep,
  // attached to the HTTP server, until the server stops.
  auto rank0 = [&](RankServer &server, DeviceRank &d, PlanChannel *channel) {
    GpuModelStep model(run, d, shape, server, channel);
    std::unique_ptr<serve::Engine> engine = createEngine(d, model, so);
    std::printf("llmc serve: %lld KV blocks of %d tokens per replica "
                "(%lld replica%s), up to %lld running sequences and %lld "
                "tokens per step (%lld with decode tokens)%s\n",
                (long long)f.numBlocks, f.blockSize, (long long)f.replicas,
                f.replicas == 1 ? "" : "s",
                (long long)config->scheduler.maxNumSeqs,
                (long long)config->scheduler.maxNumBatchedTokens,
                (long long)(config->scheduler.decodeStepTokens
                                ? config->scheduler.decodeStepTokens
                                : config->scheduler.maxNumBatchedTokens),
                shape.flat ? ", one flat forward per mixed step" : "");
    http->attach(*engine, codec, f.name);
    std::printf("llmc serve: ready\n");
    std::fflush(stdout);
    status = stopEngine(engine, model, http->run(), "serve: ");
  };
  runRanks(setup, myRanks, *blocks, rank0);
  if (hasRank0)
    std::printf("llmc serve: stopped\n");
  std::fflush(stdout);
  return status;
}
#endif // LLMC_WITH_SERVE

} // namespace llmc::rt::gen
