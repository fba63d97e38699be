//===- Internal.h - host helpers shared by the runtime/cuda sources -*- C++
//-*-===//
//
// Not part of the interface generated code sees (that is Ops.h and
// Kernels.h): error reporting through the rank, scratch from the rank's
// arena, and device properties read once.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CUDA_INTERNAL_H
#define LLMC_RUNTIME_CUDA_INTERNAL_H

#include "runtime/model/Rank.h"

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

/// Most activation rows the weight-streaming GEMV (Gemv.cu) takes.
constexpr int64_t kGemvMaxRows = 8;

/// out[m, n] = x[m, k] w[n, k]^T (+ bias) by the weight-streaming GEMV,
/// `out` bf16 or (outF32) fp32 with leading dimension `ldo`. Returns false,
/// launching nothing, where it does not apply (m > kGemvMaxRows, k not a
/// multiple of 8, unaligned operands, or LLMC_GEMV=0): use cuBLASLt then.
bool gemv(Rank &r, void *out, bool outF32, int64_t ldo, const bf16 *x,
          int64_t ldx, const bf16 *w, int64_t n, int64_t k, const bf16 *bias,
          int64_t m);

/// Whether `p` is aligned to `bytes` (a power of two).
inline bool isAligned(const void *p, uintptr_t bytes) {
  return (reinterpret_cast<uintptr_t>(p) & (bytes - 1)) == 0;
}

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_CUDA_INTERNAL_H
