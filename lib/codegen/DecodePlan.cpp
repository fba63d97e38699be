//===- DecodePlan.cpp - which kernels a decode step uses, per batch -------===//
//
// The rules, with the reason each is what it is:
//
// * 1-2 rows: the scalar weight-streaming GEMV (runtime/kernels/Gemv.cu), 85-
//   100% of copy bandwidth at one row; beyond two rows its fp32 FMAs make it
//   ALU-bound.
// * 3..R rows: the tensor-core streaming kernel (StreamGemm.cuh). Every
//   block re-reads the activation rows from L2 for its 16 weight rows, so
//   L2 carries M/8 bytes of activations per weight byte read from HBM
//   (M rounded up to 8); with L2 at about twice HBM's bandwidth on the GPUs
//   llmc targets, the kernel stays bound by the weight stream while that
//   traffic is at most one HBM-equivalent: M <= 16. It needs every
//   projection's K to be a multiple of 32; otherwise R = 0 and cuBLASLt
//   takes every batch above two. And only for layers of at most
//   kStreamMaxLayerBytes of projection weights per rank: what the kernel
//   wins is fixed per launch (PDL hides each launch gap and tail, ~12 us a
//   layer), what it loses against cuBLASLt grows with the bytes (~11% lower
//   efficiency at 8-16 rows). H100, tuned cuBLASLt against it at batch 8:
//   ~1B (122 MB a layer) 1.39 vs 1.21 ms, the kernel ahead; 8B (436 MB)
//   6.24 vs 6.38 ms and 12B (545 MB) 9.31 vs 9.92 ms, cuBLASLt ahead (at
//   16 rows 6.41 vs 6.68 and 9.45 vs 9.90). Break-even ~12 us / 11% of a
//   layer's read time: ~330 MB at 3 TB/s.
// * more rows: cuBLASLt; q|k|v and gate|up are one GEMM each when their
//   weights are stored back to back (the runtime checks), which lifts the
//   skinny k/v/q shapes to one wide GEMM.
// * decode attention splits the context (flash-decoding) for 2 blocks per
//   SM: at serving batches one split, since a short context split further
//   only adds partial writes and a merge (H100 sweep).
// * programmatic dependent launch for every kernel of the decode step on
//   sm_90 and later (runtime/kernels/Launch.cuh): a kernel is scheduled
//   while the previous one drains and waits for it on the device, and the
//   weight-streaming GEMVs issue their first weight loads before that wait,
//   so inside the step's CUDA graph neither the launch gap (~2-4 us a kernel
//   on Hopper) nor the previous kernel's tail leaves HBM idle. At a ~1B
//   model's batch 1 that is a quarter of the step. Not on older targets,
//   which lack it.
//
//===----------------------------------------------------------------------===//

#include "llmc/Codegen/DecodePlan.h"

#include "llmc/Dialect/Llm/LlmDialect.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <set>

using namespace llmc;

namespace {

/// The compute capability in an nvcc architecture name ("sm_90a" -> 90).
int archNumber(const std::string &arch) {
  int n = 0;
  for (char c : arch)
    if (c >= '0' && c <= '9')
      n = n * 10 + (c - '0');
  return n;
}

/// L2 over HBM bandwidth of the GPUs llmc targets (Hopper and Ampere
/// microbenchmarks put it near 2).
constexpr double kL2OverHbm = 2.0;

/// Most projection weight bytes per rank in one layer for which the
/// streaming tensor-core GEMM beats cuBLASLt at 3-16 rows (the rules
/// above).
constexpr double kStreamMaxLayerBytes = 320e6;

/// Decode attention blocks per SM (runtime/kernels/Attention.cuh's split
/// rule). An H100 sweep (docs/performance.md, "The split rule, swept"): at
/// batch 64 x 8 kv heads and a 136-token context one split (2 per SM) took
/// 23.5 us against 35.9 us for 4 per SM; equal at batch 1-8 and 128, 1.6%
/// slower at a 1,000-token context.
constexpr int64_t kAttentionBlocksPerSm = 2;

} // namespace

