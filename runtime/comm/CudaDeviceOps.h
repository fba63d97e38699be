//===- CudaDeviceOps.h - CUDA work of the in-process comm -------*- C++ -*-===//
//
// DeviceOps over CUDA: markers are cudaEvents (timing disabled), copies are
// cudaMemcpyAsync device to device, the sum is CommKernels' fixed-order
// reduction. Every rank thread of an emulated plan shares one instance; the
// calling thread must have the GPU current.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_COMM_CUDADEVICEOPS_H
#define LLMC_RUNTIME_COMM_CUDADEVICEOPS_H

#include "runtime/comm/DeviceOps.h"

#include <memory>

namespace llmc::rt {

/// DeviceOps for one GPU.
std::shared_ptr<DeviceOps> makeCudaDeviceOps();

} // namespace llmc::rt

#endif // LLMC_RUNTIME_COMM_CUDADEVICEOPS_H
