//===- DeviceRank.h - the runtime's implementation of Rank ------*- C++ -*-===//
//
// One rank's GPU state: stream, cuBLASLt handle and workspace, the per-step
// arena, its weights and KV cache, its communicators (the world and one per
// grid axis) and the scratch buffers of the communication ops. Created by
// the generation driver (Generate.cpp) from the manifest, or standalone for
// kernel tests (createStandaloneRank).
//
// Arena allocations remember their element size, so the communication ops
// of Ops.h, whose Act carries no dtype, move bf16 activations and fp32
// buffers (allocF32: logits, router weights, expert ids) correctly.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_MODEL_DEVICERANK_H
#define LLMC_RUNTIME_MODEL_DEVICERANK_H

#include "runtime/abi/Rank.h"
#include "runtime/comm/Communicator.h"
#include "runtime/model/Manifest.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llmc::rt {

/// A cudaMalloc'd buffer, freed on destruction.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;

  /// Allocates `bytes` (replacing what was held); the message names `what`.
  Status allocate(size_t bytes, const std::string &what);
  void *data() const { return data_; }
  size_t size() const { return size_; }

private:
  void *data_ = nullptr;
  size_t size_ = 0;
};

/// Pinned (page-locked) host memory, for asynchronous copies.
class PinnedBuffer {
public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer &) = delete;
  PinnedBuffer &operator=(const PinnedBuffer &) = delete;
  /// Grows to at least `bytes`; contents are not kept.
  Status reserve(size_t bytes);
  void *data() const { return data_; }
  size_t size() const { return size_; }

private:
  void *data_ = nullptr;
  size_t size_ = 0;
};

/// Scratch buffers the communication ops keep between calls.
enum class ScratchSlot {
  GatherCols,    ///< allGather along dim 1
  Counts,        ///< expert dispatch: count exchange
  SendRows,      ///< expert dispatch: packed rows
  SendRecords,   ///< expert dispatch: packed routing records
  RecvRecords,   ///< expert dispatch: received records
  Order,         ///< expert dispatch: send order
  Position,      ///< expert dispatch/combine: where each choice went
  CombineRows,   ///< expert combine: returned rows
  StepInputs,    ///< generation loop: ids and positions (pinned)
  StepNext,      ///< generation loop: every rank's next ids (pinned)
  StepLogits,    ///< generation loop: logits for --dump-logits (pinned)
  Count
};

/// What expertCombine needs from the matching expertDispatch.
struct ExpertRoute {
  bool valid = false;
  int64_t tokens = 0, k = 0, h = 0, received = 0;
  std::vector<size_t> sendCounts, recvCounts; ///< rows per member
  const int32_t *position = nullptr;          ///< device [tokens * k]
};

/// The runtime's Rank.
class DeviceRank final : public Rank {
public:
  /// Called with the full message before the process stops.
  using FailHook = std::function<void(const std::string &)>;

  /// Creates the rank's stream, cuBLASLt handle, workspace and arena on the
  /// current device. `manifest` must outlive the rank.
  static Expected<std::unique_ptr<DeviceRank>>
  create(const Manifest &manifest, int rank, size_t arenaBytes,
         size_t workspaceBytes = size_t(32) << 20);
  ~DeviceRank() override;

  // Rank.
  int rank() const override { return rank_; }
  int worldSize() const override;
  int coord(int axis) const override;
  int axisSize(int axis) const override;
  cudaStream_t stream() const override { return stream_; }
  cublasLtHandle_t lt() const override { return lt_; }
  void *workspace() const override { return workspace_.data(); }
  size_t workspaceBytes() const override { return workspace_.size(); }
  void *arenaAlloc(size_t bytes) override;
  Weight weightAt(int index) override;
  CacheView cache(int slot) override;
  Communicator &comm() override;
  [[noreturn]] void fail(const std::string &message) override;

  /// Arena allocation remembering the element size (2: bf16, 4: fp32 or
  /// int32, 8: int64).
  void *arenaAllocTyped(size_t bytes, size_t elementSize);
  /// Starts a new step: releases every arena allocation.
  void resetArena();
  /// Records that [data, data + bytes) holds elements of `elementSize`
  /// bytes (runtime-owned buffers handed to the generated code: logits).
  void registerBuffer(const void *data, size_t bytes, size_t elementSize);
  /// Element size of the arena allocation or registered buffer holding
  /// `data`; 2 (bf16) when unknown.
  size_t elementSize(const void *data) const;

