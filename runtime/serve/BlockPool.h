//===- BlockPool.h - KV cache blocks and the prefix cache -------*- C++ -*-===//
//
// One replica's KV cache as a pool of fixed-size blocks: sequences hold
// blocks through their block tables and the pool counts references. With
// prefix caching, a block whose tokens are all computed is committed under
// a content hash chained over every token before it (the hash of block i
// mixes the hash of block i-1 with block i's tokens, as vLLM's), so a
// later sequence with the same prefix takes a reference to it instead of
// recomputing it. Free blocks wait in one LRU list: uncached ones are
// reused first, cached ones stay findable until allocate() evicts the
// least recently freed (the deepest block of a sequence before its
// prefix). A hit compares the stored tokens and parent hash too, so a hash
// collision cannot share a wrong block.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_BLOCKPOOL_H
#define LLMC_RUNTIME_SERVE_BLOCKPOOL_H

#include "runtime/abi/Status.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace llmc::serve {

/// The hash chain's value before the first block.
constexpr uint64_t kRootBlockHash = 0x6c6c6d632d6b7631ull; // "llmc-kv1"

/// Hash of a full block of `count` tokens whose prefix hashes to `parent`.
uint64_t hashBlock(uint64_t parent, const int32_t *tokens, int32_t count);

/// Chained hashes of the first `numBlocks` full blocks of `tokens`.
std::vector<uint64_t> blockHashes(const std::vector<int32_t> &tokens,
                                  int32_t blockSize, int64_t numBlocks);

class BlockPool {
public:
  BlockPool(int64_t numBlocks, int32_t blockSize, bool prefixCaching);

  int64_t numBlocks() const { return numBlocks_; }
  int32_t blockSize() const { return blockSize_; }
  bool prefixCaching() const { return prefixCaching_; }
  /// Blocks no sequence holds (allocate() can hand them out).
  int64_t numFree() const { return numFree_; }
  /// Blocks some sequence holds.
  int64_t numUsed() const { return numBlocks_ - numFree_; }
  /// Free blocks that are still findable in the prefix cache.
  int64_t numCachedFree() const { return numCachedFree_; }

  /// A block for writing, with one reference; evicts the least recently
  /// freed cached block when no uncached block is free. -1 when every
  /// block is held.
  int32_t allocate();

  /// Drops one reference to each block of `table` (a sequence's block
  /// table in position order, when it finishes, is cancelled or
  /// preempted). Blocks left without references become free.
  void release(const std::vector<int32_t> &table);

  /// The cached blocks holding the longest prefix of `tokens` whose full
  /// blocks hash to `hashes` (from blockHashes), in order; takes no
  /// reference. Empty without prefix caching.
  std::vector<int32_t> match(const std::vector<uint64_t> &hashes,
                             const std::vector<int32_t> &tokens) const;
  /// How many of `blocks` (from match) are free now: taking them lowers
  /// numFree() by that much.
  int64_t countFree(const std::vector<int32_t> &blocks) const;
  /// Takes one reference to each of `blocks` (from match).
  void acquire(const std::vector<int32_t> &blocks);

  /// Block `block` (held) now holds `blockSize()` computed tokens,
  /// `tokens`, whose chained hash is `hash` and whose prefix hashes to
  /// `parent`: it becomes findable, unless another block already holds
  /// the same content (then this one stays private). No-op without prefix
  /// caching.
  void commit(int32_t block, uint64_t parent, uint64_t hash,
              const int32_t *tokens);

  int32_t refCount(int32_t block) const { return refs_[size_t(block)]; }
  /// Whether `block` is committed (findable, never written again).
  bool isCached(int32_t block) const { return cached_[size_t(block)] != 0; }

  /// Checks the pool's own bookkeeping (the free list, its counts, the
  /// hash index); for tests.
  rt::Status checkConsistency() const;

private:
  void unlinkFree(int32_t block);
  void pushFreeFront(int32_t block);
  void pushFreeBack(int32_t block);
  void uncache(int32_t block);

  int64_t numBlocks_;
  int32_t blockSize_;
  bool prefixCaching_;
  int64_t numFree_ = 0;
  int64_t numCachedFree_ = 0;
  std::vector<int32_t> refs_;
  /// Free list, a doubly linked list through these arrays; index
  /// numBlocks_ is the sentinel. Front: allocated first.
  std::vector<int32_t> prev_, next_;
  std::vector<uint8_t> inFree_;
  // Prefix cache: per block, whether committed, its hash and parent hash,
  // its tokens ([numBlocks, blockSize]); hash -> block.
  std::vector<uint8_t> cached_;
  std::vector<uint64_t> hash_, parent_;
  std::vector<int32_t> tokens_;
  std::unordered_map<uint64_t, int32_t> index_;
};

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_BLOCKPOOL_H
