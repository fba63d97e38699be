//===- BlockPool.cpp - KV cache blocks and the prefix cache ---------------===//

#include "runtime/serve/BlockPool.h"

#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace llmc::serve {

uint64_t hashBlock(uint64_t parent, const int32_t *tokens, int32_t count) {
  uint64_t h = rt::splitmix64(parent ^ uint64_t(uint32_t(count)));
  for (int32_t i = 0; i < count; ++i)
    h = rt::splitmix64(h ^ uint64_t(uint32_t(tokens[i])));
  return h;
}

std::vector<uint64_t> blockHashes(const std::vector<int32_t> &tokens,
                                  int32_t blockSize, int64_t numBlocks) {
  numBlocks = std::min<int64_t>(numBlocks, int64_t(tokens.size()) / blockSize);
  std::vector<uint64_t> out;
  out.reserve(size_t(std::max<int64_t>(numBlocks, 0)));
  uint64_t h = kRootBlockHash;
  for (int64_t b = 0; b < numBlocks; ++b) {
    h = hashBlock(h, tokens.data() + b * blockSize, blockSize);
    out.push_back(h);
  }
  return out;
}

BlockPool::BlockPool(int64_t numBlocks, int32_t blockSize, bool prefixCaching)
    : numBlocks_(numBlocks), blockSize_(blockSize),
      prefixCaching_(prefixCaching), refs_(size_t(numBlocks), 0),
      prev_(size_t(numBlocks) + 1), next_(size_t(numBlocks) + 1),
      inFree_(size_t(numBlocks), 0), cached_(size_t(numBlocks), 0) {
  int32_t sentinel = int32_t(numBlocks_);
  prev_[size_t(sentinel)] = next_[size_t(sentinel)] = sentinel;
  for (int64_t b = 0; b < numBlocks_; ++b)
    pushFreeBack(int32_t(b));
  if (prefixCaching_) {
    hash_.assign(size_t(numBlocks), 0);
    parent_.assign(size_t(numBlocks), 0);
    tokens_.assign(size_t(numBlocks * blockSize), 0);
  }
}

void BlockPool::unlinkFree(int32_t b) {
  assert(inFree_[size_t(b)]);
  next_[size_t(prev_[size_t(b)])] = next_[size_t(b)];
  prev_[size_t(next_[size_t(b)])] = prev_[size_t(b)];
  inFree_[size_t(b)] = 0;
  --numFree_;
  if (cached_[size_t(b)])
    --numCachedFree_;
}

void BlockPool::pushFreeFront(int32_t b) {
  int32_t s = int32_t(numBlocks_);
  prev_[size_t(b)] = s;
  next_[size_t(b)] = next_[size_t(s)];
  prev_[size_t(next_[size_t(s)])] = b;
  next_[size_t(s)] = b;
  inFree_[size_t(b)] = 1;
  ++numFree_;
  if (cached_[size_t(b)])
    ++numCachedFree_;
}

void BlockPool::pushFreeBack(int32_t b) {
  int32_t s = int32_t(numBlocks_);
  next_[size_t(b)] = s;
  prev_[size_t(b)] = prev_[size_t(s)];
  next_[size_t(prev_[size_t(s)])] = b;
  prev_[size_t(s)] = b;
  inFree_[size_t(b)] = 1;
  ++numFree_;
  if (cached_[size_t(b)])
    ++numCachedFree_;
}

void BlockPool::uncache(int32_t b) {
  if (!cached_[size_t(b)])
    return;
  auto it = index_.find(hash_[size_t(b)]);
  if (it != index_.end() && it->second == b)
    index_.erase(it);
  cached_[size_t(b)] = 0;
}

int32_t BlockPool::allocate() {
  int32_t s = int32_t(numBlocks_);
  int32_t b = next_[size_t(s)];
  if (b == s)
    return -1;
  unlinkFree(b);
  uncache(b);
  refs_[size_t(b)] = 1;
  return b;
}

void BlockPool::release(const std::vector<int32_t> &table) {
  // Deepest first: of a sequence's cached blocks, the last ones are the
  // least likely to be shared again, so they are evicted first.
  for (auto it = table.rbegin(); it != table.rend(); ++it) {
    int32_t b = *it;
    assert(refs_[size_t(b)] > 0 && "releasing a free block");
    if (--refs_[size_t(b)] > 0)
      continue;
    if (cached_[size_t(b)])
      pushFreeBack(b);
    else
      pushFreeFront(b);
  }
}

