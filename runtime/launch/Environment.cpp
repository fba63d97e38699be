//===- Environment.cpp - rank and world size from the launcher ------------===//

#include "runtime/launch/Environment.h"

#include <cstdlib>
#include <limits>

namespace llmc::rt {

namespace {

/// One launcher's variables.
struct Source {
  const char *launcher;
  const char *rankVar;
  const char *sizeVar;
};

constexpr Source kSources[] = {
    {"llm-launch", "LLMC_RANK", "LLMC_WORLD_SIZE"},
    {"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
    {"PMI", "PMI_RANK", "PMI_SIZE"},
    {"Slurm", "SLURM_PROCID", "SLURM_NTASKS"},
};

constexpr const char *kLocalRankVars[] = {
    "LLMC_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
    "PMI_LOCAL_RANK", "SLURM_LOCALID"};

/// Parses a non-negative decimal int (surrounding blanks allowed).
Status parseCount(const char *var, const char *text, int &out) {
  std::string s(text);
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  std::string t = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  bool ok = !t.empty() && t.size() <= 9;
  for (char c : t)
    ok = ok && c >= '0' && c <= '9';
  if (!ok)
    return Status::error(std::string(var) + "='" + text +
                         "' is not a non-negative integer");
  out = std::atoi(t.c_str());
  return Status::ok();
}

} // namespace

EnvLookup processEnvironment() {
  return [](const char *name) -> const char * { return std::getenv(name); };
}

Expected<LaunchInfo> detectLaunch(const EnvLookup &env) {
  using E = Expected<LaunchInfo>;
  LaunchInfo info;
  for (const Source &src : kSources) {
    const char *rank = env(src.rankVar);
    const char *size = env(src.sizeVar);
    if (!rank && !size)
      continue;
    if (!rank || !size)
      return E::fromError(Status::error(
          std::string(rank ? src.rankVar : src.sizeVar) + " is set but " +
          (rank ? src.sizeVar : src.rankVar) + " is not; the " +
          src.launcher + " launch environment is incomplete"));
    if (Status s = parseCount(src.rankVar, rank, info.rank); !s)
      return E::fromError(s);
    if (Status s = parseCount(src.sizeVar, size, info.worldSize); !s)
      return E::fromError(s);
    if (info.worldSize < 1)
      return E::fromError(Status::error(std::string(src.sizeVar) + "=" + size +
                                        ": the world size must be >= 1"));
    if (info.rank >= info.worldSize)
      return E::fromError(Status::error(
          std::string(src.rankVar) + "=" + rank + " is not below " +
          src.sizeVar + "=" + size));
    info.launcher = src.launcher;
    break;
  }
  info.localRank = info.rank;
  for (const char *var : kLocalRankVars) {
    if (const char *value = env(var)) {
      if (Status s = parseCount(var, value, info.localRank); !s)
        return E::fromError(s);
      break;
    }
  }
  return info;
}

} // namespace llmc::rt
