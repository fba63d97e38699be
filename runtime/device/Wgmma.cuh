//===- Wgmma.cuh - Hopper wgmma, TMA and mbarrier PTX wrappers -*- CUDA -*-===//
//
// sm_90a only: the warpgroup matrix instruction (wgmma.mma_async, bf16 in,
// fp32 accumulators, both operands read from shared memory through matrix
// descriptors), the bulk tensor copy engine (cp.async.bulk.tensor, 2-D, into
// shared memory with the 128-byte swizzle, completing on an mbarrier) and
// the mbarrier operations the copy needs. Callers compile their use under
// LLMC_HAS_WGMMA and dispatch to it only on compute capability 9.0.
//
// Operand layout (PTX ISA, "Shared Memory Matrix Layout", K-major, 128-byte
// swizzle): a tile of R rows x 64 bf16 is R rows of 128 bytes as the copy
// engine writes it with CU_TENSOR_MAP_SWIZZLE_128B; eight rows (1024 bytes)
// form one swizzle atom, so the descriptor's stride byte offset is 1024 and
// the k16 slices of the 64-wide row start 32 bytes apart. The tile must be
// 1024-byte aligned.
//
// The Wgmma<N> specialisations below are generated (one per instruction
// shape m64nNk16 the kernels use; the register lists are spelled out because
// inline PTX has no operand packs).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_WGMMA_CUH
#define LLMC_RUNTIME_DEVICE_WGMMA_CUH

#include <cstdint>

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define LLMC_HAS_WGMMA 1
#else
#define LLMC_HAS_WGMMA 0
#endif

namespace llmc::rt::cuda {

/// Descriptor of a K-major bf16 tile in shared memory with the 128-byte
/// swizzle, starting at shared address `addr` (a k16 slice: tile + 32 * i).
__device__ __forceinline__ uint64_t wgmmaDesc(uint32_t addr) {
  uint64_t d = (addr & 0x3FFFF) >> 4;
  d |= uint64_t(16 >> 4) << 16;   // leading byte offset (unused when swizzled)
  d |= uint64_t(1024 >> 4) << 32; // stride byte offset: one 8-row atom
  d |= uint64_t(1) << 62;         // 128-byte swizzle
  return d;
}

__device__ __forceinline__ void wgmmaFence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmmaCommit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
/// Waits until at most N committed wgmma groups are pending.
template <int N> __device__ __forceinline__ void wgmmaWait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void mbarInit(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar),
               "r"(count)
               : "memory");
}
/// Makes the initialised barriers visible to the copy engine.
__device__ __forceinline__ void mbarInitFence() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
/// Arrives once and expects `bytes` more of transactions in this phase.
__device__ __forceinline__ void mbarExpectTx(uint32_t bar, uint32_t bytes) {
  asm volatile(
      "mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar),
      "r"(bytes)
      : "memory");
}
/// Waits for the phase of parity `phase` to complete.
__device__ __forceinline__ void mbarWait(uint32_t bar, uint32_t phase) {
  asm volatile("{\n"
               ".reg .pred p;\n"
               "WAIT:\n"
               "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
               "@p bra DONE;\n"
               "bra WAIT;\n"
               "DONE:\n"
               "}\n" ::"r"(bar),
               "r"(phase)
               : "memory");
}

/// Box {c0 (innermost), c1} of the tensor map into shared memory at `dst`,
/// completing `bytes` on the mbarrier `bar`.
__device__ __forceinline__ void tmaLoad2d(uint32_t dst, const void *map,
                                          int c0, int c1, uint32_t bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile"
               ".mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::
                   "r"(dst),
               "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1),
               "r"(bar)
               : "memory");
}

/// d[N / 2] += A (64 x 16, descriptor a) * B (16 x N, descriptor b), fp32.
template <int N> struct Wgmma;
template <> struct Wgmma<8> {
  static __device__ __forceinline__ void run(float *d, uint64_t a,
                                             uint64_t b) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3"
                 "}, %4, %5, 1, 1, 1, 0, 0;\n"
                 :
                   "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "l"(a), "l"(b));
  }
};
template <> struct Wgmma<16> {
  static __device__ __forceinline__ void run(float *d, uint64_t a,
                                             uint64_t b) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n16k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3, %4, %5, %6, %7"
                 "}, %8, %9, 1, 1, 1, 0, 0;\n"
                 :
                   "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]),
                   "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
                 : "l"(a), "l"(b));
  }
};
template <> struct Wgmma<32> {
  static __device__ __forceinline__ void run(float *d, uint64_t a,
                                             uint64_t b) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
                 "%12, %13, %14, %15"
                 "}, %16, %17, 1, 1, 1, 0, 0;\n"
                 :
                   "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]),
                   "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
                   "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
                 : "l"(a), "l"(b));
  }
};
template <> struct Wgmma<64> {
  static __device__ __forceinline__ void run(float *d, uint64_t a,
                                             uint64_t b) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
                 "%12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, "
                 "%24, %25, %26, %27, %28, %29, %30, %31"
                 "}, %32, %33, 1, 1, 1, 0, 0;\n"
                 :
                   "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]),
                   "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
                   "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
                   "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
                   "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
                   "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "l"(a), "l"(b));
  }
};
template <> struct Wgmma<128> {
  static __device__ __forceinline__ void run(float *d, uint64_t a,
                                             uint64_t b) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
                 "%12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, "
                 "%24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, "
                 "%36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, "
                 "%60, %61, %62, %63"
                 "}, %64, %65, 1, 1, 1, 0, 0;\n"
                 :
                   "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]),
                   "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
                   "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
                   "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
                   "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
                   "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
                   "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]),
                   "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
                   "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]),
                   "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
                   "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]),
                   "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
                   "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]),
                   "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "l"(a), "l"(b));
  }
};

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_DEVICE_WGMMA_CUH
