//===- Cost.h - what a generation step costs, from the manifest -*- C++ -*-===//
//
// The model side of `llm-model --bench` (issue 8): the bytes a decode step
// reads and the FLOPs a prefill does on each rank, from manifest.json's
// weights (local shapes, roles by checkpoint name) and KV cache, the
// cuBLASLt GEMM shapes of a prefill, and the bench report built from them
// and the measured times (the `bench-json:` line and a summary). Plain
// C++17, no CUDA, so every figure is unit-tested on machines without a GPU;
// runtime/generate/Bench.h measures the GPU's reference rates.
//
// Conventions (docs/runtime.md, "--bench"):
//  * bf16 weights, 2 FLOPs per weight element and row (multiply + add);
//    the lm head runs on one row per sequence (the last position);
//  * a decode step reads every weight its rank loads once per pipeline
//    micro-batch, except an embedding table the lm head does not use (a
//    lookup reads one row per sequence), plus the K and V of every cached
//    position the step's tokens attend to (the new one included);
//  * causal attention: the query at position q attends q + 1 keys, each
//    costing 4 · head_dim FLOPs per query head (QKᵀ and PV);
//  * weights are classified by the manifest's roles, query heads read from
//    its attention entries (no checkpoint names are interpreted);
//  * expert weights (role "expert") are counted as if every token used
//    every expert, so MoE figures are upper bounds (RankCost::experts,
//    `experts_dense` in the report); the manifest's model.moe_top_k would
//    tighten them but is not used yet.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_MODEL_COST_H
#define LLMC_RUNTIME_MODEL_COST_H

#include "runtime/model/Manifest.h"
#include "runtime/model/Options.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::rt {

/// One rank's share of the model.
struct RankCost {
  uint64_t weightBytes = 0;     ///< what it loads (Manifest::rankWeightBytes)
  uint64_t stepWeightBytes = 0; ///< what one forward call reads in full
  uint64_t lookupRowBytes = 0;  ///< one embedding row (0: no lookup here)
  double tokenParams = 0;       ///< projection elements applied to every row
  double expertParams = 0;      ///< expert elements (counted as dense)
  double headParams = 0;        ///< lm head elements (one row per sequence)
  int64_t layers = 0;           ///< attention layers: the stage's KV slots
  int64_t queryHeads = 0;       ///< per rank (the manifest's attention)
  int64_t kvHeads = 0, headDim = 0;
  /// Bytes of one kv head's K (or V) at one position: 2 headDim, or
  /// headDim + 4 for an FP8 cache (ManifestKVCache::bytesPerVector).
  uint64_t kvVectorBytes = 0;
  bool experts = false; ///< holds expert weights
};
RankCost rankCost(const Manifest &m, int64_t rank);

/// K and V bytes of one cached position of one sequence, every layer.
double kvBytesPerPosition(const RankCost &c);

/// Bytes one decode step reads on the rank: `batch` sequences, each
/// attending to `context` positions the rank holds, `microbatches`
/// pipeline micro-batches (each re-reads the stage's weights).
double decodeStepBytes(const RankCost &c, int64_t batch, double context,
                       int64_t microbatches = 1);

/// FLOPs of one decode step on the rank: one row per sequence through every
/// projection and the lm head, attention over `context` positions.
double decodeStepFlops(const RankCost &c, int64_t batch, double context);

/// FLOPs of the rank's prefill: `batch` sequences whose query rows are the
/// prompt positions [start, start + len) (its sequence-parallel block; the
/// whole prompt otherwise).
double prefillFlops(const RankCost &c, int64_t batch, int64_t start,
                    int64_t len);

/// One cuBLASLt GEMM shape of a prefill: out[m, n] = in[m, k] · W[n, k]ᵀ,
/// `count` times.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool f32Out = false; ///< the lm head writes fp32 logits
  int64_t count = 0;
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
};

