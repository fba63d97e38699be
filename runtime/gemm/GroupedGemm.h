//===- GroupedGemm.h - expert GEMMs with device-side group sizes -*- C++
//-*-===//
//
// MoE layers multiply each expert's weights by the tokens routed to it. How
// many tokens that is is only known on the device, after the router ran, and
// cuBLASLt (13.0) takes every size from the host: asking the host would
// synchronise inside a step and break CUDA-graph capture. So the expert
// GEMMs are one tensor-core kernel (mma.sync, sm_80+) over a device-built
// tile list: each tile is (local expert, first row, end row) of the
// expert-sorted token rows; the grid is sized by the host's upper bound and
// blocks past the device's tile count exit at once.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_GEMM_GROUPEDGEMM_H
#define LLMC_RUNTIME_GEMM_GROUPEDGEMM_H

#include <cuda_runtime.h>

#include <cstdint>

struct __nv_bfloat16;

namespace llmc::rt::gemm {

/// Most experts one rank can hold in one grouped GEMM (kernel parameters
/// carry their weight pointers).
constexpr int kMaxGroupedExperts = 256;
/// Rows per tile: the granularity tile lists are built with.
constexpr int kGroupedTileRows = 64;

/// Weight pointers of the local experts, [n, k] row-major each.
struct ExpertWeights {
  const __nv_bfloat16 *w[kMaxGroupedExperts];
};

struct GroupedGemm {
  /// Row r of the GEMM input is row rows[r] of `a` (rows == nullptr: row r).
  const __nv_bfloat16 *a = nullptr;
  int64_t lda = 0;
  const int *rows = nullptr;
  /// Output row r of the group's rows; ldo in elements.
  __nv_bfloat16 *out = nullptr;
  int64_t ldo = 0;
  /// Device tile list: {local expert, first row, end row, unused}, and its
  /// length; `maxTiles` (host) bounds it and sizes the grid.
  const int4 *tiles = nullptr;
  const int *tileCount = nullptr;
  int maxTiles = 0;
  /// Output columns and reduction length; both multiples of 8.
  int n = 0, k = 0;
};

/// out[r] = a[rows[r]] * W_e^T for every row r of every tile (e its
/// expert). With `up` non-null, out[r] = silu(a W_gate^T) * (a W_up^T)
/// instead (both [n, k]): the SwiGLU's two GEMMs share the input tiles and
/// the intermediate never reaches memory. Returns the launch error.
cudaError_t groupedGemm(const GroupedGemm &g, const ExpertWeights &w,
                        const ExpertWeights *up, cudaStream_t stream);

} // namespace llmc::rt::gemm

#endif // LLMC_RUNTIME_GEMM_GROUPEDGEMM_H
