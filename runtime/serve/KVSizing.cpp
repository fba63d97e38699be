//===- KVSizing.cpp - how many KV blocks fit in GPU memory ----------------===//

#include "runtime/serve/KVSizing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace llmc::serve {

namespace {

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f GiB", bytes / double(1ull << 30));
  return buf;
}

} // namespace

uint64_t kvBytesPerBlock(const KVBlockLayout &l) {
  return 2ull * uint64_t(l.layers) * uint64_t(l.kvHeads) *
         uint64_t(l.blockSize) *
         (uint64_t(l.headDim) * uint64_t(l.dtypeBytes) +
          uint64_t(l.scaleBytes));
}

rt::Expected<int64_t> kvBlocksFromMemory(const std::vector<DeviceMemory> &devices,
                                         double utilization) {
  using R = rt::Expected<int64_t>;
  if (!(utilization > 0.0 && utilization <= 1.0))
    return R::fromError(rt::Status::error(
        "--gpu-memory-utilization is " + std::to_string(utilization) +
        "; it must be in (0, 1] (the fraction of each GPU's memory to use)"));
  int64_t best = std::numeric_limits<int64_t>::max();
  for (const DeviceMemory &d : devices) {
    double usable = std::floor(utilization * double(d.totalBytes));
    double weights = 0, activations = 0;
    uint64_t perBlock = 0;
    for (const RankMemoryUse &r : d.ranks) {
      weights += double(r.weightBytes);
      activations += double(r.activationBytes);
      perBlock += kvBytesPerBlock(r.kv);
    }
    double left = usable - weights - activations;
    if (left < double(perBlock) || perBlock == 0) {
      if (perBlock == 0 && left >= 0)
        continue; // this device holds no attention layer
      char util[16];
      std::snprintf(util, sizeof(util), "%.2f", utilization);
      return R::fromError(rt::Status::error(
          d.name + ": " + util + " x " + gib(double(d.totalBytes)) + " = " +
          gib(usable) + " leaves " + (left > 0 ? gib(left) : "nothing") +
          " for the KV cache after weights " + gib(weights) +
          " and activations " + gib(activations) + ", but one KV block takes " +
          gib(double(perBlock)) +
          "; raise --gpu-memory-utilization (now " + util +
          "), or use more GPUs (more tp or pp)"));
    }
    best = std::min<int64_t>(best, int64_t(left / double(perBlock)));
  }
  if (best == std::numeric_limits<int64_t>::max())
    return R::fromError(rt::Status::error(
        "no rank holds an attention layer, so no KV block size is defined"));
  return best;
}

rt::Status checkKVCapacity(int64_t numBlocks, int32_t blockSize,
                           int64_t maxModelLen) {
  if (numBlocks * int64_t(blockSize) >= maxModelLen)
    return rt::Status::ok();
  return rt::Status::error(
      "the KV cache holds " + std::to_string(numBlocks) + " blocks of " +
      std::to_string(blockSize) + " tokens = " +
      std::to_string(numBlocks * blockSize) +
      " tokens per replica, fewer than one sequence of the max model "
      "length " + std::to_string(maxModelLen) +
      "; lower --max-model-len or raise --gpu-memory-utilization");
}

} // namespace llmc::serve