/// The cuBLASLt GEMMs of the prefill of `run` on `ranks`: every projection
/// at m = the rank's prefill rows, the lm head at m = its sequences (fp32
/// out), merged by shape with counts. Expert weights are left out (they
/// run in the grouped GEMM, not cuBLASLt).
std::vector<GemmShape> prefillGemms(const Manifest &m, const RunShape &run,
                                    const std::vector<int64_t> &ranks);

/// The rate of the whole set of GEMMs when each shape takes `msPerCall`
/// (same order as `shapes`): Σ count·flops / Σ count·time, in TFLOP/s; NaN
/// when a time is missing.
double gemmAggregateTflops(const std::vector<GemmShape> &shapes,
                           const std::vector<double> &msPerCall);

/// A whole run's model cost.
struct RunCost {
  /// Bytes read per decode step, summed over every rank, at the mean
  /// context of the run's decode steps (prompt + gen/2; prompt + 1 when
  /// there is none).
  double decodeBytes = 0;
  /// The bytes that bound a decode step: on one GPU (emulated ranks) all of
  /// them; else, per pipeline stage, the busiest rank's, summed over the
  /// stages (stages run one after the other).
  double criticalDecodeBytes = 0;
  /// FLOPs of a decode step at the same context: summed over every rank,
  /// and on the critical path as criticalDecodeBytes.
  double decodeFlops = 0, criticalDecodeFlops = 0;
  double prefillFlops = 0; ///< summed over every rank
  int64_t gpus = 1;        ///< 1 with emulated ranks, else the ranks
  bool expertsDense = false;
  std::vector<GemmShape> gemms; ///< prefillGemms over every rank
};
RunCost runCost(const Manifest &m, const RunShape &run, bool oneGpu);

/// Everything the bench report prints. Times in ms; a figure that does not
/// exist (no decode step, a reference that could not be measured) is NaN
/// and prints as null.
struct BenchFigures {
  double ttftMs = 0, tpotMs = 0, tokensPerS = 0, wallS = 0;
  int64_t batch = 0, promptLen = 0, genLen = 0, ranks = 1, gpus = 1;
  bool emulated = false, graphs = false, expertsDense = false;
  std::string plan; ///< the canonical spec ("" unsharded)
  double decodeBytes = 0, criticalDecodeBytes = 0, prefillFlops = 0;
  double decodeFlops = 0, criticalDecodeFlops = 0;
  double copyGBs = 0;        ///< measured D2D copy, (read + write) / time
  /// The same copy measured again after the run (NaN when not); copyGBs is
  /// the one before the weights load (after a long run the copy reads up
  /// to 14% slower).
  double copyGBsAfter = 0;
  double gemmPeakTflops = 0; ///< cuBLASLt on the prefill's shapes, aggregate
  double gemmBestTflops = 0; ///< its best single shape

  /// Per GPU: decodeBytes / gpus / TPOT, in GB/s (1e9).
  double decodeGBs() const;
  /// criticalDecodeBytes at the copy rate, in ms.
  double rooflineTpotMs() const;
  /// criticalDecodeFlops at the GEMM peak, in ms.
  double rooflineComputeTpotMs() const;
  /// TPOT's roofline over TPOT: the larger of the two rooflines (the
  /// bandwidth one when the GEMM peak is unknown) / tpotMs.
  double tpotRooflineRatio() const;
  /// Per GPU: prefillFlops / gpus / TTFT, in TFLOP/s (1e12).
  double prefillTflops() const;
};

/// Fills the run's part of BenchFigures from the per-step times (step 0 is
/// the prefill) and the cost; the reference rates stay NaN.
BenchFigures benchFigures(const std::vector<float> &stepMs,
                          const RunShape &shape, const RunCost &cost,
                          const Manifest &m, bool emulated, bool graphs);

/// `{"ttft_ms": …, …}` on one line, without a newline (the keys are listed
/// in docs/runtime.md).
std::string benchJson(const BenchFigures &f);

/// A few human-readable lines, each ending in a newline.
std::string benchSummary(const BenchFigures &f);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_MODEL_COST_H
