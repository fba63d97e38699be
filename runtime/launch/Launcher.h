//===- Launcher.h - llm-launch: N local ranks of one program ----*- C++ -*-===//
//
// `llm-launch -n N [--] BIN ARGS...` starts N processes of BIN on this node,
// each with LLMC_RANK, LLMC_WORLD_SIZE, LLMC_LOCAL_RANK and
// LLMC_LOCAL_WORLD_SIZE, and LLMC_NCCL_ID_FILE naming a fresh path in a
// private temporary folder (rank 0 writes the NCCL id there). The rest of
// the environment passes through unchanged, except that NCCL_NVLS_ENABLE=0
// is added when absent (NVLink multicast stays off). CUDA_VISIBLE_DEVICES is
// not touched: a rank uses the GPU numbered by its local rank.
//
// When a rank exits non-zero or dies by a signal, the others are sent
// SIGTERM, then SIGKILL after a grace period, and the launcher exits
// non-zero with a message naming the rank. SIGINT/SIGTERM sent to the
// launcher are forwarded the same way. Each rank runs in its own process
// group so that a rank's children are stopped with it.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_LAUNCH_LAUNCHER_H
#define LLMC_RUNTIME_LAUNCH_LAUNCHER_H

#include "runtime/abi/Status.h"

#include <ostream>
#include <string>
#include <vector>

namespace llmc::rt {

/// What to launch.
struct LaunchOptions {
  int numRanks = 0;
  std::vector<std::string> command; ///< BIN ARGS...
  /// Seconds between SIGTERM and SIGKILL: LLMC_LAUNCH_GRACE_S or 10.
  double graceSeconds = 10;
  bool help = false;
};

/// Usage text of llm-launch.
std::string launchUsage();

/// Parses llm-launch's arguments (argv without the program name):
/// `-n N` / `-nN` / `--nproc=N` / `--nproc N`, an optional `--`, then the
/// command.
Expected<LaunchOptions> parseLaunchArgs(const std::vector<std::string> &args);

/// Runs the ranks and waits for them; returns the launcher's exit status:
/// 0 when every rank exits 0, else the first failed rank's exit status (or
/// 128 + signal). Messages go to `log`.
int runLaunch(const LaunchOptions &options, std::ostream &log);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_LAUNCH_LAUNCHER_H
