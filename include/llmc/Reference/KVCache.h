//===- KVCache.h - per-rank key/value cache of the reference executor -*- C++ -*-===//
//
// One rank's !llm.kv_cache. Positions live in pages: a contiguous cache
// (llm-run's static generation) gives batch row r one page of maxSeq
// positions; a paged cache (llm-run serve) has numBlocks pages of
// blockSize positions, and each batch row of a call reads and writes
// through its own block table, set before the call (setBlockTables), as
// the serving scheduler hands them out. For every cache slot the rank
// actually uses, a [pages, kv_heads, pageSize, head_dim] key buffer and
// value buffer; slots are allocated on first use, so after pipeline
// splitting a rank only holds the slots of its stage's layers.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_KVCACHE_H
#define LLMC_REFERENCE_KVCACHE_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <vector>

namespace llmc::ref {

/// Keys and values of every layer a rank runs.
class KVCache {
public:
  /// The keys and values of one cache slot (one decoder layer).
  struct Slot {
    int64_t kvHeads = 0;
    int64_t headDim = 0;
    /// [pages, kvHeads, pageSize, headDim], row-major.
    std::vector<float> keys, values;
    /// [pages, pageSize]: whether a position was written, so attention can
    /// refuse to read a key that was never stored.
    std::vector<uint8_t> written;
  };

  /// A contiguous cache for `maxBatch` sequences of at most `maxSeq`
  /// positions (row r is page r).
  KVCache(int64_t maxBatch, int64_t maxSeq)
      : maxBatch_(maxBatch), pages_(maxBatch), pageSize_(maxSeq) {}

  /// A paged cache of `numBlocks` blocks of `blockSize` positions; rows
  /// exist only once setBlockTables gave them tables.
  static KVCache paged(int64_t numBlocks, int64_t blockSize);

  /// Paged caches: this call's rows. Row r's position p lives in block
  /// `tables[r][p / blockSize]`; row r holds positions [0, lengths[r])
  /// (attention reads no further, so stale keys a reused block still holds
  /// past a sequence's end are never seen). Block ids must be in range
  /// (the caller validated the step plan).
  void setBlockTables(std::vector<std::vector<int32_t>> tables,
                      std::vector<int64_t> lengths);

  bool isPaged() const { return paged_; }
  /// Batch rows a call may use.
  int64_t maxBatch() const { return maxBatch_; }
  /// Positions row `row` can store (its table's span when paged).
  int64_t capacity(int64_t row) const;
  /// Positions [0, length(row)) of row `row` that attention may read.
  int64_t length(int64_t row) const;

  /// Slot `index`, allocated (zeroed) on first use. Fails if the slot was
  /// first used with a different number of kv heads or head size.
  llvm::Expected<Slot *> slot(int64_t index, int64_t kvHeads, int64_t headDim);

  /// Slot `index`, or nullptr if it was never used.
  Slot *find(int64_t index) {
    auto it = slots_.find(index);
    return it == slots_.end() ? nullptr : &it->second;
  }

  /// Index of (row, pos) in a slot's `written` (pos < capacity(row)).
  int64_t positionIndex(int64_t row, int64_t pos) const {
    int64_t page = paged_ ? tables_[size_t(row)][size_t(pos / pageSize_)] : row;
    return page * pageSize_ + pos % pageSize_;
  }
  /// Offset of element [row, head, pos, 0] in a slot's key/value buffers.
  int64_t offset(const Slot &s, int64_t row, int64_t head, int64_t pos) const {
    int64_t index = positionIndex(row, pos);
    int64_t page = index / pageSize_;
    return ((page * s.kvHeads + head) * pageSize_ + index % pageSize_) *
           s.headDim;
  }
  /// Distance between two kv heads' vectors of one position.
  int64_t headStride(const Slot &s) const { return pageSize_ * s.headDim; }

  /// Indices of the slots allocated so far, ascending.
  std::vector<int64_t> allocatedSlots() const;

  /// Drops every slot (a new generation starts).
  void clear() { slots_.clear(); }

private:
  int64_t maxBatch_;
  int64_t pages_;
  int64_t pageSize_;
  bool paged_ = false;
  std::vector<std::vector<int32_t>> tables_;
  std::vector<int64_t> lengths_;
  std::map<int64_t, Slot> slots_;
};

} // namespace llmc::ref

#endif // LLMC_REFERENCE_KVCACHE_H
