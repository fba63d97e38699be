//===- RunContext.h - shared by generation and serving ---------*- C++ -*-===//
//
// llm-model's process-wide state once the command line, the manifest, the
// launcher and the GPU are checked (Generate.cpp sets it up), and the steps
// both drivers take per rank: creating the communicators and failing
// before any rank exists. Generate.cpp runs one token-id generation with
// it, Serve.cpp the OpenAI server and the --text/--chat generation.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_GENERATE_RUNCONTEXT_H
#define LLMC_RUNTIME_GENERATE_RUNCONTEXT_H

#include "runtime/comm/InProcessCommunicator.h"
#include "runtime/launch/Environment.h"
#include "runtime/model/DeviceRank.h"
#include "runtime/model/HostWeights.h"
#include "runtime/model/Manifest.h"
#include "runtime/model/Options.h"

#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace llmc::serve {
struct ServeOptions;
class TokenizerCodec;
} // namespace llmc::serve

namespace llmc::rt::gen {

constexpr const char *kProgram = "llm-model";
/// Per rank, beyond weights, cache, arena and workspace: CUDA and cuBLASLt
/// internals, NCCL buffers, communication scratch.
constexpr uint64_t kReserveBytes = uint64_t(512) << 20;

struct EmulatedGraph; // Generate.cpp

/// What every rank of this process shares.
struct Run {
  Run();
  ~Run();
  Manifest manifest;
  ModelOptions options;
  RunShape shape;
  LaunchInfo launch;
  std::unique_ptr<Checkpoint> checkpoint;
  bool emulate = false;
  bool graphs = false; ///< capture decode steps as CUDA graphs
  int device = 0;
  int threadsPerRank = 1;
  /// Step-arena bytes beyond the manifest's arena_bytes (serve's flat
  /// calls add the decode kernel's split scratch to a full prefill).
  uint64_t arenaExtra = 0;
  double timeout = 60, loadTimeout = 3600;
  /// --bench, rank 0: the D2D copy rate measured before the weights load
  /// (NaN when not measured); the bench's bandwidth reference.
  double copyBeforeGBs = std::numeric_limits<double>::quiet_NaN();
  std::unique_ptr<InProcessWorld> world; ///< --emulate-ranks
  std::unique_ptr<EmulatedGraph> emulatedGraph; ///< --emulate-ranks, graphs
  /// The checkpoint's tokenizer, chat template and generation config, for
  /// --text/--chat and for serve when there is one (else serve takes token
  /// ids); `tokenizerDir` is the folder it came from.
  std::unique_ptr<serve::TokenizerCodec> tokenizer;
  std::string tokenizerDir;
  /// --text/--chat: the encoded prompt and how many tokens to generate.
  std::vector<int32_t> textPrompt;
  int64_t textNewTokens = 0;
};

/// Prints `llm-model: error: MESSAGE` and exits 1 (no rank exists yet).
[[noreturn]] void fatal(const std::string &message);
/// "1.23 GiB".
std::string gib(uint64_t bytes);
/// Creates the world communicator and one per grid axis for `d`.
void connect(Run &run, DeviceRank &d);
/// Creates rank `rank` on the run's GPU (failing it stops every emulated
/// rank), connects its communicators and loads its weights.
std::unique_ptr<DeviceRank> startRank(Run &run, int rank);
/// Ends the stream capture on `s` and instantiates it into `exec`.
void endCapture(DeviceRank &d, cudaStream_t s, cudaGraphExec_t &exec);

/// `llm-model serve`: runs the ranks `myRanks` of this process (all of them
/// under --emulate-ranks) as an OpenAI server until SIGTERM; rank 0 holds
/// the HTTP server. `serveOptions` are the serve flags taken out of the
/// command line (runtime/serve/ServeOptions.h). Returns the exit status.
int runServe(Run &run, const std::vector<int> &myRanks,
             const serve::ServeOptions &serveOptions);

/// `llm-model --text/--chat`: runs run.textPrompt as one request of the
/// serving engine over the same ranks and paged cache as runServe (so
/// sampling, stop ids and stop strings are the server's), printing the text
/// to stdout as it is decoded. Returns the exit status.
int runText(Run &run, const std::vector<int> &myRanks);

} // namespace llmc::rt::gen

#endif // LLMC_RUNTIME_GENERATE_RUNCONTEXT_H
