//===- CommKernels.h - small kernels the communicators need -----*- C++ -*-===//
//
// Not model kernels: the fixed-order reduction of the in-process
// communicator and the row packing around expert-parallel all-to-alls
// (gather the routed rows per destination, split the received routing
// records, sum each token's returned choices). All launch asynchronously on
// the given stream and return the launch error.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_COMM_COMMKERNELS_H
#define LLMC_RUNTIME_COMM_COMMKERNELS_H

#include "runtime/comm/Communicator.h"

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace llmc::rt {

/// Most members one sum can take (the pointer arrays travel as kernel
/// arguments).
constexpr int kMaxSumMembers = 64;

/// dsts[k][i] = srcs[0][i] + ... + srcs[n-1][i] for every k (fp32
/// accumulation for BF16/F32, left to right).
cudaError_t launchOrderedSum(void *const *dsts, const void *const *srcs, int n,
                             size_t count, DataType type, cudaStream_t stream);

/// Routing record sent with each dispatched row.
struct RouteRecord {
  float weight;
  int32_t expert;
};

/// For i < n: rows[i] = in[order[i] / k] (h bf16 values) and
/// records[i] = {weights[order[i]], ids[order[i]]}; `order` lists flat
/// (token * k + choice) indices in send order.
cudaError_t launchPackDispatch(const void *in, const float *weights,
                               const int32_t *ids, const int32_t *order,
                               int64_t n, int64_t k, int64_t h, void *rows,
                               RouteRecord *records, cudaStream_t stream);

/// Splits n received records into tokenWeights / tokenIds, and pads rows
/// [n, capacity) with weight 0, id -1 and zero token rows (h wide).
cudaError_t launchUnpackRecords(const RouteRecord *records, int64_t n,
                                int64_t capacity, int64_t h, float *weights,
                                int32_t *ids, void *tokens,
                                cudaStream_t stream);

/// out[t] = sum over c < k of back[position[t * k + c]] (h bf16 values per
/// row, fp32 accumulation in choice order), for t < tokens.
cudaError_t launchCombineSum(const void *back, const int32_t *position,
                             int64_t tokens, int64_t k, int64_t h, void *out,
                             cudaStream_t stream);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_COMM_COMMKERNELS_H
