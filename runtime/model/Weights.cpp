//===- Weights.cpp - load a rank's weights onto its GPU -------------------===//

#include "runtime/model/Weights.h"

#include "runtime/model/HostWeights.h"

#include "runtime/kernels/Kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace llmc::rt {

namespace {

/// FP8 codes and their fp32 scales, quantized (or read) on the host by
/// rt::Fp8Source, the one definition llm-run uses too; `threads` weights at
/// a time (random weights and quantizing a float checkpoint are CPU-bound).
Status loadFp8Weights(DeviceRank &rank, const WeightsSpec &spec,
                      const Checkpoint *checkpoint, int threads,
                      const std::vector<bool> &loaded) {
  const Manifest &m = rank.manifest();
  std::vector<size_t> todo;
  for (size_t i = 0; i < m.weights.size(); ++i)
    if (loaded[i] && m.weights[i].dtype != "bf16")
      todo.push_back(i);
  size_t parallel = size_t(std::max(1, threads));
  for (size_t first = 0; first < todo.size(); first += parallel) {
    size_t count = std::min(parallel, todo.size() - first);
    std::vector<std::vector<uint8_t>> host(count);
    std::vector<Status> status(count, Status::ok());
    std::vector<std::thread> pool;
    for (size_t j = 0; j < count; ++j)
      pool.emplace_back([&, j] {
        size_t i = todo[first + j];
        host[j].resize(size_t(m.weightBytes(i)));
        status[j] = hostWeightFp8(m, rank.rank(), i,
                                  spec.random ? nullptr : checkpoint,
                                  spec.seed, host[j].data());
      });
    for (std::thread &t : pool)
      t.join();
    for (size_t j = 0; j < count; ++j) {
      size_t i = todo[first + j];
      if (!status[j])
        return Status::error(rank.describe() + ": " + status[j].message());
      if (!host[j].empty())
        if (cudaError_t e =
                cudaMemcpy(rank.weightStorage(int(i)), host[j].data(),
                           host[j].size(), cudaMemcpyHostToDevice))
          return Status::error(rank.describe() + ": copying weight '" +
                               m.weights[i].name +
                               "' to the GPU: " + cudaGetErrorString(e));
    }
  }
  return Status::ok();
}

} // namespace

Status loadRankWeights(DeviceRank &rank, const WeightsSpec &spec,
                       const Checkpoint *checkpoint, int threads) {
  const Manifest &m = rank.manifest();
  std::vector<bool> loaded = weightsOfRank(m, rank.rank());
  if (Status s = rank.allocateWeights(loaded); !s)
    return Status::error(rank.describe() + ": " + s.message());
  uint64_t total = m.rankWeightBytes(rank.rank()), done = 0;
  bool progress = total > (uint64_t(2) << 30);
  auto start = std::chrono::steady_clock::now();
  auto lastReport = start;
  std::vector<uint16_t> host;
  for (size_t i = 0; i < m.weights.size(); ++i) {
    if (!loaded[i])
      continue;
    size_t n = size_t(numElements(m.weights[i].shape));
    auto *dst = static_cast<bf16 *>(rank.weightStorage(int(i)));
    if (m.weights[i].dtype != "bf16") // FP8 codes and scales: below
      continue;
    if (spec.random) {
      // The device port of the generator: the same bits as the CPU path.
      if (Status s = fillRandomBf16(spec.seed, m.weights[i].name,
                                    m.weights[i].fullShape,
                                    m.sliceFor(rank.rank(), i), dst,
                                    rank.stream());
          !s)
        return Status::error(rank.describe() + ": " + s.message());
      done += n * 2;
      continue;
    }
    host.resize(n);
    if (Status s = hostWeightBf16(m, rank.rank(), i,
                                  spec.random ? nullptr : checkpoint,
                                  spec.seed, host.data(), threads);
        !s)
      return Status::error(rank.describe() + ": " + s.message());
    if (n)
      if (cudaError_t e = cudaMemcpy(dst, host.data(), n * 2,
                                     cudaMemcpyHostToDevice))
        return Status::error(rank.describe() + ": copying weight '" +
                             m.weights[i].name +
                             "' to the GPU: " + cudaGetErrorString(e));
    done += n * 2;
    auto now = std::chrono::steady_clock::now();
    if (progress && (now - lastReport > std::chrono::seconds(5) ||
                     done == total)) {
      lastReport = now;
      std::fprintf(stderr,
                   "llm-model: %s: loaded %.1f of %.1f GiB of weights "
                   "(%.0f s)\n",
                   rank.describe().c_str(), double(done) / (1u << 30),
                   double(total) / (1u << 30),
                   std::chrono::duration<double>(now - start).count());
    }
  }
  if (Status s = loadFp8Weights(rank, spec, checkpoint, threads, loaded); !s)
    return s;
  if (cudaError_t e = cudaStreamSynchronize(rank.stream()))
    return Status::error(rank.describe() + ": generating weights: " +
                         cudaGetErrorString(e));
  return Status::ok();
}

} // namespace llmc::rt
