//===- CommKernels.cu - small kernels the communicators need --------------===//
//
// Memory-bound loops with grid-stride indexing; none is on a hot path of a
// real multi-GPU run except the expert packing, which moves each routed row
// once.
//
//===----------------------------------------------------------------------===//

#include "runtime/comm/CommKernels.h"

#include <cuda_bf16.h>

#include <algorithm>

namespace llmc::rt {

namespace {

struct SumArgs {
  void *dsts[kMaxSumMembers];
  const void *srcs[kMaxSumMembers];
};

template <class T> struct Acc {
  using type = T;
};
template <> struct Acc<__nv_bfloat16> {
  using type = float;
};

template <class T> __device__ typename Acc<T>::type load(const T &v) {
  return v;
}
template <> __device__ float load(const __nv_bfloat16 &v) {
  return __bfloat162float(v);
}
template <class T> __device__ T store(typename Acc<T>::type v) { return T(v); }
template <> __device__ __nv_bfloat16 store(float v) {
  return __float2bfloat16_rn(v);
}

template <class T>
__global__ void orderedSum(SumArgs args, int n, size_t count) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += size_t(gridDim.x) * blockDim.x) {
    typename Acc<T>::type acc = load(static_cast<const T *>(args.srcs[0])[i]);
    for (int j = 1; j < n; ++j)
      acc = acc + load(static_cast<const T *>(args.srcs[j])[i]);
    T v = store<T>(acc);
    for (int j = 0; j < n; ++j)
      static_cast<T *>(args.dsts[j])[i] = v;
  }
}

unsigned blocksFor(size_t work, unsigned threads) {
  size_t blocks = (work + threads - 1) / threads;
  return unsigned(std::max<size_t>(1, std::min<size_t>(blocks, 65535)));
}

__global__ void packDispatch(const __nv_bfloat16 *in, const float *weights,
                             const int32_t *ids, const int32_t *order,
                             int64_t n, int64_t k, int64_t h,
                             __nv_bfloat16 *rows, RouteRecord *records) {
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    int32_t flat = order[i];
    const __nv_bfloat16 *src = in + int64_t(flat / k) * h;
    __nv_bfloat16 *dst = rows + i * h;
    for (int64_t j = threadIdx.x; j < h; j += blockDim.x)
      dst[j] = src[j];
    if (threadIdx.x == 0)
      records[i] = RouteRecord{weights[flat], ids[flat]};
  }
}

__global__ void unpackRecords(const RouteRecord *records, int64_t n,
                              int64_t capacity, int64_t h, float *weights,
                              int32_t *ids, __nv_bfloat16 *tokens) {
  for (int64_t i = blockIdx.x; i < capacity; i += gridDim.x) {
    if (i < n) {
      if (threadIdx.x == 0) {
        weights[i] = records[i].weight;
        ids[i] = records[i].expert;
      }
      continue;
    }
    if (threadIdx.x == 0) {
      weights[i] = 0.f;
      ids[i] = -1;
    }
    for (int64_t j = threadIdx.x; j < h; j += blockDim.x)
      tokens[i * h + j] = __float2bfloat16_rn(0.f);
  }
}

__global__ void combineSum(const __nv_bfloat16 *back, const int32_t *position,
                           int64_t tokens, int64_t k, int64_t h,
                           __nv_bfloat16 *out) {
  for (int64_t t = blockIdx.x; t < tokens; t += gridDim.x)
    for (int64_t j = threadIdx.x; j < h; j += blockDim.x) {
      float acc = 0.f;
      for (int64_t c = 0; c < k; ++c)
        acc += __bfloat162float(back[int64_t(position[t * k + c]) * h + j]);
      out[t * h + j] = __float2bfloat16_rn(acc);
    }
}

} // namespace

cudaError_t launchOrderedSum(void *const *dsts, const void *const *srcs, int n,
                             size_t count, DataType type, cudaStream_t stream) {
  if (n < 1 || n > kMaxSumMembers)
    return cudaErrorInvalidValue;
  if (count == 0)
    return cudaSuccess;
  SumArgs args{};
  for (int j = 0; j < n; ++j) {
    args.dsts[j] = dsts[j];
    args.srcs[j] = srcs[j];
  }
  unsigned threads = 256, blocks = blocksFor(count, threads);
  switch (type) {
  case DataType::BF16:
    orderedSum<__nv_bfloat16><<<blocks, threads, 0, stream>>>(args, n, count);
    break;
  case DataType::F32:
    orderedSum<float><<<blocks, threads, 0, stream>>>(args, n, count);
    break;
  case DataType::I32:
    orderedSum<int32_t><<<blocks, threads, 0, stream>>>(args, n, count);
    break;
  case DataType::I64:
    orderedSum<long long><<<blocks, threads, 0, stream>>>(args, n, count);
    break;
  case DataType::U8:
    orderedSum<unsigned char><<<blocks, threads, 0, stream>>>(args, n, count);
    break;
  }
  return cudaGetLastError();
}

cudaError_t launchPackDispatch(const void *in, const float *weights,
                               const int32_t *ids, const int32_t *order,
                               int64_t n, int64_t k, int64_t h, void *rows,
                               RouteRecord *records, cudaStream_t stream) {
  if (n == 0)
    return cudaSuccess;
  packDispatch<<<blocksFor(size_t(n), 1), 128, 0, stream>>>(
      static_cast<const __nv_bfloat16 *>(in), weights, ids, order, n, k, h,
      static_cast<__nv_bfloat16 *>(rows), records);
  return cudaGetLastError();
}

cudaError_t launchUnpackRecords(const RouteRecord *records, int64_t n,
                                int64_t capacity, int64_t h, float *weights,
                                int32_t *ids, void *tokens,
                                cudaStream_t stream) {
  if (capacity == 0)
    return cudaSuccess;
  unpackRecords<<<blocksFor(size_t(capacity), 1), 128, 0, stream>>>(
      records, n, capacity, h, weights, ids,
      static_cast<__nv_bfloat16 *>(tokens));
  return cudaGetLastError();
}

cudaError_t launchCombineSum(const void *back, const int32_t *position,
                             int64_t tokens, int64_t k, int64_t h, void *out,
                             cudaStream_t stream) {
  if (tokens == 0)
    return cudaSuccess;
  combineSum<<<blocksFor(size_t(tokens), 1), 128, 0, stream>>>(
      static_cast<const __nv_bfloat16 *>(back), position, tokens, k, h,
      static_cast<__nv_bfloat16 *>(out));
  return cudaGetLastError();
}

} // namespace llmc::rt
