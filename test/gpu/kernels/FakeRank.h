//===- FakeRank.h - a minimal Rank for kernel tests -------------*- C++ -*-===//
//
// The kernel tests exercise runtime/kernels and runtime/gemm without the
// host runtime (DeviceRank, communicators, manifest): one stream, one cuBLASLt
// handle and workspace, a bump arena, weights and cache slots registered by
// the test, and fail() throwing so tests can check error messages.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_GPU_KERNELS_FAKERANK_H
#define LLMC_TEST_GPU_KERNELS_FAKERANK_H

#include "runtime/abi/Rank.h"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace llmc::test {

/// What FakeRank::fail throws.
struct RankFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class FakeRank : public rt::Rank {
public:
  FakeRank(size_t arenaBytes, size_t workspaceBytes);
  ~FakeRank() override;

  int rank() const override { return 0; }
  int worldSize() const override { return 1; }
  int coord(int) const override { return 0; }
  int axisSize(int) const override { return 1; }

  cudaStream_t stream() const override { return stream_; }
  cublasLtHandle_t lt() const override { return lt_; }
  void *workspace() const override { return workspace_; }
  size_t workspaceBytes() const override { return workspaceBytes_; }

  void *arenaAlloc(size_t bytes) override;
  /// Frees everything arenaAlloc handed out (the end of a "step").
  void resetArena() { used_ = 0; }

  rt::Weight weightAt(int index) override;
  /// Registers a weight; returns its index.
  int addWeight(const rt::Weight &w);
  void clearWeights() { weights_.clear(); }

  rt::CacheView cache(int slot) override;
  void setCache(int slot, const rt::CacheView &view) { caches_[slot] = view; }

  rt::Communicator &comm() override;
  [[noreturn]] void fail(const std::string &message) override;

private:
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void *workspace_ = nullptr;
  size_t workspaceBytes_ = 0;
  char *arena_ = nullptr;
  size_t arenaBytes_ = 0, used_ = 0;
  std::vector<rt::Weight> weights_;
  std::map<int, rt::CacheView> caches_;
};

} // namespace llmc::test

#endif // LLMC_TEST_GPU_KERNELS_FAKERANK_H
