//===- Cost.cpp - what a generation step costs, from the manifest ---------===//

#include "runtime/model/Cost.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

namespace llmc::rt {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Whether the lm head reads the embedding table (no lm_head-role weight).
bool tiedEmbeddings(const Manifest &m) {
  return std::none_of(
      m.weights.begin(), m.weights.end(),
      [](const ManifestWeight &w) { return w.role == WeightRole::LmHead; });
}

/// Elements of a weight's local block and its [rows, cols] view (rows: the
/// product of the leading dims, as Rank::weight).
struct Block {
  double elements = 1;
  int64_t rows = 1, cols = 1;
};

Block blockOf(const ManifestWeight &w) {
  Block b;
  for (size_t d = 0; d < w.shape.size(); ++d) {
    b.elements *= double(w.shape[d]);
    if (d + 1 < w.shape.size())
      b.rows *= w.shape[d];
  }
  b.cols = w.shape.empty() ? 1 : w.shape.back();
  return b;
}

/// A rank's role in the lm head: the last pipeline stage runs it.
bool lastStage(const Manifest &m, int64_t rank) {
  return m.plan.stageOf(rank) == m.plan.numStages() - 1;
}

/// "%.*f" of a figure, or "n/a".
std::string fixed(double v, int digits) {
  if (!std::isfinite(v))
    return "n/a";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string percent(double ratio) {
  return std::isfinite(ratio) ? fixed(100 * ratio, 1) + "%" : "n/a";
}

} // namespace

RankCost rankCost(const Manifest &m, int64_t rank) {
  RankCost c;
  bool tied = tiedEmbeddings(m);
  bool last = lastStage(m, rank);
  bool first = m.plan.stageOf(rank) == 0;
  c.headDim = m.kvCache.headDim;
  c.kvHeads = m.kvCache.kvHeads;
  c.kvVectorBytes = m.kvCache.bytesPerVector();
  auto [slotBegin, slotEnd] = m.slotsOf(rank);
  c.layers = slotEnd - slotBegin;
  // Query heads per rank, as the compiler recorded them for the rank's
  // first attention layer (every layer of a model has the same count).
  for (int64_t slot = slotBegin; slot < slotEnd && c.queryHeads == 0; ++slot)
    if (const ManifestAttention *a = m.attentionOfSlot(slot))
      c.queryHeads = a->heads;
  for (size_t i = 0; i < m.weights.size(); ++i) {
    if (!m.rankLoads(rank, i))
      continue;
    const ManifestWeight &w = m.weights[i];
    uint64_t bytes = m.weightBytes(i);
    Block b = blockOf(w);
    c.weightBytes += bytes;
    switch (w.role) {
    case WeightRole::Vector:
      c.stepWeightBytes += bytes;
      break;
    case WeightRole::Embedding:
      if (first)
        c.lookupRowBytes += uint64_t(b.cols) * 2;
      if (tied && last) {
        c.stepWeightBytes += bytes;
        c.headParams += b.elements;
      }
      break;
    case WeightRole::LmHead:
      c.stepWeightBytes += bytes;
      c.headParams += b.elements;
      break;
    case WeightRole::Expert:
      c.stepWeightBytes += bytes;
      c.expertParams += b.elements;
      c.experts = true;
      break;
    case WeightRole::Projection:
    case WeightRole::Router:
      c.stepWeightBytes += bytes;
      c.tokenParams += b.elements;
      break;
    }
  }
  if (c.queryHeads == 0)
    c.queryHeads = c.kvHeads;
  return c;
}

double kvBytesPerPosition(const RankCost &c) {
  return 2.0 * double(c.layers) * double(c.kvHeads) * double(c.kvVectorBytes);
}

double decodeStepBytes(const RankCost &c, int64_t batch, double context,
                       int64_t microbatches) {
  return double(microbatches) * double(c.stepWeightBytes) +
         double(batch) * double(c.lookupRowBytes) +
         double(batch) * context * kvBytesPerPosition(c);
}

double decodeStepFlops(const RankCost &c, int64_t batch, double context) {
  return 2.0 * (c.tokenParams + c.expertParams + c.headParams) * double(batch) +
         4.0 * double(c.layers) * double(c.queryHeads) * double(c.headDim) *
             double(batch) * context;
}

double prefillFlops(const RankCost &c, int64_t batch, int64_t start,
                    int64_t len) {
  double rows = double(batch) * double(len);
  // Keys attended by the queries at positions start .. start + len - 1.
  double keys =
      double(len) * double(start) + double(len) * double(len + 1) / 2.0;
  return 2.0 * (c.tokenParams + c.expertParams) * rows +
         2.0 * c.headParams * double(batch) +
         4.0 * double(c.layers) * double(c.queryHeads) * double(c.headDim) *
             double(batch) * keys;
}

std::vector<GemmShape> prefillGemms(const Manifest &m, const RunShape &run,
                                    const std::vector<int64_t> &ranks) {
  bool tied = tiedEmbeddings(m);
  std::map<std::tuple<int64_t, int64_t, int64_t, bool>, int64_t> counts;
  for (int64_t rank : ranks) {
    int64_t spCoord =
        m.plan.sequenceAxis ? m.plan.coordinate(rank, *m.plan.sequenceAxis) : 0;
    int64_t rows = run.localBatch *
                   sequenceBlock(run.promptLen, run.spDegree, spCoord).second;
    bool last = lastStage(m, rank);
    for (size_t i = 0; i < m.weights.size(); ++i) {
      if (!m.rankLoads(rank, i))
        continue;
      const ManifestWeight &w = m.weights[i];
      Block b = blockOf(w);
      WeightRole role = w.role;
      if (role == WeightRole::Projection || role == WeightRole::Router)
        // MoE routers write fp32 logits.
        ++counts[{rows, b.rows, b.cols, role == WeightRole::Router}];
      else if (role == WeightRole::LmHead ||
               (role == WeightRole::Embedding && tied && last))
        ++counts[{run.localBatch, b.rows, b.cols, true}];
    }
  }
  std::vector<GemmShape> shapes;
  for (const auto &[key, count] : counts) {
    GemmShape g;
    std::tie(g.m, g.n, g.k, g.f32Out) = key;
    g.count = count;
    if (g.m > 0 && g.n > 0 && g.k > 0)
      shapes.push_back(g);
  }
  return shapes;
}

RunCost runCost(const Manifest &m, const RunShape &run, bool oneGpu) {
  RunCost cost;
  int64_t ranks = m.plan.numRanks();
  cost.gpus = oneGpu ? 1 : ranks;
  // Decode step j (1 .. gen - 1) attends prompt + j positions; their mean.
  double context = run.maxNewTokens > 1
                       ? double(run.promptLen) + double(run.maxNewTokens) / 2
                       : double(run.promptLen) + 1;
  // Under context parallelism the cached positions are spread over sp.
  double heldContext = context / double(std::max<int64_t>(1, run.spDegree));
  std::vector<double> stageMax(size_t(m.plan.numStages()), 0.0);
  std::vector<double> stageMaxFlops(stageMax.size(), 0.0);
  std::vector<int64_t> all;
  for (int64_t r = 0; r < ranks; ++r) {
    all.push_back(r);
    RankCost c = rankCost(m, r);
    cost.expertsDense = cost.expertsDense || c.experts;
    double bytes =
        decodeStepBytes(c, run.localBatch, heldContext, m.plan.microbatches);
    cost.decodeBytes += bytes;
    double &stage = stageMax[size_t(m.plan.stageOf(r))];
    stage = std::max(stage, bytes);
    double flops = decodeStepFlops(c, run.localBatch, heldContext);
    cost.decodeFlops += flops;
    double &stageFlops = stageMaxFlops[size_t(m.plan.stageOf(r))];
    stageFlops = std::max(stageFlops, flops);
    int64_t spCoord =
        m.plan.sequenceAxis ? m.plan.coordinate(r, *m.plan.sequenceAxis) : 0;
    auto [start, len] = sequenceBlock(run.promptLen, run.spDegree, spCoord);
    cost.prefillFlops += prefillFlops(c, run.localBatch, start, len);
  }
  if (oneGpu) {
    cost.criticalDecodeBytes = cost.decodeBytes;
    cost.criticalDecodeFlops = cost.decodeFlops;
  } else {
    for (size_t i = 0; i < stageMax.size(); ++i) {
      cost.criticalDecodeBytes += stageMax[i];
      cost.criticalDecodeFlops += stageMaxFlops[i];
    }
  }
  cost.gemms = prefillGemms(m, run, all);
  return cost;
}

double gemmAggregateTflops(const std::vector<GemmShape> &shapes,
                           const std::vector<double> &msPerCall) {
  double flops = 0, ms = 0;
  for (size_t i = 0; i < shapes.size() && i < msPerCall.size(); ++i) {
    if (!std::isfinite(msPerCall[i]) || msPerCall[i] <= 0)
      return kNaN;
    flops += double(shapes[i].count) * shapes[i].flops();
    ms += double(shapes[i].count) * msPerCall[i];
  }
  return ms > 0 ? flops / (ms * 1e-3) / 1e12 : kNaN;
}

double BenchFigures::decodeGBs() const {
  return tpotMs > 0 ? decodeBytes / double(gpus) / (tpotMs * 1e-3) / 1e9 : kNaN;
}

double BenchFigures::rooflineTpotMs() const {
  return copyGBs > 0 ? criticalDecodeBytes / (copyGBs * 1e9) * 1e3 : kNaN;
}

double BenchFigures::rooflineComputeTpotMs() const {
  return gemmPeakTflops > 0
             ? criticalDecodeFlops / (gemmPeakTflops * 1e12) * 1e3
             : kNaN;
}

double BenchFigures::tpotRooflineRatio() const {
  double bound = rooflineTpotMs(), compute = rooflineComputeTpotMs();
  if (std::isfinite(compute) && !(bound >= compute))
    bound = compute;
  return tpotMs > 0 ? bound / tpotMs : kNaN;
}

double BenchFigures::prefillTflops() const {
  return ttftMs > 0 ? prefillFlops / double(gpus) / (ttftMs * 1e-3) / 1e12
                    : kNaN;
}

BenchFigures benchFigures(const std::vector<float> &stepMs,
                          const RunShape &shape, const RunCost &cost,
                          const Manifest &m, bool emulated, bool graphs) {
  BenchFigures f;
  f.batch = shape.batch;
  f.promptLen = shape.promptLen;
  f.genLen = shape.maxNewTokens;
  f.ranks = m.plan.numRanks();
  f.gpus = cost.gpus;
  f.emulated = emulated;
  f.graphs = graphs;
  f.expertsDense = cost.expertsDense;
  f.plan = m.plan.spec;
  f.decodeBytes = cost.decodeBytes;
  f.criticalDecodeBytes = cost.criticalDecodeBytes;
  f.prefillFlops = cost.prefillFlops;
  f.decodeFlops = cost.decodeFlops;
  f.criticalDecodeFlops = cost.criticalDecodeFlops;
  f.copyGBs = f.copyGBsAfter = f.gemmPeakTflops = f.gemmBestTflops = kNaN;
  f.ttftMs = f.tpotMs = f.tokensPerS = kNaN;
  if (stepMs.empty())
    return f;
  double decode = 0;
  for (size_t i = 1; i < stepMs.size(); ++i)
    decode += stepMs[i];
  f.ttftMs = stepMs.front();
  if (stepMs.size() > 1)
    f.tpotMs = decode / double(stepMs.size() - 1);
  double total = f.ttftMs + decode;
  if (total > 0)
    f.tokensPerS = double(shape.batch) * double(stepMs.size()) / (total / 1e3);
  return f;
}

std::string benchJson(const BenchFigures &f) {
  double decodeGBs = f.decodeGBs(), prefill = f.prefillTflops();
  // Key order as written; a figure that is not finite (not measured) is
  // written as null.
  nlohmann::ordered_json j;
  j["ttft_ms"] = f.ttftMs;
  j["tpot_ms"] = f.tpotMs;
  j["tokens_per_s"] = f.tokensPerS;
  j["decode_gb_s"] = decodeGBs;
  j["copy_gb_s"] = f.copyGBs;
  j["copy_gb_s_after"] = f.copyGBsAfter;
  j["decode_bw_ratio"] = decodeGBs / f.copyGBs;
  j["roofline_tpot_ms"] = f.rooflineTpotMs();
  j["prefill_tflops"] = prefill;
  j["gemm_peak_tflops"] = f.gemmPeakTflops;
  j["prefill_gemm_ratio"] = prefill / f.gemmPeakTflops;
  j["batch"] = f.batch;
  j["prompt_len"] = f.promptLen;
  j["gen_len"] = f.genLen;
  j["ranks"] = f.ranks;
  j["emulated"] = f.emulated;
  j["plan"] = f.plan;
  j["graph"] = f.graphs;
  j["gpus"] = f.gpus;
  j["decode_bytes_per_step"] = f.decodeBytes;
  j["roofline_bytes_per_step"] = f.criticalDecodeBytes;
  j["prefill_flops"] = f.prefillFlops;
  j["gemm_best_tflops"] = f.gemmBestTflops;
  j["decode_flops_per_step"] = f.decodeFlops;
  j["roofline_tpot_compute_ms"] = f.rooflineComputeTpotMs();
  j["tpot_roofline_ratio"] = f.tpotRooflineRatio();
  j["experts_dense"] = f.expertsDense;
  j["wall_s"] = f.wallS;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string benchSummary(const BenchFigures &f) {
  std::string plan = f.plan.empty() ? "unsharded" : f.plan;
  std::string gpus =
      f.emulated ? std::to_string(f.ranks) + " emulated ranks on one GPU"
                 : std::to_string(f.gpus) + " GPU" + (f.gpus == 1 ? "" : "s");
  double decodeGBs = f.decodeGBs(), prefill = f.prefillTflops();
  std::string s;
  s += "bench summary: plan " + plan + " (" + gpus + "), batch " +
       std::to_string(f.batch) + ", prompt " + std::to_string(f.promptLen) +
       ", " + std::to_string(f.genLen) + " new tokens, decode " +
       (f.graphs ? "CUDA graphs" : "eager") + "\n";
  s += "  prefill  TTFT " + fixed(f.ttftMs, 3) + " ms, " +
       fixed(f.prefillFlops / 1e12, 3) + " TFLOP -> " + fixed(prefill, 1) +
       " TFLOP/s per GPU = " + percent(prefill / f.gemmPeakTflops) +
       " of cuBLASLt on the model's GEMM shapes (" +
       fixed(f.gemmPeakTflops, 1) + " TFLOP/s, best shape " +
       fixed(f.gemmBestTflops, 1) + ")\n";
  s += "  decode   TPOT " + fixed(f.tpotMs, 3) + " ms, " +
       fixed(f.decodeBytes / 1e9, 3) + " GB read per step -> " +
       fixed(decodeGBs, 0) +
       " GB/s per GPU = " + percent(decodeGBs / f.copyGBs) + " of D2D copy (" +
       fixed(f.copyGBs, 0) + " GB/s read+write" +
       (std::isfinite(f.copyGBsAfter)
            ? ", " + fixed(f.copyGBsAfter, 0) + " after the run"
            : std::string()) +
       "); roofline TPOT " +
       fixed(f.rooflineTpotMs(), 3) + " ms (bandwidth), " +
       fixed(f.rooflineComputeTpotMs(), 3) +
       " ms (GEMM peak) = " + percent(f.tpotRooflineRatio()) + " of measured\n";
  s += "  total    " + fixed(f.tokensPerS, 1) + " tokens/s over the run";
  if (f.expertsDense)
    s += "; expert weights counted as if every token used every expert "
         "(upper bounds)";
  s += "\n";
  return s;
}

} // namespace llmc::rt
