//===- Wgmma.cuh - Hopper wgmma, TMA and mbarrier PTX wrappers -*- CUDA -*-===//
//
// sm_90a only: the warpgroup matrix instruction (wgmma.mma_async, bf16 or
// E4M3 in, fp32 accumulators; B read from shared memory through a matrix
// descriptor, A too or from registers), the bulk tensor copy engine
// (cp.async.bulk.tensor, 2-D, into shared memory with the 128-byte swizzle,
// completing on an mbarrier) and
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
// The Wgmma<N> specialisations below come from one macro (one per
// instruction shape m64nNk16 the kernels use; the accumulator placeholders
// are spelled out because inline PTX has no operand packs).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_WGMMA_CUH
#define LLMC_RUNTIME_DEVICE_WGMMA_CUH

#include <cstdint>
#include <type_traits>

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define LLMC_HAS_WGMMA 1
#else
#define LLMC_HAS_WGMMA 0
#endif

namespace llmc::rt::cuda {

/// Descriptor of a 128-byte-swizzled tile at shared address `addr` with
/// leading byte offset `lbo`; the stride byte offset is one 8-row atom.
__device__ __forceinline__ uint64_t wgmmaDescSw128(uint32_t addr,
                                                   uint32_t lbo) {
  uint64_t d = (addr & 0x3FFFF) >> 4;
  d |= uint64_t(lbo >> 4) << 16;  // leading byte offset
  d |= uint64_t(1024 >> 4) << 32; // stride byte offset: one 8-row atom
  d |= uint64_t(1) << 62;         // 128-byte swizzle
  return d;
}

/// Descriptor of a K-major bf16 tile in shared memory with the 128-byte
/// swizzle, starting at shared address `addr` (a k16 slice: tile + 32 * i).
/// The leading byte offset is unused when swizzled.
__device__ __forceinline__ uint64_t wgmmaDesc(uint32_t addr) {
  return wgmmaDescSw128(addr, 16);
}

/// Descriptor of an MN-major bf16 tile (B of runRsT: K rows of 64
/// contiguous N elements, 128 bytes each, written with the 128-byte
/// swizzle; eight K rows form one 1024-byte atom), starting at `addr` (a
/// k16 slice: tile + 2048 * i). Only N = 64 (one atom wide) is used, so the
/// two strides are one atom each: PTX names the stride between atoms along
/// K and along N with the two offsets, and with one atom along N only the
/// K one is read.
__device__ __forceinline__ uint64_t wgmmaDescMn(uint32_t addr) {
  return wgmmaDescSw128(addr, 1024);
}

/// Orders this thread's generic-proxy writes of shared memory (st.shared,
/// cp.async) before later reads by the async proxy (wgmma operands): each
/// writing thread fences, then the block synchronises.
__device__ __forceinline__ void fenceProxyAsync() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
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

/// Pins registers a wgmma reads or writes at this point of the program:
/// after a wgmma.wait_group, so reads of its accumulators are not moved
/// above it; before a wgmma.fence, so writes of its operands (the A
/// fragments, accumulators rescaled) are not moved below it.
/// Fp32 accumulators or 32-bit A fragments.
template <class T, int R, int N>
__device__ __forceinline__ void holdRegs(T (&p)[R][N]) {
  static_assert(sizeof(T) == 4, "32-bit registers");
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int j = 0; j < N; ++j)
      if constexpr (std::is_same_v<T, float>)
        asm volatile("" : "+f"(p[r][j])::"memory");
      else
        asm volatile("" : "+r"(p[r][j])::"memory");
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

/// Output operands of the accumulators d[o .. o + 4 * 2^i).
#define LLMC_WGMMA_D4(o)                                                      \
  "+f"(d[o]), "+f"(d[o + 1]), "+f"(d[o + 2]), "+f"(d[o + 3])
#define LLMC_WGMMA_D8(o) LLMC_WGMMA_D4(o), LLMC_WGMMA_D4(o + 4)
#define LLMC_WGMMA_D16(o) LLMC_WGMMA_D8(o), LLMC_WGMMA_D8(o + 8)
#define LLMC_WGMMA_D32(o) LLMC_WGMMA_D16(o), LLMC_WGMMA_D16(o + 16)
#define LLMC_WGMMA_D64(o) LLMC_WGMMA_D32(o), LLMC_WGMMA_D32(o + 32)

/// Wgmma<N>: d[N / 2] += A (64 x 16) * B (16 x N, descriptor b), fp32,
/// bf16 operands. run: A in shared memory (descriptor a). runRs: A in
/// registers, the m16n8k16 A fragment of the thread's warp (rows
/// 16 * warp + lane / 4 and + 8, k (lane % 4) * 2 + {0, 1} and + 8, two
/// bf16 per register, lower k in the low half); the caller issues
/// wgmma.fence after writing them, and keeps them until the wgmma retires.
/// runRsT: runRs with B N-major (transposed: wgmmaDescMn's layout).
/// runE4m3: d += A (64 x 32) * B (32 x N), both E4M3 codes in shared memory
/// (K-major, the same descriptors: a k32 slice of a 128-byte row is 32
/// bytes, as a k16 slice of bf16 is); the tensor cores' fp32 sums of FP8
/// products keep fewer mantissa bits than fp32 over long runs, so callers
/// add a few slices' sums into their own fp32 accumulators.
template <int N> struct Wgmma;
#define LLMC_WGMMA_SHAPE(N, DREGS, DOPS, SS, RS)                              \
  template <> struct Wgmma<N> {                                               \
    static __device__ __forceinline__ void run(float *d, uint64_t a,          \
                                               uint64_t b) {                  \
      asm volatile("wgmma.mma_async.sync.aligned.m64n" #N                     \
                   "k16.f32.bf16.bf16 {" DREGS "}, " SS                       \
                   ", 1, 1, 1, 0, 0;\n"                                       \
                   : DOPS(0)                                                  \
                   : "l"(a), "l"(b));                                         \
    }                                                                         \
    static __device__ __forceinline__ void runRs(float *d, const uint32_t *a, \
                                                 uint64_t b) {                \
      asm volatile("wgmma.mma_async.sync.aligned.m64n" #N                     \
                   "k16.f32.bf16.bf16 {" DREGS "}, " RS ", 1, 1, 1, 0;\n"     \
                   : DOPS(0)                                                  \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));     \
    }                                                                         \
    static __device__ __forceinline__ void runRsT(float *d,                   \
                                                  const uint32_t *a,          \
                                                  uint64_t b) {               \
      asm volatile("wgmma.mma_async.sync.aligned.m64n" #N                     \
                   "k16.f32.bf16.bf16 {" DREGS "}, " RS ", 1, 1, 1, 1;\n"     \
                   : DOPS(0)                                                  \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));     \
    }                                                                         \
    static __device__ __forceinline__ void runE4m3(float *d, uint64_t a,      \
                                                   uint64_t b) {              \
      asm volatile("wgmma.mma_async.sync.aligned.m64n" #N                     \
                   "k32.f32.e4m3.e4m3 {" DREGS "}, " SS ", 1, 1, 1;\n"        \
                   : DOPS(0)                                                  \
                   : "l"(a), "l"(b));                                         \
    }                                                                         \
  }