DecodePlan llmc::planDecode(const rt::Manifest &m, const Target &target) {
  DecodePlan plan;
  auto say = [&](std::string line) {
    plan.explanation.push_back(std::move(line));
  };
  int arch = archNumber(target.arch);
  // Every 2-D weight is a projection's [N, K] (an embedding table's K is
  // the hidden size, as the lm head's).
  int64_t badK = 0;
  for (const rt::ManifestWeight &w : m.weights)
    if (w.shape.size() == 2 && w.shape[1] % 32 != 0)
      badK = w.shape[1];
  int64_t rows = int64_t(8 * kL2OverHbm); // activation/weight L2 traffic <= 1
  // Projection bytes of one layer on one rank (local shapes; each weight
  // is listed once, so pipeline stages need no special case).
  double projectionBytes = 0;
  for (size_t i = 0; i < m.weights.size(); ++i)
    if (m.weights[i].role == rt::WeightRole::Projection &&
        m.weights[i].shape.size() == 2)
      projectionBytes += double(m.weightBytes(i));
  double layerBytes =
      m.attention.empty() ? 0.0 : projectionBytes / double(m.attention.size());
  if (arch < 80) {
    plan.decode.streamMaxRows = 0;
    say(llvm::formatv("streaming tensor-core GEMM: off ({0} has no bf16 "
                      "mma.sync)",
                      target.arch));
  } else if (badK) {
    plan.decode.streamMaxRows = 0;
    say(llvm::formatv("streaming tensor-core GEMM: off (a projection has K = "
                      "{0}, not a multiple of 32)",
                      badK));
  } else if (layerBytes > kStreamMaxLayerBytes) {
    plan.decode.streamMaxRows = 0;
    say(llvm::formatv("streaming tensor-core GEMM: off (a layer's "
                      "projections read {0} MB per rank, above {1} MB: "
                      "cuBLASLt's efficiency outweighs the launch gaps the "
                      "kernel hides)",
                      int64_t(layerBytes / 1e6),
                      int64_t(kStreamMaxLayerBytes / 1e6)));
  } else {
    plan.decode.streamMaxRows = rows;
    say(llvm::formatv(
        "streaming tensor-core GEMM: 3..{0} rows (activations re-read from L2 "
        "are M/8 bytes per weight byte; L2 ~{1}x HBM keeps the weight stream "
        "the bound up to M = {0})",
        rows, kL2OverHbm));
  }
  plan.decode.pdl = arch >= 90;
  say(plan.decode.pdl
          ? std::string("programmatic dependent launch: on, every kernel of "
                        "the step (sm_90+: each waits for the previous one on "
                        "the device; the GEMVs' first weight loads start "
                        "while the previous kernel ends)")
          : llvm::formatv("programmatic dependent launch: off ({0} < sm_90)",
                          target.arch)
                .str());
  bool fused = m.kvCache.headDim > 0 && m.kvCache.headDim <= 256;
  plan.decode.attentionBlocksPerSm = kAttentionBlocksPerSm;
  say(fused ? std::string("decode attention: one launch per layer (RoPE of "
                          "q and k, cache write, split-K over the context, "
                          "last-block merge)")
            : std::string("decode attention: no attention layers"));
  if (fused)
    say(llvm::formatv(
        "decode attention splits: enough for {0} blocks per SM (batch x {1} "
        "kv heads x splits), at most one per 64-key tile of the cache; a "
        "short context split more only adds partials and a merge",
        kAttentionBlocksPerSm, m.kvCache.kvHeads));

  // Per batch range: what one dense layer launches (norms and residual adds
  // are two fused add+norm kernels; attention one; o and down one each),
  // and the step: the layers plus embedding, first norm, last token, final
  // norm, lm head and the token choice (the last layer's residual add
  // stands in for its add+norm).
  int64_t layers = int64_t(m.attention.size());
  auto range = [&](int64_t lo, int64_t hi, const std::string &proj,
                   int launches) {
    std::string r = hi < 0 ? llvm::formatv("batch >= {0}", lo).str()
                    : lo == hi ? llvm::formatv("batch {0}", lo).str()
                               : llvm::formatv("batch {0}-{1}", lo, hi).str();
    say(llvm::formatv("{0}: {1}; ~{2} kernels per dense layer, ~{3} per step",
                      r, proj, launches, launches * layers + 6));
  };
  range(1, 2,
        std::string("scalar GEMV (q|k|v grouped, gate|up with SwiGLU, o, "
                    "down)") +
            (plan.decode.pdl ? ", programmatic dependent launch" : ""),
        7);
  int64_t next = 3;
  if (plan.decode.streamMaxRows >= 3) {
    range(3, plan.decode.streamMaxRows,
          std::string("streaming tensor-core GEMM (q|k|v grouped, gate|up "
                      "with SwiGLU, o, down)") +
              (plan.decode.pdl ? ", programmatic dependent launch" : ""),
          7);
    next = plan.decode.streamMaxRows + 1;
  }
  range(next, -1,
        "cuBLASLt: q|k|v one GEMM into column views, gate|up one GEMM + "
        "SwiGLU, o, down (back-to-back weights; q|k|v with biases: one GEMM "
        "+ split; else one GEMM each)",
        8);
  return plan;
}

std::vector<int64_t> llmc::unsupportedHeadDims(mlir::ModuleOp module) {
  std::set<int64_t> bad;
  auto check = [&](int64_t hd) {
    if (hd < 16 || hd > 256 || hd % 16 != 0)
      bad.insert(hd);
  };
  module.walk([&](llm::AttentionOp op) { check(op.getHeadDim()); });
  module.walk([&](llm::RopeOp op) { check(op.getHeadDim()); });
  return {bad.begin(), bad.end()};
}
