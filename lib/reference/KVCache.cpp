//===- KVCache.cpp - per-rank key/value cache of the reference executor ---===//

#include "llmc/Reference/KVCache.h"

using llvm::createStringError;
using llvm::Expected;

namespace llmc::ref {

Expected<KVCache::Slot *> KVCache::slot(int64_t index, int64_t kvHeads,
                                        int64_t headDim) {
  auto it = slots_.find(index);
  if (it == slots_.end()) {
    Slot s;
    s.kvHeads = kvHeads;
    s.headDim = headDim;
    size_t n = size_t(maxBatch_ * kvHeads * maxSeq_ * headDim);
    s.keys.assign(n, 0.0f);
    s.values.assign(n, 0.0f);
    s.written.assign(size_t(maxBatch_ * maxSeq_), 0);
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