std::vector<int32_t> BlockPool::match(const std::vector<uint64_t> &hashes,
                                      const std::vector<int32_t> &tokens) const {
  std::vector<int32_t> out;
  if (!prefixCaching_)
    return out;
  uint64_t parent = kRootBlockHash;
  for (size_t i = 0; i < hashes.size(); ++i) {
    auto it = index_.find(hashes[i]);
    if (it == index_.end())
      break;
    int32_t b = it->second;
    const int32_t *stored = tokens_.data() + size_t(b) * size_t(blockSize_);
    if (parent_[size_t(b)] != parent ||
        (i + 1) * size_t(blockSize_) > tokens.size() ||
        !std::equal(stored, stored + blockSize_,
                    tokens.begin() + ptrdiff_t(i * size_t(blockSize_))))
      break;
    out.push_back(b);
    parent = hashes[i];
  }
  return out;
}

int64_t BlockPool::countFree(const std::vector<int32_t> &blocks) const {
  int64_t n = 0;
  for (int32_t b : blocks)
    n += refs_[size_t(b)] == 0 ? 1 : 0;
  return n;
}

void BlockPool::acquire(const std::vector<int32_t> &blocks) {
  for (int32_t b : blocks) {
    assert(cached_[size_t(b)] && "acquiring an uncached block");
    if (refs_[size_t(b)]++ == 0)
      unlinkFree(b);
  }
}

void BlockPool::commit(int32_t block, uint64_t parent, uint64_t hash,
                       const int32_t *tokens) {
  if (!prefixCaching_ || cached_[size_t(block)])
    return;
  assert(refs_[size_t(block)] > 0 && "committing a free block");
  if (!index_.emplace(hash, block).second)
    return; // another block holds this content already
  cached_[size_t(block)] = 1;
  hash_[size_t(block)] = hash;
  parent_[size_t(block)] = parent;
  std::copy(tokens, tokens + blockSize_,
            tokens_.begin() + ptrdiff_t(size_t(block) * size_t(blockSize_)));
}

rt::Status BlockPool::checkConsistency() const {
  auto fail = [](const std::string &m) {
    return rt::Status::error("block pool: " + m);
  };
  int64_t listed = 0, cachedFree = 0;
  int32_t s = int32_t(numBlocks_);
  for (int32_t b = next_[size_t(s)]; b != s; b = next_[size_t(b)]) {
    if (b < 0 || b >= s || ++listed > numBlocks_)
      return fail("the free list is corrupt");
    if (refs_[size_t(b)] != 0)
      return fail("block " + std::to_string(b) + " is in the free list with " +
                  std::to_string(refs_[size_t(b)]) + " references");
    if (!inFree_[size_t(b)])
      return fail("block " + std::to_string(b) +
                  " is in the free list but not marked free");
    cachedFree += cached_[size_t(b)] ? 1 : 0;
  }
  if (listed != numFree_)
    return fail("numFree is " + std::to_string(numFree_) + " but " +
                std::to_string(listed) + " blocks are in the free list");
  if (cachedFree != numCachedFree_)
    return fail("numCachedFree is " + std::to_string(numCachedFree_) +
                " but " + std::to_string(cachedFree) +
                " cached blocks are free");
  int64_t cached = 0;
  for (int64_t b = 0; b < numBlocks_; ++b) {
    if (refs_[size_t(b)] < 0)
      return fail("block " + std::to_string(b) + " has a negative count");
    if ((refs_[size_t(b)] == 0) != (inFree_[size_t(b)] != 0))
      return fail("block " + std::to_string(b) + " has " +
                  std::to_string(refs_[size_t(b)]) +
                  " references but its free mark disagrees");
    if (cached_[size_t(b)]) {
      ++cached;
      auto it = index_.find(hash_[size_t(b)]);
      if (it == index_.end() || it->second != int32_t(b))
        return fail("cached block " + std::to_string(b) +
                    " is not indexed under its hash");
    }
  }
  if (cached != int64_t(index_.size()))
    return fail("the hash index has " + std::to_string(index_.size()) +
                " entries for " + std::to_string(cached) + " cached blocks");
  return rt::Status::ok();
}

} // namespace llmc::serve
