//===- Device.h - host helpers of kernel and GEMM wrappers --------*- C++ -*-===//
//
// Not part of the interface generated code sees (that is Ops.h and
// Kernels.h): error reporting through the rank, scratch from the rank's
// arena, and device properties read once. Shared by runtime/kernels and
// runtime/gemm (with Common.cuh and Mma.cuh); implemented in Device.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_DEVICE_H
#define LLMC_RUNTIME_DEVICE_DEVICE_H

#include "runtime/abi/Rank.h"

#include <cstdint>
#include <string>

namespace llmc::rt::cuda {

/// Reports a pending launch error of `kernel` through Rank::fail. Only
/// cudaGetLastError, so it never synchronises and is safe during graph
/// capture.
void checkLaunch(Rank &r, const char *kernel);

/// Rank::fail with a printf-style message prefixed by the op's name.
[[noreturn]] void failf(Rank &r, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/// `n` elements of scratch valid until the end of the step.
template <class T> T *scratch(Rank &r, int64_t n) {
  return static_cast<T *>(r.arenaAlloc(sizeof(T) * size_t(n > 0 ? n : 1)));
}

/// Multiprocessor count of the current device (cached per device), used to
/// size split-K grids.
int smCount();

/// Compute capability of the current device as major * 10 + minor (90:
/// sm_90a code runs there), cached per device; -1 when it cannot be read.
int computeCapability();

/// Whether E4M3 x E4M3 GEMMs accumulate in the tensor cores' own partial
/// sums along all of K (fewer promotions to fp32, as vLLM's CUTLASS FP8
/// kernels and torch's _scaled_mm(use_fast_accum=True) run them): cuBLASLt's
/// CUBLASLT_MATMUL_DESC_FAST_ACCUM and the W8A8 decode GEMM without its
/// per-stage promotion. LLMC_FP8_FAST_ACCUM=1; off by default until its
/// speed and its kernel tests have run on a GPU.
bool fp8FastAccum();

/// An A/B switch of the environment: 1 if variable `name` is "1", 0 if it
/// is "0", else -1 (unset or anything else: the launch policy decides).
int envOnOff(const char *name);

/// A row count of the environment: variable `name` as a non-negative
/// integer, or -1 where it is unset or not one (the policy decides).
int64_t envRows(const char *name);

/// Whether `p` is aligned to `bytes` (a power of two).
inline bool isAligned(const void *p, uintptr_t bytes) {
  return (reinterpret_cast<uintptr_t>(p) & (bytes - 1)) == 0;
}

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_DEVICE_DEVICE_H
