//===- Communicator.h - collectives over one group of ranks -----*- C++ -*-===//
//
// One interface, two implementations: NCCL (one process per GPU,
// NcclCommunicator.h) and an in-process device communicator that runs every
// rank of a plan as a thread on one GPU (InProcessCommunicator.h). A
// Communicator connects the members of one group: the whole world, or the
// ranks along one grid axis that share every other coordinate (member index
// == coordinate on the axis).
//
// Every call is asynchronous on the given CUDA stream, like NCCL: the call
// returns once the work is enqueued, and buffers may be reused after the
// stream reaches that point. Counts and offsets are in elements of `type`.
// Errors are returned as Status and name the rank; a communicator never
// blocks its caller past the timeout it was created with.
//
// This header needs no CUDA headers: a stream is CUstream_st * (what
// cudaStream_t is), so CPU-only tests can drive the in-process communicator.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_COMM_COMMUNICATOR_H
#define LLMC_RUNTIME_COMM_COMMUNICATOR_H

#include "runtime/abi/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>

struct CUstream_st;

namespace llmc::rt {

/// A CUDA stream (cudaStream_t); nullptr is the legacy default stream.
using Stream = CUstream_st *;

/// Element types a communicator moves.
enum class DataType { BF16, F32, I32, I64, U8 };

/// Bytes per element.
size_t dataTypeSize(DataType type);
/// "bf16", "f32", ... for messages.
const char *dataTypeName(DataType type);

/// Collectives and point-to-point transfers among the members of one group.
class Communicator {
public:
  virtual ~Communicator();

  /// Number of members.
  virtual int size() const = 0;
  /// This rank's member index.
  virtual int member() const = 0;
  /// This rank's linear rank in the world, for messages.
  virtual int worldRank() const = 0;
  /// "tp" or "world", for messages.
  virtual const std::string &name() const = 0;

  /// recv = sum over members of send (`count` elements; bf16 and f32, each
  /// summed in fp32 in member order where the implementation controls the
  /// order). send == recv is allowed.
  virtual Status allReduceSum(const void *send, void *recv, size_t count,
                              DataType type, Stream stream) = 0;
  /// recv (size() * count elements) = every member's send, in member order.
  /// send == recv + member() * count is allowed.
  virtual Status allGather(const void *send, void *recv, size_t count,
                           DataType type, Stream stream) = 0;
  /// Copies root's buf into every member's buf.
  virtual Status broadcast(void *buf, size_t count, DataType type, int root,
                           Stream stream) = 0;
  /// Point-to-point: each send to `peer` matches the peer's next recv from
  /// this member, in order. Both sides must use the same count and type.
  virtual Status send(const void *buf, size_t count, DataType type, int peer,
                      Stream stream) = 0;
  virtual Status recv(void *buf, size_t count, DataType type, int peer,
                      Stream stream) = 0;
  /// Variable-size all-to-all: this member sends sendCounts[j] elements from
  /// send + sendOffsets[j] to member j, and receives recvCounts[j] elements
  /// from member j into recv + recvOffsets[j]. The arrays (size() entries)
  /// are host memory; sendCounts[j] here must equal member j's
  /// recvCounts[member()].
  virtual Status allToAllV(const void *send, const size_t *sendCounts,
                           const size_t *sendOffsets, void *recv,
                           const size_t *recvCounts, const size_t *recvOffsets,
                           DataType type, Stream stream) = 0;
  /// Waits (on the host) until `stream` has drained and every member has
  /// reached its barrier; fails after `timeoutSeconds`.
  virtual Status barrier(Stream stream, double timeoutSeconds) = 0;
  /// Waits (on the host) until the work enqueued on `stream` has finished,
  /// polling for communication errors; fails after `timeoutSeconds` instead
  /// of hanging when a peer died or never joined.
  virtual Status synchronize(Stream stream, double timeoutSeconds) = 0;
  /// Stops every pending operation (used on fatal errors); idempotent.
  virtual void abort() {}
};

/// The default per-wait timeout: LLMC_COMM_TIMEOUT_S (seconds, > 0) or 60.
double defaultCommTimeoutSeconds();

/// "60" or "0.3": seconds for messages.
std::string secondsText(double seconds);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_COMM_COMMUNICATOR_H
