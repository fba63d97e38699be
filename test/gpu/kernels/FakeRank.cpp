//===- FakeRank.cpp - a minimal Rank for kernel tests ---------------------===//

#include "test/gpu/kernels/FakeRank.h"

#include <cstdlib>

namespace llmc::test {

namespace {

void check(cudaError_t e, const char *what) {
  if (e != cudaSuccess)
    throw RankFailure(std::string(what) + ": " + cudaGetErrorString(e));
}

} // namespace

FakeRank::FakeRank(size_t arenaBytes, size_t workspaceBytes)
    : workspaceBytes_(workspaceBytes), arenaBytes_(arenaBytes) {
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
        "cudaStreamCreate");
  if (cublasLtCreate(&lt_) != CUBLAS_STATUS_SUCCESS)
    throw RankFailure("cublasLtCreate failed");
  check(cudaMalloc(&workspace_, workspaceBytes_), "cudaMalloc workspace");
  check(cudaMalloc(reinterpret_cast<void **>(&arena_), arenaBytes_),
        "cudaMalloc arena");
}

FakeRank::~FakeRank() {
  cudaFree(arena_);
  cudaFree(workspace_);
  cublasLtDestroy(lt_);
  cudaStreamDestroy(stream_);
}

void *FakeRank::arenaAlloc(size_t bytes) {
  size_t start = (used_ + 255) / 256 * 256;
  if (start + bytes > arenaBytes_)
    fail("arena exhausted: " + std::to_string(bytes) + " bytes asked, " +
         std::to_string(arenaBytes_ - start) + " left");
  used_ = start + bytes;
  return arena_ + start;
}

rt::Weight FakeRank::weightAt(int index) {
  if (index < 0 || size_t(index) >= weights_.size())
    fail("no weight " + std::to_string(index));
  return weights_[size_t(index)];
}

int FakeRank::addWeight(const rt::Weight &w) {
  weights_.push_back(w);
  return int(weights_.size()) - 1;
}

rt::CacheView FakeRank::cache(int slot) {
  auto it = caches_.find(slot);
  return it == caches_.end() ? rt::CacheView{} : it->second;
}

rt::Communicator &FakeRank::comm() {
  fail("kernel tests have no communicator");
  std::abort(); // not reached
}

void FakeRank::fail(const std::string &message) {
  throw RankFailure("rank 0: " + message);
}

} // namespace llmc::test
