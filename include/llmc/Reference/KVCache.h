//===- KVCache.h - per-rank key/value cache of the reference executor -*- C++ -*-===//
//
// One rank's !llm.kv_cache: for each cache slot the rank actually uses, a
// [maxBatch, kv_heads, maxSeq, head_dim] key buffer and value buffer. Slots
// are allocated on first use, so after pipeline splitting a rank only holds
// the slots of its stage's layers.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_KVCACHE_H
#define LLMC_REFERENCE_KVCACHE_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <vector>

namespace llmc::ref {

/// Keys and values of every layer a rank runs, for one generation.
class KVCache {
public:
  /// The keys and values of one cache slot (one decoder layer).
  struct Slot {
    int64_t kvHeads = 0;
    int64_t headDim = 0;
    /// [maxBatch, kvHeads, maxSeq, headDim], row-major.
    std::vector<float> keys, values;
    /// [maxBatch, maxSeq]: whether position p of batch row b was written, so
    /// attention can refuse to read a key that was never stored.
    std::vector<uint8_t> written;
  };

  /// A cache for `maxBatch` sequences of at most `maxSeq` positions.
  KVCache(int64_t maxBatch, int64_t maxSeq)
      : maxBatch_(maxBatch), maxSeq_(maxSeq) {}

  int64_t maxBatch() const { return maxBatch_; }
  int64_t maxSeq() const { return maxSeq_; }

  /// Slot `index`, allocated (zeroed) on first use. Fails if the slot was
  /// first used with a different number of kv heads or head size.
  llvm::Expected<Slot *> slot(int64_t index, int64_t kvHeads, int64_t headDim);

  /// Slot `index`, or nullptr if it was never used.
  Slot *find(int64_t index) {
    auto it = slots_.find(index);
    return it == slots_.end() ? nullptr : &it->second;
  }

  /// Offset of element [row, head, pos, 0] in a slot's key/value buffers.
  int64_t offset(const Slot &s, int64_t row, int64_t head, int64_t pos) const {
    return ((row * s.kvHeads + head) * maxSeq_ + pos) * s.headDim;
  }

  /// Indices of the slots allocated so far, ascending.
  std::vector<int64_t> allocatedSlots() const;

  /// Drops every slot (a new generation starts).
  void clear() { slots_.clear(); }

private:
  int64_t maxBatch_;
  int64_t maxSeq_;
  std::map<int64_t, Slot> slots_;
};

} // namespace llmc::ref

#endif // LLMC_REFERENCE_KVCACHE_H
