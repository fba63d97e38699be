//===- KVCache.cpp - per-rank key/value cache of the reference executor ---===//

#include "llmc/Reference/KVCache.h"

using llvm::createStringError;
using llvm::Expected;

namespace llmc::ref {

KVCache KVCache::paged(int64_t numBlocks, int64_t blockSize) {
  KVCache cache(0, blockSize);
  cache.pages_ = numBlocks;
  cache.paged_ = true;
  return cache;
}

void KVCache::setBlockTables(std::vector<std::vector<int32_t>> tables,
                             std::vector<int64_t> lengths) {
  maxBatch_ = int64_t(tables.size());
  tables_ = std::move(tables);
  lengths_ = std::move(lengths);
}

int64_t KVCache::capacity(int64_t row) const {
  return paged_ ? int64_t(tables_[size_t(row)].size()) * pageSize_ : pageSize_;
}

int64_t KVCache::length(int64_t row) const {
  return paged_ ? lengths_[size_t(row)] : pageSize_;
}

Expected<KVCache::Slot *> KVCache::slot(int64_t index, int64_t kvHeads,
                                        int64_t headDim) {
  auto it = slots_.find(index);
  if (it == slots_.end()) {
    Slot s;
    s.kvHeads = kvHeads;
    s.headDim = headDim;
    size_t n = size_t(pages_ * kvHeads * pageSize_ * headDim);
    s.keys.assign(n, 0.0f);
    s.values.assign(n, 0.0f);
    s.written.assign(size_t(pages_ * pageSize_), 0);
    it = slots_.emplace(index, std::move(s)).first;
  }
  Slot &s = it->second;
  if (s.kvHeads != kvHeads || s.headDim != headDim)
    return createStringError("KV cache slot %lld holds %lld kv heads of size "
                             "%lld, but an attention uses %lld of size %lld",
                             (long long)index, (long long)s.kvHeads,
                             (long long)s.headDim, (long long)kvHeads,
                             (long long)headDim);
  return &s;
}

std::vector<int64_t> KVCache::allocatedSlots() const {
  std::vector<int64_t> out;
  for (const auto &[index, slot] : slots_)
    out.push_back(index);
  return out;
}

} // namespace llmc::ref
