//===- Rope.cuh - rotary position embedding (default, linear, llama3) -*- CUDA -*-===//
//
// A header, not a library source: the generated model source includes it and
// instantiates rope<head_dim> for the head dims the model has (llm-compile
// writes the explicit instantiations), so any head_dim that is a multiple of
// 16 links. The decode attention kernel (Attention.cuh) shares the frequency
// table and the rotation.
//
// Inverse frequencies are computed on the host in double exactly as the CPU
// reference does (lib/reference/Kernels.cpp, ropeInverseFrequencies) and
// travel as a kernel parameter, so nothing is allocated and the launch can
// be captured in a graph. The angle pos * inv_freq is formed and reduced
// modulo 2 pi in double (positions reach 10^5 and more; float angles would
// lose ~1e-3 rad there), then sin/cos in float. The rotation itself rounds
// where Hugging Face does (cos/sin cast to bf16, each product and the sum
// bf16), in the rotate_half layout: x1 = x[:d/2], x2 = x[d/2:].
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_ROPE_CUH
#define LLMC_RUNTIME_KERNELS_ROPE_CUH

#include "runtime/abi/Ops.h"
#include "runtime/device/Common.cuh"

#include <cmath>

namespace llmc::rt {

namespace rope_detail {

using namespace cuda;

/// inv_freq of each rotated pair, computed on the host in double.
template <int HeadDim> struct InvFreq { double v[HeadDim / 2]; };

template <int HeadDim>
inline void inverseFrequencies(const RopeParams &p, InvFreq<HeadDim> &out) {
  constexpr int half = HeadDim / 2;
  for (int i = 0; i < half; ++i)
    out.v[i] = std::pow(double(p.theta), -double(2 * i) / double(HeadDim));
  switch (p.kind) {
  case RopeKind::None:
    break;
  case RopeKind::Linear:
    for (double &f : out.v)
      f /= double(p.factor);
    break;
  case RopeKind::Llama3: {
    // transformers' _compute_llama3_parameters (Llama 3.1).
    double orig = double(p.originalMaxPosition);
    double lowWavelen = orig / double(p.lowFreqFactor);
    double highWavelen = orig / double(p.highFreqFactor);
    for (double &f : out.v) {
      double wavelen = 2.0 * M_PI / f;
      if (wavelen > lowWavelen) {
        f = f / double(p.factor);
      } else if (wavelen < highWavelen) {
        // High frequencies are kept.
      } else {
        double smooth = (orig / wavelen - double(p.lowFreqFactor)) /
                        (double(p.highFreqFactor) - double(p.lowFreqFactor));
        f = (1.0 - smooth) * f / double(p.factor) + smooth * f;
      }
    }
    break;
  }
  }
}

/// cos and sin of position `pos` for every pair, rounded to bf16 as
/// Hugging Face's tables are, into shared arrays of HeadDim / 2; the angle
/// is reduced modulo 2 pi in double. All threads of the block take part;
/// the caller synchronises before reading.
template <int HeadDim>
__device__ __forceinline__ void ropeTable(float *cosS, float *sinS,
                                          int64_t position,
                                          const InvFreq<HeadDim> &f) {
  double pos = double(position);
  for (int i = threadIdx.x; i < HeadDim / 2; i += blockDim.x) {
    double a = pos * f.v[i];
    a -= 6.283185307179586 * rint(a * 0.15915494309189535);
    float s, c;
    sincosf(float(a), &s, &c);
    cosS[i] = roundB(c);
    sinS[i] = roundB(s);
  }
}

/// Rotates 8 elements of each half of one head (x1 = a, x2 = b, pairs
/// i0..i0+7) with Hugging Face's roundings: each product and each sum bf16.
__device__ __forceinline__ void ropeRotate8(uint4 &p1, uint4 &p2,
                                            const float *cosS,
                                            const float *sinS, int i0) {
  float a[8], b[8], o1[8], o2[8];
  unpack8(p1, a);
  unpack8(p2, b);
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    float c = cosS[i0 + e], s = sinS[i0 + e];
    o1[e] = roundB(a[e] * c) - roundB(b[e] * s);
    o2[e] = roundB(b[e] * c) + roundB(a[e] * s);
  }
  p1 = pack8(o1);
  p2 = pack8(o2);
}

template <int HeadDim>
__global__ void ropeKernel(bf16 *x, int64_t rowStride, const int64_t *positions,
                           int heads, InvFreq<HeadDim> f) {
  constexpr int half = HeadDim / 2, vecs = half / 8;
  __shared__ float cosS[half], sinS[half];
  int64_t t = blockIdx.x;
  ropeTable<HeadDim>(cosS, sinS, positions[t], f);
  __syncthreads();
  bf16 *row = x + t * rowStride;
  for (int j = threadIdx.x; j < heads * vecs; j += blockDim.x) {
    int h = j / vecs, i0 = (j % vecs) * 8;
    uint4 *p1 = reinterpret_cast<uint4 *>(row + h * HeadDim + i0);
    uint4 *p2 = reinterpret_cast<uint4 *>(row + h * HeadDim + half + i0);
    uint4 v1 = *p1, v2 = *p2;
    ropeRotate8(v1, v2, cosS, sinS, i0);
    *p1 = v1;
    *p2 = v2;
  }
}

/// The frequency table of `p`, remembered per thread: one step calls rope
/// for q and k of every layer with the same parameters.
template <int HeadDim>
const InvFreq<HeadDim> &cachedInverseFrequencies(const RopeParams &p) {
  thread_local RopeParams lastParams;
  thread_local InvFreq<HeadDim> freqs;
  thread_local bool valid = false;
  if (!valid || lastParams.theta != p.theta || lastParams.kind != p.kind ||
      lastParams.factor != p.factor ||
      lastParams.lowFreqFactor != p.lowFreqFactor ||
      lastParams.highFreqFactor != p.highFreqFactor ||
      lastParams.originalMaxPosition != p.originalMaxPosition) {
    inverseFrequencies<HeadDim>(p, freqs);
    lastParams = p;
    valid = true;
  }
  return freqs;
}

} // namespace rope_detail

/// Rotates the first `heads` heads of each row of `x` in place; x.cols may
/// exceed heads * HeadDim (e.g. q and k heads of a fused qkv row: pass both
/// counts summed), the rest of the row is left alone.
template <int HeadDim>
void rope(Rank &r, Act x, const Step &s, const RopeParams &p, int heads) {
  static_assert(HeadDim % 16 == 0, "rope needs head_dim % 16 == 0");
  using cuda::aligned16;
  using cuda::failf;
  if (x.rows != stepTokens(s) || x.cols < int64_t(heads) * HeadDim ||
      heads <= 0)
    failf(r, "rope",
          "input [%lld, %lld] does not hold %d heads of %d for batch %lld x "
          "seq %lld",
          (long long)x.rows, (long long)x.cols, heads, HeadDim,
          (long long)s.batch, (long long)s.seq);
  // x may be a column view (Ops.h `columns`): its row stride counts.
  if (rowStride(x) % 8 != 0 || !aligned16(x.data))
    failf(r, "rope", "rows must be 16-byte aligned (row stride %lld)",
          (long long)rowStride(x));
  if (x.rows == 0)
    return;
  rope_detail::ropeKernel<HeadDim><<<x.rows, 128, 0, r.stream()>>>(
      static_cast<bf16 *>(x.data), rowStride(x), s.positions, heads,
      rope_detail::cachedInverseFrequencies<HeadDim>(p));
  cuda::checkLaunch(r, "rope");
}

} // namespace llmc::rt

#endif // LLMC_RUNTIME_KERNELS_ROPE_CUH
