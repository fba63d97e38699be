//===- Bench.h - this GPU's reference rates for --bench ---------*- C++ -*-===//
//
// `llm-model --bench` compares what a run achieved (runtime/model/Cost.h)
// with two rates measured on the same GPU in the same process, after the
// generation has finished and freed its memory (rank 0 only; emulated
// ranks: after every thread has joined), so they neither disturb the timed
// steps nor compete for memory:
//
//  * device-to-device copy bandwidth: cudaMemcpyAsync of a buffer far larger
//    than L2, counted as bytes read + bytes written (2N per copy of N
//    bytes): the HBM traffic rate, so "bytes read per decode step / this
//    rate" is the step's roofline time;
//  * cuBLASLt GEMM rate on the model's own prefill shapes, through the
//    runtime's GEMM path (runtime/gemm/Gemm.h: the same heuristic, plan
//    cache and 32 MiB workspace as the model), bf16 in, fp32 accumulation.
//
// Each has its own stream-ordered buffers, events and cuBLASLt handle; a
// failure (too little memory, no kernel library) is reported in `error` and
// leaves the figures NaN instead of failing the run. CUDA host code, no
// MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_GENERATE_BENCH_H
#define LLMC_RUNTIME_GENERATE_BENCH_H

#include "runtime/model/Cost.h"

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <vector>

namespace llmc::rt {

/// Device-to-device copy bandwidth.
struct CopyBandwidth {
  double gbs = 0;     ///< median, 2 · bytes / time, 1e9 B/s
  double bestGbs = 0; ///< fastest batch
  size_t bytes = 0;   ///< size of one copy
  std::string error;  ///< "" when measured
};

/// Copies of `bytes` (halved while two buffers do not fit, down to 64 MiB):
/// two warm-up copies, then 7 event-timed batches of 3 copies on `stream`.
CopyBandwidth measureCopyBandwidth(cudaStream_t stream, size_t bytes = size_t(1)
                                                                       << 30);

/// cuBLASLt on a set of GEMM shapes.
struct GemmPeak {
  std::vector<double> msPerCall; ///< per shape, median; NaN when it failed
  double aggregateTflops = 0;    ///< gemmAggregateTflops of the measured
  double bestTflops = 0;         ///< the fastest shape
  std::string error;             ///< the first failure, "" when none
};

/// Times each shape on `stream` with random bf16 operands: warm-up (the
/// heuristic), then 7 batches of enough calls for about a millisecond,
/// median per call. Small weights rotate over copies (≥ 192 MiB together)
/// so that, as in a forward pass, they come from HBM and not L2.
GemmPeak measureGemmPeak(const std::vector<GemmShape> &shapes,
                         cudaStream_t stream);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_GENERATE_BENCH_H
