//===- Device.cpp - host helpers of kernel and GEMM wrappers -------------===//

#include "runtime/device/Device.h"

#include <cuda_runtime.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace llmc::rt::cuda {

void checkLaunch(Rank &r, const char *kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    r.fail(std::string("CUDA kernel ") + kernel + " failed to launch: " +
           cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

void failf(Rank &r, const char *op, const char *fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  r.fail(std::string(op) + ": " + buf);
  std::abort(); // not reached: Rank::fail does not return
}

int envOnOff(const char *name) {
  const char *v = std::getenv(name);
  if (v && std::strcmp(v, "1") == 0)
    return 1;
  return v && std::strcmp(v, "0") == 0 ? 0 : -1;
}

int64_t envRows(const char *name) {
  const char *e = std::getenv(name);
  char *end = nullptr;
  long n = e && *e ? std::strtol(e, &end, 10) : -1;
  return e && *e && !*end && n >= 0 ? int64_t(n) : int64_t(-1);
}

bool fp8FastAccum() {
  static const bool on = envOnOff("LLMC_FP8_FAST_ACCUM") == 1;
  return on;
}

namespace {

constexpr int kMaxDevices = 64;

/// A property of the current device, read once per device by `read(dev)`
/// (never 0) into `cache`; `unknown` where there is no current device.
template <class Read>
int perDevice(std::atomic<int> (&cache)[kMaxDevices], int unknown,
              Read read) {
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= kMaxDevices)
    return unknown;
  int v = cache[dev].load(std::memory_order_relaxed);
  if (v == 0) {
    v = read(dev);
    cache[dev].store(v, std::memory_order_relaxed);
  }
  return v;
}

} // namespace

int computeCapability() {
  static std::atomic<int> ccs[kMaxDevices];
  return perDevice(ccs, -1, [](int dev) {
    int major = 0, minor = 0;
    return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor,
                                  dev) == cudaSuccess &&
                   cudaDeviceGetAttribute(&minor,
                                          cudaDevAttrComputeCapabilityMinor,
                                          dev) == cudaSuccess
               ? major * 10 + minor
               : -1;
  });
}

int smCount() {
  static std::atomic<int> counts[kMaxDevices];
  return perDevice(counts, 132, [](int dev) {
    int n = 0;
    return cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) ==
                       cudaSuccess &&
                   n > 0
               ? n
               : 132;
  });
}

} // namespace llmc::rt::cuda
