//===- Report.cpp - llm-plan's text, JSON and SVG reports -----------------===//
//
// Sizes are printed in GB = 10^9 bytes and MB = 10^6 bytes (the units of
// the seeds and of model cards: Llama-3.1-70B's weights are 141.1 GB), GPU
// memory capacities in GiB as nvidia-smi reports them.
//
//===----------------------------------------------------------------------===//

#include "llmc/Plan/Planner.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace llvm;

namespace llmc {

namespace {

std::string specText(const ShardSpec &spec) {
  std::string text = spec.str();
  return text.empty() ? "(1 GPU)" : text;
}

void printWorkload(const PlanResult &result, raw_ostream &os) {
  const HardwareSpec &hw = result.hardware;
  const Topology &topo = result.topology;
  const PlannerOptions &options = result.options;
  const Workload &w = options.workload;
  os << formatv("llm-plan: {0} on {1} x {2} ({3} node{4} of {5} GPU{6})\n",
                result.model.empty() ? "model" : result.model, topo.gpus,
                hw.name, topo.nodes(), topo.nodes() == 1 ? "" : "s",
                topo.gpusPerNode, topo.gpusPerNode == 1 ? "" : "s");
  os << formatv("  links: {0} ({1:F0} GB/s, {2:F0} us) inside a node, {3} "
                "({4:F0} GB/s, {5:F0} us) between nodes; GB/s per GPU and "
                "direction\n",
                hw.intraNode.name, hw.intraNode.bytesPerSecond / 1e9,
                hw.intraNode.latencySeconds * 1e6, hw.interNode.name,
                hw.interNode.bytesPerSecond / 1e9,
                hw.interNode.latencySeconds * 1e6);
  os << formatv("  memory: {0:F1} GB usable per GPU ({1:P0} of {2:F2} GiB)\n",
                hw.usableBytes() / 1e9, hw.memoryUtilization,
                hw.memoryBytes / 1073741824.0);
  os << formatv("workload: batch {0}, prompt {1} + output {2} tokens "
                "(context {3}), {4} micro-batch{5}; objective: {6}\n",
                w.batch, w.seqLen, w.outputLen, w.context(),
                options.microbatches, options.microbatches == 1 ? "" : "es",
                objectiveName(options.objective));
  size_t sharded = 0, estimated = 0;
  for (const PlanCandidate &plan : result.plans) {
    sharded += plan.cost && !plan.estimated;
    estimated += plan.estimated;
  }
  os << formatv("search: {0}, {1} candidates, {2} sharded, {3} only "
                "estimated\n",
                options.exhaustive ? "exhaustive" : "analytic",
                result.plans.size(), sharded, estimated);
}

void printDetail(const PlanCandidate &plan, raw_ostream &os) {
  const CostReport &cost = *plan.cost;
  os << formatv("\nplan {0} per GPU ({1} sequence{2} per rank, {3} per "
                "micro-batch, {4} micro-batch{5}):\n",
                specText(plan.spec), cost.sequencesPerRank,
                cost.sequencesPerRank == 1 ? "" : "s",
                cost.sequencesPerMicrobatch, cost.microbatches,
                cost.microbatches == 1 ? "" : "es");
  os << "  stage  layers       weights GB  KV GB  activ. GB  prefill GFLOP  "
        "prefill ms  decode ms   (per micro-batch)\n";
  for (const StageCost &stage : cost.stages)
    os << formatv("  {0,5}  [{1,3}, {2,3})  {3,10:F2}  {4,5:F2}  {5,9:F2}  "
                  "{6,13:F0}  {7,10:F3}  {8,9:F3}\n",
                  stage.stage, stage.firstLayer, stage.endLayer,
                  stage.weightBytes / 1e9, stage.kvCacheBytes / 1e9,
                  stage.activationBytes / 1e9, stage.prefillFlops / 1e9,
                  stage.prefillSeconds * 1e3, stage.decodeSeconds * 1e3);
  if (cost.collectives.empty()) {
    os << "  no communication\n";
    return;
  }
  os << "  stage  collective            kind            axes   ranks  nodes  "
        "link                       off-node  ops/pass   MB/token   MB/prefill "
        " "
        "ms/token  ms/prefill\n";
  for (const CollectiveCost &c : cost.collectives)
    os << formatv("  {0,5}  {1,-20}  {2,-14}  {3,-5}  {4,5}  {5,5}  {6,-25}  "
                  "{7,8:P0}  {8,8}  {9,9:F3}  {10,11:F1}  {11,8:F3}  "
                  "{12,10:F3}\n",
                  c.stage, c.op, collectiveKindName(c.kind), c.axes,
                  c.groupSize, c.nodesSpanned, c.link, c.interNodeFraction,
                  c.count, c.decodeBytes / 1e6, c.prefillBytes / 1e6,
                  c.decodeSeconds * 1e3, c.prefillSeconds * 1e3);
}

} // namespace

void printPlanText(const PlanResult &result, raw_ostream &os,
                   const PlanCandidate *detail) {
  printWorkload(result, os);
  const PlanCandidate *best = result.best();
  os << "best plan: " << (best ? specText(best->spec) : "none fits") << "\n\n";

  os << "   #  plan            weights  KV cache  activ.   total  comm/token  "
        "  prefill  decode/token  bubble     tokens/s\n"
     << "                       GB/GPU    GB/GPU  GB/GPU  GB/GPU      MB/GPU"
        "         ms            ms\n";
  int rank = 0;
  for (const PlanCandidate &plan : result.plans) {
    if (!plan.fits)
      continue;
    const CostReport &c = *plan.cost;
    os << formatv("{0,4}  {1,-14}  {2,7:F2}  {3,8:F2}  {4,6:F2}  {5,6:F2}  "
                  "{6,10:F3}  {7,9:F1}  {8,12:F2}  {9,6:F3}  {10,11:F1}\n",
                  ++rank, specText(plan.spec), c.weightBytesPerGpu / 1e9,
                  c.kvCacheBytesPerGpu / 1e9, c.activationBytesPerGpu / 1e9,
                  c.totalBytesPerGpu / 1e9, c.commBytesPerToken / 1e6,
                  c.prefillSeconds * 1e3, c.decodeSecondsPerToken * 1e3,
                  c.bubble, c.throughputTokensPerSecond);
  }
  if (rank == 0)
    os << "   (none)\n";

  bool anyRejected = false;
  for (const PlanCandidate &plan : result.plans) {
    if (plan.fits)
      continue;
    if (!anyRejected)
      os << "\nrejected plans:\n";
    anyRejected = true;
    os << formatv("  {0,-14}  {1}\n", specText(plan.spec), plan.reason);
  }
  if (!detail)
    detail = best;
  if (detail && detail->cost && !detail->estimated)
    printDetail(*detail, os);
}

void printPlanJson(const PlanResult &result, raw_ostream &os) {
  // Written with OStream rather than built as a json::Value so the fields
  // keep the documented order and numbers keep a fixed, readable precision.
  json::OStream out(os, /*IndentSize=*/2);
  auto fixed = [&](StringRef key, std::optional<double> value, int digits) {
    if (!value) {
      out.attribute(key, nullptr);
      return;
    }
    out.attributeBegin(key);
    out.rawValue(formatv("{0}", format("%.*f", digits, *value)).str());
    out.attributeEnd();
  };
  const PlanCandidate *best = result.best();
  out.object([&] {
    if (best)
      out.attribute("best", best->spec.str());
    else
      out.attribute("best", nullptr);
    const PlannerOptions &options = result.options;
    const Workload &w = options.workload;
    out.attributeObject("workload", [&] {
      out.attribute("gpus", result.topology.gpus);
      out.attribute("nodes", result.topology.nodes());
      out.attribute("hardware", result.hardware.name);
      out.attribute("batch", w.batch);
      out.attribute("prompt_tokens", w.seqLen);
      out.attribute("output_tokens", w.outputLen);
      out.attribute("context", w.context());
      out.attribute("microbatches", options.microbatches);
      out.attribute("objective", objectiveName(options.objective));
      out.attribute("search", options.exhaustive ? "exhaustive" : "analytic");
    });
    out.attributeArray("plans", [&] {
      for (const PlanCandidate &plan : result.plans) {
        const CostReport *c = plan.cost ? &*plan.cost : nullptr;
        auto field = [&](double CostReport::*member,
                         double scale = 1) -> std::optional<double> {
          if (!c)
            return std::nullopt;
          return c->*member * scale;
        };
        out.object([&] {
          out.attribute("spec", plan.spec.str());
          out.attribute("fits", plan.fits);
          out.attribute("reason", plan.reason);
          out.attribute("estimated", plan.estimated);
          fixed("weights_bytes_per_gpu", field(&CostReport::weightBytesPerGpu),
                0);
          fixed("kv_cache_bytes_per_gpu",
                field(&CostReport::kvCacheBytesPerGpu), 0);
          fixed("activation_bytes_per_gpu",
                field(&CostReport::activationBytesPerGpu), 0);
          fixed("total_bytes_per_gpu", field(&CostReport::totalBytesPerGpu), 0);
          fixed("comm_bytes_per_token", field(&CostReport::commBytesPerToken),
                0);
          fixed("prefill_ms", field(&CostReport::prefillSeconds, 1e3), 3);
          fixed("decode_ms_per_token",
                field(&CostReport::decodeSecondsPerToken, 1e3), 4);
          fixed("bubble", field(&CostReport::bubble), 4);
          fixed("throughput_tokens_per_s",
                field(&CostReport::throughputTokensPerSecond), 1);
          // The compute terms (ms per micro-batch, summed over stages) that
          // bench/calibrate.py refits the hardware knobs from.
          auto terms = [&](StringRef key, const PhaseTerms &t) {
            out.attributeObject(key, [&] {
              fixed("weights", t.weights * 1e3, 5);
              fixed("gemm", t.gemm * 1e3, 5);
              fixed("activations", t.activations * 1e3, 5);
              fixed("attention", t.attention * 1e3, 5);
              fixed("launch", t.launch * 1e3, 5);
              fixed("step", t.step * 1e3, 5);
            });
          };
          // What the terms price, for the fit of their knobs.
          auto work = [&](StringRef key, const PhaseWork &w) {
            out.attributeObject(key, [&] {
              out.attributeArray("gemms", [&] {
                for (const GemmGroup &g : w.gemms)
                  out.object([&] {
                    out.attribute("rows", g.rows);
                    out.attribute("fp8", g.fp8);
                    out.attribute("weight_bytes", g.weightBytes);
                    out.attribute("flops", g.flops);
                  });
              });
              out.attribute("stream_bytes", w.streamBytes);
              out.attribute("attention_flops", w.attentionFlops);
              out.attribute("kv_bytes", w.kvBytes);
              out.attribute("launches", w.launches);
              out.attribute("eager", w.eager);
            });
          };
          if (c) {
            terms("prefill_terms_ms", c->prefillTerms);
            terms("decode_terms_ms", c->decodeTerms);
            work("prefill_work", c->prefillWork);
            work("decode_work", c->decodeWork);
            out.attribute("kernels", c->kernels);
          }
        });
      }
    });
  });
  os << "\n";
}

//===----------------------------------------------------------------------===//
// SVG
//===----------------------------------------------------------------------===//

namespace {

constexpr int kGpuWidth = 96, kGpuHeight = 64, kGap = 12, kPad = 16;
constexpr const char *kStageColors[] = {"#8ecae6", "#ffb703", "#90be6d",
                                        "#f4a261", "#cdb4db", "#e9c46a",
                                        "#a8dadc", "#f28482"};

std::string escape(StringRef text) {
  std::string out;
  for (char ch : text) {
    if (ch == '&')
      out += "&amp;";
    else if (ch == '<')
      out += "&lt;";
    else if (ch == '>')
      out += "&gt;";
    else if (ch == '"')
      out += "&quot;";
    else
      out += ch;
  }
  return out;
}

} // namespace

void writePlanSvg(const PlanResult &result, const PlanCandidate &plan,
                  raw_ostream &os) {
  const Topology &topo = result.topology;
  GridLayout layout(plan.spec);
  int64_t ranks = layout.numRanks();
  int64_t perNode = topo.gpusPerNode;
  int64_t nodes = (ranks + perNode - 1) / perNode;
  int64_t ppAxis = layout.axisIndex("pp"), tpAxis = layout.axisIndex("tp");
  int64_t tp = plan.spec.degree(Axis::tp);

  int nodeWidth =
      static_cast<int>(perNode * (kGpuWidth + kGap) - kGap + 2 * kPad);
  int nodeHeight = 28 + kGpuHeight + kPad;
  int top = 64;
  std::vector<const StageCost *> stages;
  if (plan.cost)
    for (const StageCost &stage : plan.cost->stages)
      stages.push_back(&stage);
  int legendHeight =
      24 * static_cast<int>(std::max<size_t>(stages.size(), 1)) + 40;
  int width = std::max(nodeWidth + 2 * kPad, 520);
  int height =
      top + static_cast<int>(nodes) * (nodeHeight + kGap) + legendHeight;

  os << formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
                "height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                "font-family=\"sans-serif\" font-size=\"12\">\n",
                width, height);
  os << formatv("  <title>llm-plan: {0} on {1} x {2}</title>\n",
                escape(specText(plan.spec)), topo.gpus,
                escape(result.hardware.name));
  os << "  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << formatv("  <text x=\"{0}\" y=\"24\" font-size=\"16\" "
                "font-weight=\"bold\">{1}: {2}</text>\n",
                kPad, escape(result.model.empty() ? "model" : result.model),
                escape(specText(plan.spec)));
  os << formatv("  <text x=\"{0}\" y=\"44\">{1} GPUs of {2}, {3} per node, "
                "{4} between nodes; tp groups outlined, colour = pipeline "
                "stage</text>\n",
                kPad, topo.gpus, escape(result.hardware.name), perNode,
                escape(result.hardware.interNode.name));

  for (int64_t node = 0; node < nodes; ++node) {
    int y = top + static_cast<int>(node) * (nodeHeight + kGap);
    os << formatv("  <g id=\"node{0}\">\n", node);
    os << formatv("    <rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" "
                  "rx=\"8\" fill=\"#f4f4f4\" stroke=\"#555\"/>\n",
                  kPad, y, nodeWidth, nodeHeight);
    os << formatv("    <text x=\"{0}\" y=\"{1}\" font-weight=\"bold\">node "
                  "{2} ({3})</text>\n",
                  kPad + 8, y + 18, node,
                  escape(result.hardware.intraNode.name));
    os << "  </g>\n";
  }
  for (int64_t rank = 0; rank < ranks; ++rank) {
    std::vector<int64_t> coords = layout.coords(rank);
    int64_t node = topo.nodeOf(rank), slot = rank % perNode;
    int x = kPad + kPad + static_cast<int>(slot) * (kGpuWidth + kGap);
    int y = top + static_cast<int>(node) * (nodeHeight + kGap) + 28;
    int64_t stage = ppAxis >= 0 ? coords[ppAxis] : 0;
    const char *color = kStageColors[stage % std::size(kStageColors)];
    SmallVector<std::string> label;
    for (auto [name, coord] : llvm::zip(layout.axes(), coords))
      label.push_back(formatv("{0}{1}", name, coord).str());
    os << formatv("  <g id=\"gpu{0}\">\n", rank);
    os << formatv("    <rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" "
                  "rx=\"4\" fill=\"{4}\" stroke=\"#333\"/>\n",
                  x, y, kGpuWidth, kGpuHeight, color);
    os << formatv("    <text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" "
                  "font-weight=\"bold\">GPU {2}</text>\n",
                  x + kGpuWidth / 2, y + 20, rank);
    os << formatv("    <text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" "
                  "font-size=\"10\">{2}</text>\n",
                  x + kGpuWidth / 2, y + 38,
                  escape(label.empty() ? "whole model" : join(label, " ")));
    if (!stages.empty() && stage < static_cast<int64_t>(stages.size()))
      os << formatv("    <text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" "
                    "font-size=\"10\">layers {2}-{3}</text>\n",
                    x + kGpuWidth / 2, y + 54, stages[stage]->firstLayer,
                    stages[stage]->endLayer - 1);
    os << "  </g>\n";
  }
  // Tensor-parallel groups: tp is innermost, so a group is tp consecutive
  // ranks; groups that fit in a node are outlined there.
  if (tp > 1 && tpAxis >= 0)
    for (int64_t first = 0; first < ranks; first += tp) {
      int64_t node = topo.nodeOf(first);
      if (topo.nodeOf(first + tp - 1) != node)
        continue;
      int64_t slot = first % perNode;
      int x = kPad + kPad + static_cast<int>(slot) * (kGpuWidth + kGap) - 4;
      int y = top + static_cast<int>(node) * (nodeHeight + kGap) + 24;
      int w = static_cast<int>(tp) * (kGpuWidth + kGap) - kGap + 8;
      os << formatv("  <rect class=\"tp-group\" x=\"{0}\" y=\"{1}\" "
                    "width=\"{2}\" height=\"{3}\" rx=\"6\" fill=\"none\" "
                    "stroke=\"#d62828\" stroke-width=\"2\" "
                    "stroke-dasharray=\"6 3\"/>\n",
                    x, y, w, kGpuHeight + 8);
    }

  int legendY = top + static_cast<int>(nodes) * (nodeHeight + kGap) + 16;
  os << formatv("  <text x=\"{0}\" y=\"{1}\" font-weight=\"bold\">pipeline "
                "stages</text>\n",
                kPad, legendY);
  for (auto [i, stage] : llvm::enumerate(stages)) {
    int y = legendY + 12 + static_cast<int>(i) * 24;
    os << formatv("  <rect x=\"{0}\" y=\"{1}\" width=\"16\" height=\"16\" "
                  "fill=\"{2}\" stroke=\"#333\"/>\n",
                  kPad, y, kStageColors[i % std::size(kStageColors)]);
    os << formatv("  <text x=\"{0}\" y=\"{1}\">stage {2}: layers [{3}, {4}), "
                  "{5:F1} GB weights per GPU</text>\n",
                  kPad + 24, y + 13, stage->stage, stage->firstLayer,
                  stage->endLayer, stage->weightBytes / 1e9);
  }
  os << "</svg>\n";
}

} // namespace llmc
