//===- Rank.h - one rank's execution context -----------------------*- C++ -*-===//
//
// Everything a kernel wrapper in Ops.h needs from the rank it runs on: its
// grid coordinates, CUDA stream and cuBLASLt handle, the per-step scratch
// arena, its weights and KV cache, and its communicator. Implemented by
// DeviceRank (runtime/model/DeviceRank.h); one Rank per process (NCCL) or
// per thread (--emulate-ranks, all ranks on one GPU).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ABI_RANK_H
#define LLMC_RUNTIME_ABI_RANK_H

#include "runtime/abi/Ops.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace llmc::rt {

class Communicator; // runtime/comm/Communicator.h

/// Device KV cache of one layer slot, K and V. Contiguous
/// (blockSize == 0): [maxBatch, kvHeads, maxSeq, headDim]. Paged (serving,
/// blockSize > 0): [numBlocks, kvHeads, blockSize, headDim], addressed
/// through Step::blockTables; maxBatch is then the most sequences of one
/// call and maxSeq the longest sequence. `k == nullptr` when this rank does
/// not hold the slot.
struct CacheView {
  /// bf16 values, or E4M3 codes (one byte each) when `fp8`.
  void *k = nullptr;
  void *v = nullptr;
  int64_t maxBatch = 0, kvHeads = 0, maxSeq = 0, headDim = 0;
  int64_t blockSize = 0, numBlocks = 0;
  /// FP8 cache (docs/quantization.md): one fp32 scale per (position, kv
  /// head) of K and of V, laid out as the codes with headDim 1; position j
  /// of a head means code * scale.
  bool fp8 = false;
  float *kScale = nullptr;
  float *vScale = nullptr;
};

class Rank {
public:
  virtual ~Rank() = default;

  /// Linear rank and world size of the plan's grid.
  virtual int rank() const = 0;
  virtual int worldSize() const = 0;
  /// Coordinate and size along grid axis `axis` (manifest order).
  virtual int coord(int axis) const = 0;
  virtual int axisSize(int axis) const = 0;

  virtual cudaStream_t stream() const = 0;
  virtual cublasLtHandle_t lt() const = 0;
  /// cuBLASLt workspace on the device.
  virtual void *workspace() const = 0;
  virtual size_t workspaceBytes() const = 0;

  /// Scratch memory valid until the end of the current step (256-byte
  /// aligned); aborts with a message naming the rank when the arena, sized
  /// from the manifest, is exhausted.
  virtual void *arenaAlloc(size_t bytes) = 0;

  /// Weight `index` of the manifest as loaded on this rank.
  virtual Weight weightAt(int index) = 0;
  /// KV cache of layer slot `slot`.
  virtual CacheView cache(int slot) = 0;

  virtual Communicator &comm() = 0;

  /// Reports a fatal error naming this rank and stops the process (all
  /// ranks of an emulated plan); never returns.
  [[noreturn]] virtual void fail(const std::string &message) = 0;
};

} // namespace llmc::rt

#endif // LLMC_RUNTIME_ABI_RANK_H
