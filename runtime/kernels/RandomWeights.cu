//===- RandomWeights.cu - device port of the per-tensor random weights ----===//
//
// Filling an 8B-parameter model on the host and copying it over takes
// minutes; on the device it is one pass at memory speed. The element
// formula is RandomWeights.h's, reproduced bit for bit: integer steps are
// exact, and every float step is the single IEEE operation the CPU does
// (fmaf for the norm case, __fmul_rn elsewhere so nvcc cannot contract it
// into something else), followed by round-to-nearest-even to bf16.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/Common.cuh"
#include "runtime/kernels/Kernels.h"
#include "runtime/weights/RandomWeights.h"

namespace llmc::rt {

namespace {

__device__ __forceinline__ uint64_t splitmix64Device(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <WeightScale Scale>
__global__ void fillRandomKernel(bf16 *out, uint64_t key, float factor,
                                 SliceRuns runs) {
  int64_t n = runs.count * runs.length;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n;
       e += int64_t(gridDim.x) * blockDim.x) {
    int64_t run = e / runs.length, i = e - run * runs.length;
    uint64_t flat = uint64_t(runs.start + run * runs.stride + i);
    uint64_t bits = splitmix64Device(key + flat * 0x9E3779B97F4A7C15ull);
    float u =
        __fmul_rn(float(int32_t(bits >> 40) - (int32_t(1) << 23)), 0x1p-23f);
    float v;
    if constexpr (Scale == WeightScale::Norm)
      v = fmaf(0.1f, u, 1.0f);
    else if constexpr (Scale == WeightScale::Bias)
      v = __fmul_rn(0.1f, u);
    else if constexpr (Scale == WeightScale::InputScale)
      v = 0x1p-5f;
    else
      v = __fmul_rn(u, factor);
    out[e] = __float2bfloat16_rn(v);
  }
}

} // namespace

Status fillRandomBf16(uint64_t seed, std::string_view name,
                      const std::vector<int64_t> &fullShape,
                      const std::optional<Slice> &slice, bf16 *out,
                      cudaStream_t stream) {
  if (Status s = checkRandomRequest(name, fullShape, slice); !s)
    return s;
  RandomTensorParams params(seed, name, fullShape);
  SliceRuns runs = sliceRuns(fullShape, slice ? &*slice : nullptr);
  int64_t n = runs.count * runs.length;
  if (n == 0)
    return Status::ok();
  int threads = 256;
  int64_t blocks = (n + threads - 1) / threads;
  int64_t cap = int64_t(cuda::smCount()) * 16;
  int grid = int(blocks < cap ? blocks : cap);
  switch (params.scale) {
  case WeightScale::Norm:
    fillRandomKernel<WeightScale::Norm>
        <<<grid, threads, 0, stream>>>(out, params.key, params.factor, runs);
    break;
  case WeightScale::Bias:
    fillRandomKernel<WeightScale::Bias>
        <<<grid, threads, 0, stream>>>(out, params.key, params.factor, runs);
    break;
  case WeightScale::InputScale:
    fillRandomKernel<WeightScale::InputScale>
        <<<grid, threads, 0, stream>>>(out, params.key, params.factor, runs);
    break;
  case WeightScale::FanIn:
    fillRandomKernel<WeightScale::FanIn>
        <<<grid, threads, 0, stream>>>(out, params.key, params.factor, runs);
    break;
  }
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess)
    return Status::error("random tensor '" + std::string(name) +
                         "': kernel launch failed: " + cudaGetErrorString(e));
  return Status::ok();
}

} // namespace llmc::rt