  /// Installs the communicators: the world and one per grid axis (in the
  /// manifest's axis order, members ordered by coordinate).
  void setCommunicators(std::unique_ptr<Communicator> world,
                        std::vector<std::unique_ptr<Communicator>> axes);
  /// The communicator along grid axis `axis`; fails the rank if absent.
  Communicator &axisComm(int axis);
  bool hasCommunicators() const { return world_ != nullptr; }

  /// Allocates one device buffer for the weights marked in `loaded`
  /// (indexed like the manifest's weights).
  Status allocateWeights(const std::vector<bool> &loaded);
  /// Device memory of weight `index` (nullptr when not loaded here).
  void *weightStorage(int index) const;
  /// Allocates the KV cache of the rank's stage (zeroed).
  Status allocateCache();
  /// Allocates the paged KV cache of the rank's stage instead (serving):
  /// per layer slot, K and V of `numBlocks` blocks of `blockSize` tokens;
  /// cache() then returns paged views (CacheView::blockSize > 0) whose
  /// maxBatch is `maxSeqsPerCall` (0: the manifest's cacheBatch()).
  Status allocatePagedCache(int64_t numBlocks, int64_t blockSize,
                            int64_t maxSeqsPerCall = 0);

  /// A persistent device scratch buffer of at least `bytes` (grown on
  /// demand after draining the stream).
  void *scratch(ScratchSlot slot, size_t bytes);
  /// Pinned host staging for asynchronous copies.
  void *pinned(ScratchSlot slot, size_t bytes);
  /// The pending expert route along `axis`.
  ExpertRoute &route(int axis);

  /// Waits for the stream with the communicators' timeout and error
  /// polling; fails the rank on error.
  void sync(double timeoutSeconds = 0);

  /// Fails the rank when `e` is an error; `what` names the call.
  void check(cudaError_t e, const char *what);
  void check(const Status &s);

  /// Called (once) before the process exits in fail().
  void setFailHook(FailHook hook) { failHook_ = std::move(hook); }
  const Manifest &manifest() const { return manifest_; }
  /// "rank 3 (pp=1,tp=1)".
  std::string describe() const;

private:
  DeviceRank(const Manifest &manifest, int rank);
  /// Allocates and zeroes `bytes` of cache for the rank's layer slots.
  Status allocateCacheBytes(size_t bytes, const std::string &what);

  const Manifest &manifest_;
  int rank_;
  std::vector<int64_t> coords_;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  DeviceBuffer workspace_;
  DeviceBuffer arena_;
  size_t arenaUsed_ = 0;
  /// Arena allocations and registered buffers: start -> (bytes, elem size).
  std::map<uintptr_t, std::pair<size_t, size_t>> typed_;
  std::map<uintptr_t, std::pair<size_t, size_t>> registered_;
  DeviceBuffer weights_;
  std::vector<size_t> weightOffsets_; ///< SIZE_MAX: not loaded here
  DeviceBuffer cache_;
  std::pair<int64_t, int64_t> slots_{0, 0};
  int64_t pagedBlocks_ = 0, pagedBlockSize_ = 0; ///< 0: contiguous cache
  int64_t pagedMaxBatch_ = 0; ///< sequences of one call; 0: cacheBatch()
  std::unique_ptr<Communicator> world_;
  std::vector<std::unique_ptr<Communicator>> axes_;
  DeviceBuffer scratch_[size_t(ScratchSlot::Count)];
  PinnedBuffer pinned_[size_t(ScratchSlot::Count)];
  std::map<int, ExpertRoute> routes_;
  FailHook failHook_;
};

/// A rank of a one-rank plan without a manifest file, for kernel tests:
/// arena of `arenaBytes`, no weights, no cache, an in-process world of one.
Expected<std::unique_ptr<DeviceRank>>
createStandaloneRank(size_t arenaBytes);

/// The DeviceRank behind `r`; fails `r` when it is another implementation.
DeviceRank &deviceRank(Rank &r);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_MODEL_DEVICERANK_H
