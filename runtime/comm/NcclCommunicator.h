//===- NcclCommunicator.h - one process per GPU over NCCL -------*- C++ -*-===//
//
// The world communicator comes from an ncclUniqueId that rank 0 shares
// through Bootstrap.h; one communicator per grid axis is split from it
// (ncclCommSplit, color = the other coordinates, key = the coordinate on the
// axis). Communicators are created non-blocking, and every wait polls
// ncclCommGetAsyncError against a deadline (LLMC_COMM_TIMEOUT_S), so a dead
// or missing peer becomes an error naming the rank instead of a hang; on
// such an error every communicator of the process is aborted.
//
// NVLink multicast (NVLS) stays off: NCCL_NVLS_ENABLE is set to 0 when
// unset, and a run with any other value is refused, since multicast can put
// shared GPUs out of service.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_COMM_NCCLCOMMUNICATOR_H
#define LLMC_RUNTIME_COMM_NCCLCOMMUNICATOR_H

#include "runtime/comm/Communicator.h"
#include "runtime/launch/Environment.h"

#include <memory>
#include <string>

namespace llmc::rt {

/// Sets NCCL_NVLS_ENABLE=0 when unset; fails when it is set to anything but
/// 0. Call before the first NCCL call of the process.
Status ensureNvlsDisabled();

/// The world communicator of this process (rank `rank` of `worldSize`),
/// sharing the id as the environment says (LLMC_NCCL_ID_FILE or
/// LLMC_MASTER_ADDR/PORT). The calling thread must have its GPU current.
Expected<std::unique_ptr<Communicator>>
createNcclWorld(int rank, int worldSize, const EnvLookup &env,
                double timeoutSeconds);

/// Splits `parent` (made by createNcclWorld or this function): members with
/// equal `color` form a group, ordered by `key`. Every member of `parent`
/// must call it, in the same order relative to other NCCL calls.
Expected<std::unique_ptr<Communicator>>
splitNcclCommunicator(Communicator &parent, int color, int key,
                      const std::string &name);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_COMM_NCCLCOMMUNICATOR_H
