//===- Launch.cuh - programmatic dependent launch of kernels -*- CUDA -*-===//
//
// Every kernel of a decode step is launched through launchPdl: on sm_90,
// with the compiler's decode plan asking for it (manifest "decode".pdl,
// LLMC_PDL=0 to turn it off), the launch carries programmatic stream
// serialization, so the kernel is scheduled as soon as every block of the
// previous kernel has called pdlLaunchDependents (or exited) instead of
// after that kernel's last block retired and the next launch was processed.
// Inside a captured decode graph that removes the launch gap and the tail
// between consecutive kernels.
//
// The contract of a kernel launched this way (all of them follow it):
// * before pdlWait() it touches only memory no kernel of the step writes
//   (weights, norm weights, the step's positions and block tables, which
//   are copied from the host ahead of it, and the KV cache at positions
//   before each row's own, written by earlier steps): the weight-streaming
//   GEMVs issue their first weight loads there, and decode attention its
//   plan, RoPE table and first K/V tile, so they stream while the previous
//   kernel finishes;
// * every thread calls pdlWait() before it reads anything a previous kernel
//   wrote and before its first global write (write-after-read: the previous
//   kernel may still be reading), and before any early exit, so the grid
//   never completes before the grids it depends on (the wait of the kernel
//   after it relies on that, transitively);
// * pdlLaunchDependents() comes first, before the wait (the GEMVs: right
//   after their first weight loads): the next kernel is then scheduled
//   while this one still waits for its predecessor, so a GEMV behind a
//   small kernel (norm, attention) streams its weights during the kernel
//   before that one's tail. It is only a scheduling hint: the next kernel's
//   pdlWait still waits for this grid's completion and memory flush, and
//   this grid cannot complete before its own wait returned, so the order
//   holds transitively. Blocks never wait on a later grid, so nothing can
//   deadlock: a grid is launched only once every block of the one before
//   it is resident and has triggered.
// Without the attribute (older GPUs, policy off) both are no-ops at run
// time: the stream orders the kernels as usual.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_LAUNCH_CUH
#define LLMC_RUNTIME_KERNELS_LAUNCH_CUH

#include "runtime/device/Device.h"

#include <cuda_runtime.h>

#include <utility>

namespace llmc::rt::cuda {

/// Waits until the kernels this one depends on have completed and their
/// writes are visible (returns at once without programmatic launch).
__device__ __forceinline__ void pdlWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

/// Lets the next kernel on the stream be scheduled before this one ends.
__device__ __forceinline__ void pdlLaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

/// Whether launches carry programmatic stream serialization: the launch
/// policy's `pdl` (Kernels.h), the current device is sm_90 or later, and
/// LLMC_PDL is not "0". Cheap (cached per device).
bool pdlActive();

/// Launches `kernel<<<grid, block, smem, r.stream()>>>(args...)`, with
/// programmatic stream serialization when pdlActive(); the kernel must
/// follow the contract above. Launch errors go through Rank::fail naming
/// `op`.
template <class... Params, class... Args>
void launchPdl(Rank &r, const char *op, void (*kernel)(Params...), dim3 grid,
               dim3 block, size_t smem, Args &&...args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = r.stream();
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdlActive() ? 1 : 0;
  cudaError_t e = cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
  if (e != cudaSuccess)
    failf(r, op, "launch failed: %s (%s)", cudaGetErrorName(e),
          cudaGetErrorString(e));
}

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_KERNELS_LAUNCH_CUH
