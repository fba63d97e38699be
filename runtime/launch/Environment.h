//===- Environment.h - rank and world size from the launcher ----*- C++ -*-===//
//
// A deployable binary runs as one process per GPU, started by llm-launch,
// mpirun (Open MPI, MPICH/Intel MPI through PMI) or srun. Each launcher
// exports the process's rank, the world size and the rank on its node in its
// own variables; this reads whichever set is present, in a fixed order of
// precedence, and rejects partial or malformed settings with a message that
// names the variable.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_LAUNCH_ENVIRONMENT_H
#define LLMC_RUNTIME_LAUNCH_ENVIRONMENT_H

#include "runtime/abi/Status.h"

#include <functional>
#include <string>

namespace llmc::rt {

/// Where this process sits among the processes of one run.
struct LaunchInfo {
  int rank = 0;
  int worldSize = 1;
  /// Rank among the processes of this node: the GPU it uses.
  int localRank = 0;
  /// The launcher the values came from: "llm-launch", "Open MPI", "PMI",
  /// "Slurm" or "none" (a single process).
  std::string launcher = "none";
};

/// Looks up an environment variable; nullptr when unset.
using EnvLookup = std::function<const char *(const char *)>;

/// The process environment (std::getenv).
EnvLookup processEnvironment();

/// Reads the rank and world size from, in this order: LLMC_RANK /
/// LLMC_WORLD_SIZE (llm-launch), OMPI_COMM_WORLD_RANK / OMPI_COMM_WORLD_SIZE
/// (Open MPI), PMI_RANK / PMI_SIZE (MPICH, Intel MPI), SLURM_PROCID /
/// SLURM_NTASKS (srun); none of them: rank 0 of 1. The local rank comes from
/// LLMC_LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, PMI_LOCAL_RANK
/// or SLURM_LOCALID (first set wins), else it equals the rank (one node).
/// Errors: a rank without a size or the reverse, a value that is not a
/// non-negative decimal integer, rank >= size, size < 1.
Expected<LaunchInfo> detectLaunch(const EnvLookup &env);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_LAUNCH_ENVIRONMENT_H