LLMC_WGMMA_SHAPE(8,
    "%0, %1, %2, %3",
    LLMC_WGMMA_D4, "%4, %5", "{%4, %5, %6, %7}, %8");
LLMC_WGMMA_SHAPE(16,
    "%0, %1, %2, %3, %4, %5, %6, %7",
    LLMC_WGMMA_D8, "%8, %9", "{%8, %9, %10, %11}, %12");
LLMC_WGMMA_SHAPE(32,
    "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
    "%12, %13, %14, %15",
    LLMC_WGMMA_D16, "%16, %17", "{%16, %17, %18, %19}, %20");
LLMC_WGMMA_SHAPE(64,
    "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
    "%12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, "
    "%24, %25, %26, %27, %28, %29, %30, %31",
    LLMC_WGMMA_D32, "%32, %33", "{%32, %33, %34, %35}, %36");
LLMC_WGMMA_SHAPE(128,
    "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
    "%12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, "
    "%24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, "
    "%36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, "
    "%60, %61, %62, %63",
    LLMC_WGMMA_D64, "%64, %65", "{%64, %65, %66, %67}, %68");
#undef LLMC_WGMMA_SHAPE
#undef LLMC_WGMMA_D64
#undef LLMC_WGMMA_D32
#undef LLMC_WGMMA_D16
#undef LLMC_WGMMA_D8
#undef LLMC_WGMMA_D4

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_DEVICE_WGMMA_CUH
