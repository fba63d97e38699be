//===- KVSizing.h - how many KV blocks fit in GPU memory --------*- C++ -*-===//
//
// --gpu-memory-utilization as vLLM means it: of each GPU's memory, the
// fraction `utilization` may be used; what weights and activations (arena,
// workspaces, library reserves) leave of it holds KV blocks. Pure
// functions, so the arithmetic and its refusals are tested without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_KVSIZING_H
#define LLMC_RUNTIME_SERVE_KVSIZING_H

#include "runtime/abi/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::serve {

using rt::Expected;
using rt::Status;

/// One rank's slice of a KV block.
struct KVBlockLayout {
  int64_t layers = 0;     ///< attention layers the rank holds (its stage's)
  int64_t kvHeads = 0;    ///< kv heads per rank (after tensor parallelism)
  int64_t headDim = 0;
  int64_t dtypeBytes = 2; ///< bf16; 1 for an FP8 cache
  int32_t blockSize = 16; ///< tokens per block
  /// Bytes per (position, kv head) of K or V beside the elements: an FP8
  /// cache's fp32 scale (4).
  int64_t scaleBytes = 0;
};

/// Bytes of one block on one rank: K and V of every layer it holds.
uint64_t kvBytesPerBlock(const KVBlockLayout &layout);

/// What one rank puts on its GPU besides KV blocks.
struct RankMemoryUse {
  uint64_t weightBytes = 0;
  uint64_t activationBytes = 0; ///< arena, workspaces, reserves
  KVBlockLayout kv;
};

/// One GPU and the ranks on it (one rank, or every rank of a plan under
/// --emulate-ranks).
struct DeviceMemory {
  std::string name;        ///< for messages, e.g. "GPU 0"
  uint64_t totalBytes = 0;
  std::vector<RankMemoryUse> ranks;
};

/// KV blocks per replica: the largest N such that on every device,
/// weights + activations + N * (bytes per block of each rank on it) <=
/// utilization * total. An error names the device and the figures when no
/// block fits, or when `utilization` is not in (0, 1].
Expected<int64_t> kvBlocksFromMemory(const std::vector<DeviceMemory> &devices,
                                         double utilization);

/// Checks that `numBlocks` blocks of `blockSize` tokens hold one sequence
/// of `maxModelLen` tokens (else no long request could ever run).
Status checkKVCapacity(int64_t numBlocks, int32_t blockSize,
                           int64_t maxModelLen);

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_KVSIZING_H
