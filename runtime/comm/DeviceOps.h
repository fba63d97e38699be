//===- DeviceOps.h - device work of the in-process communicator -*- C++ -*-===//
//
// The in-process communicator separates its synchronisation (host-side
// rendezvous, timeouts, failure propagation: InProcessCommunicator.cpp, no
// CUDA) from the device work a collective enqueues, which goes through this
// interface: CUDA events, device-to-device copies and a fixed-order
// reduction kernel (CudaDeviceOps.h), or plain host memory for tests on
// machines without a GPU (makeHostDeviceOps()).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_COMM_DEVICEOPS_H
#define LLMC_RUNTIME_COMM_DEVICEOPS_H

#include "runtime/comm/Communicator.h"

#include <memory>

namespace llmc::rt {

/// Enqueues device work on streams and orders streams with markers.
class DeviceOps {
public:
  /// A completion marker (a cudaEvent_t for CUDA).
  using Marker = void *;

  virtual ~DeviceOps();

  virtual Expected<Marker> createMarker() = 0;
  virtual void destroyMarker(Marker marker) = 0;
  /// Marks the current end of `stream`.
  virtual Status record(Marker marker, Stream stream) = 0;
  /// Makes later work on `stream` wait for `marker`'s last record.
  virtual Status wait(Stream stream, Marker marker) = 0;
  /// Copies `bytes` (device to device) on `stream`.
  virtual Status copy(void *dst, const void *src, size_t bytes,
                      Stream stream) = 0;
  /// For every i < count: v = srcs[0][i] + srcs[1][i] + ... + srcs[n-1][i]
  /// (left to right, in fp32 for BF16/F32, exact for integers), then
  /// dsts[k][i] = v for every k < n. A dst may equal its src (in place).
  virtual Status sum(void *const *dsts, const void *const *srcs, int n,
                     size_t count, DataType type, Stream stream) = 0;
  /// true when all work enqueued on `stream` has finished, false while it
  /// runs; an error for a failed stream.
  virtual Expected<bool> query(Stream stream) = 0;
};

/// DeviceOps on host memory: every operation runs synchronously on the
/// calling thread, markers are no-ops. For unit tests without a GPU.
std::shared_ptr<DeviceOps> makeHostDeviceOps();

} // namespace llmc::rt

#endif // LLMC_RUNTIME_COMM_DEVICEOPS_H
