//===- Bootstrap.h - share rank 0's NCCL id with every process --*- C++ -*-===//
//
// NCCL needs one ncclUniqueId, made by rank 0, in every process before the
// world communicator exists. Two transports: a file (LLMC_NCCL_ID_FILE,
// which llm-launch points at a fresh path; rank 0 writes it atomically, the
// others poll for it), or a TCP store on rank 0 (LLMC_MASTER_ADDR and
// LLMC_MASTER_PORT, for mpirun/srun across nodes). Both wait at most a
// deadline and then fail with a message naming the rank. Plain POSIX, no
// CUDA: the id is an opaque byte string here.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_COMM_BOOTSTRAP_H
#define LLMC_RUNTIME_COMM_BOOTSTRAP_H

#include "runtime/abi/Status.h"
#include "runtime/launch/Environment.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace llmc::rt {

/// Bytes of an id blob.
using IdBytes = std::vector<uint8_t>;

/// Rank 0 writes `id` to `path` (through a temporary file and rename, so a
/// reader never sees a partial file); other ranks wait for the file and
/// read an id of `size` bytes from it.
Expected<IdBytes> shareIdThroughFile(const std::string &path, int rank,
                                     size_t size,
                                     const std::function<IdBytes()> &makeId,
                                     double timeoutSeconds);

/// Rank 0 listens on `port` and sends the id to each of the world - 1 other
/// ranks, which connect to host:port (retrying until the deadline).
Expected<IdBytes> shareIdThroughTcp(const std::string &host, int port,
                                    int rank, int worldSize, size_t size,
                                    const std::function<IdBytes()> &makeId,
                                    double timeoutSeconds);

/// Picks the transport from the environment: LLMC_NCCL_ID_FILE, else
/// LLMC_MASTER_ADDR + LLMC_MASTER_PORT; a world of one needs neither.
Expected<IdBytes> shareId(const EnvLookup &env, int rank, int worldSize,
                          size_t size, const std::function<IdBytes()> &makeId,
                          double timeoutSeconds);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_COMM_BOOTSTRAP_H
