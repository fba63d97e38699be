//===- CudaDeviceOps.cpp - CUDA device work for the in-process comm -------===//

#include "runtime/comm/CudaDeviceOps.h"

#include "runtime/comm/CommKernels.h"

#include <cuda_runtime.h>

#include <string>

namespace llmc::rt {

namespace {

Status cudaStatus(cudaError_t e, const char *what) {
  if (e == cudaSuccess)
    return Status::ok();
  return Status::error(std::string(what) + ": " + cudaGetErrorString(e));
}

class CudaDeviceOps final : public DeviceOps {
public:
  Expected<Marker> createMarker() override {
    cudaEvent_t e = nullptr;
    if (cudaError_t err = cudaEventCreateWithFlags(&e, cudaEventDisableTiming))
      return Expected<Marker>::fromError(cudaStatus(err, "cudaEventCreate"));
    return Marker(e);
  }
  void destroyMarker(Marker marker) override {
    if (marker)
      cudaEventDestroy(static_cast<cudaEvent_t>(marker));
  }
  Status record(Marker marker, Stream stream) override {
    return cudaStatus(
        cudaEventRecord(static_cast<cudaEvent_t>(marker), stream),
        "cudaEventRecord");
  }
  Status wait(Stream stream, Marker marker) override {
    return cudaStatus(
        cudaStreamWaitEvent(stream, static_cast<cudaEvent_t>(marker), 0),
        "cudaStreamWaitEvent");
  }
  Status copy(void *dst, const void *src, size_t bytes,
              Stream stream) override {
    return cudaStatus(
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream),
        "cudaMemcpyAsync");
  }
  Status sum(void *const *dsts, const void *const *srcs, int n, size_t count,
             DataType type, Stream stream) override {
    if (n > kMaxSumMembers)
      return Status::error("a reduction over " + std::to_string(n) +
                           " members exceeds the emulation's limit of " +
                           std::to_string(kMaxSumMembers));
    return cudaStatus(launchOrderedSum(dsts, srcs, n, count, type, stream),
                      "reduction kernel");
  }
  Expected<bool> query(Stream stream) override {
    cudaError_t e = cudaStreamQuery(stream);
    if (e == cudaSuccess)
      return true;
    if (e == cudaErrorNotReady)
      return false;
    return Expected<bool>::fromError(cudaStatus(e, "cudaStreamQuery"));
  }
};

} // namespace

std::shared_ptr<DeviceOps> makeCudaDeviceOps() {
  return std::make_shared<CudaDeviceOps>();
}

} // namespace llmc::rt
