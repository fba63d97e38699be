//===- Mma.cuh - tensor-core and async-copy PTX wrappers -------*- CUDA -*-===//
//
// The warp-level bf16 matrix instructions (mma.sync m16n8k16, ldmatrix) and
// cp.async, available on sm_80 and sm_90 alike, so one kernel source serves
// A100 and H100 targets. Fragment layouts follow the PTX ISA section
// "Matrix Fragments for mma.m16n8k16"; with g = lane / 4, t = lane % 4:
//   A (16x16, row): a0 (g, 2t..2t+1)  a1 (g+8, 2t..)  a2 (g, 2t+8..)  a3 (g+8,
//   2t+8..) B (16x8, col):  b0 (k 2t..2t+1, n g)             b1 (k 2t+8.., n g)
//   C (16x8 fp32):  c0,c1 (g, 2t..2t+1)              c2,c3 (g+8, 2t..2t+1)
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_MMA_CUH
#define LLMC_RUNTIME_DEVICE_MMA_CUH

#include <cstdint>

namespace llmc::rt::cuda {

/// c += a * b for one m16n8k16 tile, bf16 inputs, fp32 accumulators.
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4],
                                         uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t smemAddr(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

/// Four 8x8 bf16 matrices from shared memory; lane i gives the address of
/// row i % 8 of matrix i / 8 (16-byte aligned).
__device__ __forceinline__ void ldmatrixX4(uint32_t r[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smemAddr(p)));
}

/// As ldmatrixX4, each matrix transposed: lane g*4+t receives elements
/// (2t, g) and (2t+1, g) of each stored matrix.
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t r[4], const void *p) {
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
      : "r"(smemAddr(p)));
}

/// 16-byte global -> shared copy that bypasses L1; zero-fills the
/// destination when !valid (src is then not read but must be a valid
/// pointer value).
__device__ __forceinline__ void cpAsync16(void *dst, const void *src,
                                          bool valid) {
  int bytes = valid ? 16 : 0;
  asm volatile(
      "cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smemAddr(dst)),
      "l"(src), "r"(bytes));
}

__device__ __forceinline__ void cpAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::);
}

/// Waits until at most `N` committed groups are still in flight.
template <int N> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

} // namespace llmc::rt::cuda

#endif // LLMC_RUNTIME_DEVICE_MMA_CUH
