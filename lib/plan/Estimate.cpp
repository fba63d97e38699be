//===- Estimate.cpp - analytic cost of a plan, without sharding -----------===//
//
// The estimate mirrors what the sharding passes do to the model's shapes
// (docs/planner.md, "The analytic search") but never rewrites IR, so a
// candidate costs microseconds instead of a pass pipeline over thousands of
// weights. It is only a ranking: the planner shards the best candidates and
// reports the cost model's figures for them.
//
//===----------------------------------------------------------------------===//

#include "llmc/Plan/Estimate.h"

#include "llmc/Dialect/Llm/LlmDialect.h"
#include "llmc/Passes/PlanRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

using namespace mlir;
using namespace llvm;

namespace llmc {

namespace {

/// Whether an op becomes a kernel launch (the cost model's rule).
bool isKernel(Operation *op) {
  return !isa<llm::ParamOp>(op) && op->getNumRegions() == 0 &&
         !op->hasTrait<OpTrait::IsTerminator>() &&
         !op->hasTrait<OpTrait::ConstantLike>();
}

double numel(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  double n = 1;
  for (int64_t d : tensor.getShape())
    n *= ShapedType::isDynamic(d) ? 1 : d;
  return n;
}

double byteSize(Type type) {
  return numel(type) *
         elementByteWidth(cast<RankedTensorType>(type).getElementType());
}

/// Where a parameter goes in the summary.
enum class Part { TpSplit, KvProj, Replicated, Expert, Embedding, LMHead };

} // namespace

Expected<ModelSummary> summarizeModel(ModuleOp module) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.isExternal())
    return createStringError(inconvertibleErrorCode(),
                             "expected a func.func @forward to estimate");
  ModelSummary model;
  for (BlockArgument arg : forward.getArguments())
    if (auto cache = dyn_cast<llm::KVCacheType>(arg.getType())) {
      model.cacheBytes = elementByteWidth(cache.getElementType());
      model.cacheScaleBytes = cache.isFp8() ? 4 : 0;
    }
  for (auto weight : module.getOps<llm::WeightOp>())
    if (weight.getTensorType().getRank() == 2) {
      model.computeBytes =
          elementByteWidth(weight.getTensorType().getElementType());
      break;
    }

  forward.walk([&](llm::DecoderLayerOp layerOp) {
    LayerSummary layer;
    // Attention first: the k/v projections are told apart by their width.
    layerOp.walk([&](llm::AttentionOp attention) {
      layer.heads = attention.getNumHeads();
      layer.kvHeads = attention.getNumKvHeads();
      layer.headDim = attention.getHeadDim();
      layer.window = attention.getSlidingWindow();
      layer.cached = layer.cached || attention.getCache();
    });
    int64_t kvWidth = layer.kvHeads * layer.headDim;
    bool splitKv = layer.kvHeads > 0 && layer.kvHeads < layer.heads;
    llvm::DenseSet<Operation *> seen;
    auto add = [&](Value v, Part part, double perToken) {
      auto param = v.getDefiningOp<llm::ParamOp>();
      if (!param || !seen.insert(param).second)
        return;
      double bytes = byteSize(param.getType());
      double elements = perToken ? numel(param.getType()) : 0;
      switch (part) {
      case Part::KvProj:
        layer.kvProjBytes += bytes;
        layer.kvProjElements += elements;
        break;
      case Part::Expert:
        layer.expertBytes += bytes;
        layer.expertElements += elements;
        break;
      case Part::Replicated:
        layer.replicatedBytes += bytes;
        layer.replicatedElements += elements;
        break;
      default:
        layer.tpSplitBytes += bytes;
        layer.tpSplitElements += elements;
        break;
      }
    };
    auto projection = [&](Value weight) {
      auto type = cast<RankedTensorType>(weight.getType());
      return splitKv && type.getDimSize(0) == kvWidth ? Part::KvProj
                                                      : Part::TpSplit;
    };
    layerOp.walk([&](Operation *op) {
      layer.kernels += isKernel(op);
      if (auto linear = dyn_cast<llm::LinearOp>(op)) {
        Part part = projection(linear.getWeight());
        add(linear.getWeight(), part, 1);
        if (linear.getBias())
          add(linear.getBias(), part, 0);
        if (isa<Float8E4M3FNType>(
                cast<RankedTensorType>(linear.getInput().getType())
                    .getElementType()))
          model.w8a8 = true;
      } else if (auto bias = dyn_cast<llm::BiasAddOp>(op)) {
        auto type = cast<RankedTensorType>(bias.getBias().getType());
        add(bias.getBias(),
            splitKv && type.getShape().back() == kvWidth ? Part::KvProj
                                                         : Part::TpSplit,
            0);
      } else if (auto experts = dyn_cast<llm::ExpertsOp>(op)) {
        layer.experts = experts.getNumExperts();
        for (unsigned i = 0; i < experts.getGateWeights().size(); ++i)
          for (Value w :
               {experts.getGateWeights()[i], experts.getUpWeights()[i],
                experts.getDownWeights()[i]})
            add(w, Part::Expert, 1);
        if (!experts.getGateWeights().empty())
          layer.expertWidth =
              cast<RankedTensorType>(experts.getGateWeights()[0].getType())
                  .getDimSize(0);
      } else if (auto router = dyn_cast<llm::MoERouterOp>(op)) {
        layer.topK = router.getTopK();
        add(router.getGate(), Part::Replicated, 1);
      } else if (auto shared = dyn_cast<llm::SharedExpertOp>(op)) {
        for (Value w : {shared.getGate(), shared.getUp(), shared.getDown()})
          add(w, Part::TpSplit, 1);
        add(shared.getExpertGate(), Part::Replicated, 1);
        layer.mlpWidth = std::max<int64_t>(
            layer.mlpWidth,
            cast<RankedTensorType>(shared.getGate().getType()).getDimSize(0));
      } else if (auto swiglu = dyn_cast<llm::SwiGLUOp>(op)) {
        layer.mlpWidth = std::max<int64_t>(
            layer.mlpWidth,
            cast<RankedTensorType>(swiglu.getType()).getShape().back());
      }
    });
    // Whatever else the layer reads (norms, scales) is on every rank.
    layerOp.walk([&](llm::ParamOp param) {
      if (seen.insert(param).second)
        layer.replicatedBytes += byteSize(param.getType());
    });
    // Per expert: the walk added all of them.
    if (layer.experts > 0) {
      layer.expertBytes /= layer.experts;
      layer.expertElements /= layer.experts;
    }
    model.layers.push_back(layer);
  });

  // Outside the layers: embedding, final norm, lm_head.
  Value table;
  forward.walk([&](Operation *op) {
    if (op->getParentOfType<llm::DecoderLayerOp>())
      return;
    model.outerKernels += isKernel(op) && !isa<llm::DecoderLayerOp>(op);
    if (auto embedding = dyn_cast<llm::EmbeddingOp>(op)) {
      table = embedding.getTable();
      auto type = cast<RankedTensorType>(table.getType());
      model.embeddingBytes += byteSize(type);
      model.vocab = type.getDimSize(0);
      model.hidden = type.getDimSize(1);
    } else if (auto head = dyn_cast<llm::LMHeadOp>(op)) {
      auto type = cast<RankedTensorType>(head.getWeight().getType());
      model.lmHeadBytes += byteSize(type);
      model.lmHeadElements += numel(type);
      model.vocab = std::max<int64_t>(model.vocab, type.getDimSize(0));
      auto tableParam = table ? table.getDefiningOp<llm::ParamOp>() : nullptr;
      auto headParam = head.getWeight().getDefiningOp<llm::ParamOp>();
      model.tied = tableParam && headParam &&
                   tableParam.getName() == headParam.getName();
    } else if (auto norm = dyn_cast<llm::RMSNormOp>(op)) {
      model.outerReplicatedBytes += byteSize(norm.getWeight().getType());
    }
  });
  return model;
}

namespace {

/// Local bytes of one layer on the busiest rank.
double layerBytes(const LayerSummary &layer, int64_t tp, int64_t ep) {
  double kvSplit = layer.kvHeads > 0 ? std::min(tp, layer.kvHeads) : tp;
  double bytes = layer.tpSplitBytes / tp + layer.kvProjBytes / kvSplit +
                 layer.replicatedBytes;
  if (layer.experts > 0)
    bytes += layer.expertBytes / tp * llvm::divideCeil(layer.experts, ep);
  return bytes;
}

} // namespace

std::pair<int64_t, int64_t> groupSpan(int64_t degree, int64_t stride,
                                      const Topology &topology) {
  if (degree <= 1)
    return {1, 1};
  int64_t block = degree * stride;
  const int64_t perNode = topology.gpusPerNode;
  if (stride % perNode == 0)
    return {degree, 1};
  if (perNode % block == 0)
    return {1, degree};
  int64_t period = std::min<int64_t>(
      topology.gpus,
      block / std::gcd(block, topology.gpusPerNode) * topology.gpusPerNode);
  int64_t most = 1, fewest = degree;
  for (int64_t base = 0; base < period; ++base) {
    if ((base / stride) % degree != 0)
      continue;
    std::map<int64_t, int64_t> members;
    for (int64_t k = 0; k < degree; ++k)
      ++members[topology.nodeOf(base + k * stride)];
    most = std::max<int64_t>(most, members.size());
    for (auto [node, count] : members)
      fewest = std::min(fewest, count);
  }
  return {most, fewest};
}

std::vector<double> layerStageBytes(const ModelSummary &model,
                                    const ShardSpec &spec) {
  int64_t tp = spec.degree(Axis::tp), ep = spec.degree(Axis::ep);
  std::vector<double> bytes;
  for (const LayerSummary &layer : model.layers)
    bytes.push_back(layerBytes(layer, tp, ep));
  if (bytes.empty())
    return bytes;
  bytes.front() += model.embeddingBytes / tp;
  bytes.back() += model.outerReplicatedBytes;
  if (!model.tied || spec.degree(Axis::pp) > 1)
    bytes.back() += model.lmHeadBytes / tp;
  return bytes;
}

CostReport estimatePlan(const ModelSummary &model, const ShardSpec &spec,
                        const HardwareSpec &hardware, const Topology &topology,
                        const Workload &workload, int64_t microbatchOption,
                        double activationScale) {
  const int64_t tp = spec.degree(Axis::tp), pp = spec.degree(Axis::pp),
                ep = spec.degree(Axis::ep), sp = spec.degree(Axis::sp),
                dp = spec.degree(Axis::dp);
  CostReport report;
  report.spec = spec;
  report.microbatches = pp > 1 ? microbatchOption : 1;
  report.batchSplit = dp * ep;
  const int64_t m = report.microbatches;
  report.sequencesPerRank =
      std::max<int64_t>(1, llvm::divideCeil(workload.batch, dp * ep));
  report.sequencesPerMicrobatch = llvm::divideCeil(report.sequencesPerRank, m);
  const double rows = report.sequencesPerMicrobatch;
  const int64_t seqPerRank = llvm::divideCeil(workload.seqLen, sp);
  const int64_t contextPerRank = llvm::divideCeil(workload.context(), sp);
  const double decodeContext = workload.seqLen + (workload.outputLen + 1) / 2.0;
  const double h = model.hidden, act = model.computeBytes;

  // Stages: the pipeline split's cut of the layer bytes.
  std::vector<double> layerCost = layerStageBytes(model, spec);
  SmallVector<size_t> starts{0};
  if (pp > 1 && static_cast<int64_t>(layerCost.size()) >= pp) {
    SmallVector<int64_t> costs;
    for (double b : layerCost)
      costs.push_back(static_cast<int64_t>(b));
    starts = linearPartition(costs, pp);
  }

  // Links of the groups: tp innermost, then sp, ep; pp's stride is all of
  // them (ranks are row-major over dp, pp, ep, sp, tp).
  const LinkSpec &intra = hardware.intraNode, &inter = hardware.interNode;
  auto linkSeconds = [&](double bytes, int64_t messages, double offNode,
                         bool spans) {
    const LinkSpec &link = spans ? inter : intra;
    return messages * link.latencySeconds +
           std::max(bytes * (1 - offNode) /
                        (intra.bytesPerSecond * intra.efficiency),
                    bytes * offNode /
                        (inter.bytesPerSecond * inter.efficiency));
  };
  auto [tpNodes, tpOnNode] = groupSpan(tp, 1, topology);
  auto [spNodes, spOnNode] = groupSpan(sp, tp, topology);
  auto [epNodes, epOnNode] = groupSpan(ep, tp * sp, topology);
  auto [ppNodes, ppOnNode] = groupSpan(pp, tp * sp * ep, topology);
  (void)tpOnNode;
  (void)spOnNode;
  (void)ppOnNode;
  double epOffNode =
      epNodes > 1 ? static_cast<double>(ep - epOnNode) / (ep - 1) : 0;

  std::vector<double> prefillStage, decodeStage;
  double busiestTotal = -1;
  for (size_t s = 0; s < starts.size(); ++s) {
    size_t begin = starts[s];
    size_t end = s + 1 < starts.size() ? starts[s + 1] : model.layers.size();
    bool first = s == 0, last = s + 1 == starts.size();
    StageCost stage;
    stage.stage = s;
    stage.firstLayer = begin;
    stage.endLayer = end;
    double prefillTokens = rows * seqPerRank, decodeTokens = rows;
    double denseBytes = 0, expertBytes = 0, prefillFlops = 0, decodeFlops = 0;
    double kvRead = 0, kvWrite = 0, activation = 0;
    double prefillAttention = 0, decodeAttention = 0;
    int64_t kernels = first || last ? model.outerKernels : 0;
    double prefillComm = 0, decodeComm = 0, prefillSent = 0, decodeSent = 0;
    double expertsTouched = 1;
    auto allReduce = [&](double perTokenBytes) {
      double p = cost::allReduceBytes(tp, prefillTokens * perTokenBytes);
      double d = cost::allReduceBytes(tp, decodeTokens * perTokenBytes);
      prefillSent += p * m;
      decodeSent += d * m;
      prefillComm += linkSeconds(p, 1, tpNodes > 1, tpNodes > 1);
      decodeComm += linkSeconds(d, 1, tpNodes > 1, tpNodes > 1);
    };
    if (first) {
      denseBytes += model.embeddingBytes / tp;
      if (tp > 1)
        allReduce(h * act);
    }
    for (size_t i = begin; i < end; ++i) {
      const LayerSummary &layer = model.layers[i];
      double kvSplit = layer.kvHeads > 0 ? std::min(tp, layer.kvHeads) : tp;
      denseBytes += layer.tpSplitBytes / tp + layer.kvProjBytes / kvSplit +
                    layer.replicatedBytes;
      double perToken =
          2.0 * (layer.tpSplitElements / tp + layer.kvProjElements / kvSplit +
                 layer.replicatedElements);
      double mlpPeak = 2 * h + 3.0 * layer.mlpWidth / tp;
      if (layer.experts > 0) {
        int64_t owned = llvm::divideCeil(layer.experts, ep);
        expertBytes += layer.expertBytes / tp * owned;
        perToken += 2.0 * layer.topK * layer.expertElements / tp;
        expertsTouched =
            cost::expectedExpertsTouched(layer.experts, layer.topK, rows * ep) /
            layer.experts;
        mlpPeak = std::max(
            mlpPeak, 2 * h + layer.topK * (h + 3.0 * layer.expertWidth / tp));
        if (ep > 1)
          for (int k = 0; k < 2; ++k) {
            double p =
                cost::allToAllBytes(ep, prefillTokens * layer.topK * h * act);
            double d =
                cost::allToAllBytes(ep, decodeTokens * layer.topK * h * act);
            prefillSent += p * m;
            decodeSent += d * m;
            prefillComm += linkSeconds(p, 1, epOffNode, epNodes > 1);
            decodeComm += linkSeconds(d, 1, epOffNode, epNodes > 1);
          }
      }
      prefillFlops += prefillTokens * perToken;
      decodeFlops += decodeTokens * perToken;
      double attnPeak = 0;
      if (layer.heads > 0) {
        int64_t heads = layer.heads / tp;
        int64_t kvLocal = std::max<int64_t>(1, layer.kvHeads / tp);
        double keysPrefill =
            sp > 1 ? seqPerRank * (sp - 1) + (seqPerRank + 1) / 2.0
                   : cost::causalPrefillContext(seqPerRank, layer.window);
        if (sp > 1 && layer.window)
          keysPrefill = std::min<double>(keysPrefill, *layer.window);
        double keysDecode = layer.window
                                ? std::min<double>(decodeContext, *layer.window)
                                : decodeContext;
        prefillAttention += cost::attentionFlops(prefillTokens, keysPrefill,
                                                 heads, layer.headDim);
        decodeAttention += cost::attentionFlops(decodeTokens, keysDecode / sp,
                                                heads, layer.headDim);
        double perPosition =
            2.0 * kvLocal *
            (double(layer.headDim) * model.cacheBytes + model.cacheScaleBytes);
        if (layer.cached) {
          int64_t held = layer.window
                             ? std::min<int64_t>(contextPerRank, *layer.window)
                             : contextPerRank;
          stage.kvCacheBytes += report.sequencesPerRank * held * perPosition;
          kvRead += rows * keysDecode / sp * perPosition;
          kvWrite += rows * seqPerRank * perPosition;
        }
        attnPeak =
            2 * h + 2.0 * heads * layer.headDim + 2.0 * kvLocal * layer.headDim;
        if (sp > 1) {
          double block =
              rows * seqPerRank * (2.0 * kvLocal * layer.headDim * act + 8);
          double p = (sp - 1) * block;
          double stats = 2.0 * rows * heads * 4;
          double d = cost::allGatherBytes(
              sp, sp * (rows * heads * layer.headDim * act + stats));
          prefillSent += p * m;
          decodeSent += d * m;
          prefillComm += linkSeconds(p, sp - 1, spNodes > 1, spNodes > 1);
          decodeComm += linkSeconds(d, 1, spNodes > 1, spNodes > 1);
          attnPeak += 2.0 * kvLocal * layer.headDim;
        }
      }
      activation = std::max(activation, std::max(attnPeak, mlpPeak));
      // The passes add a collective per all-reduce, dispatch and combine.
      kernels += layer.kernels + (tp > 1 ? 2 : 0) +
                 (ep > 1 && layer.experts > 0 ? 2 : 0);
      if (tp > 1) {
        allReduce(h * act);
        allReduce(h * act);
      }
    }
    if (last) {
      denseBytes += model.outerReplicatedBytes;
      if (!model.tied || !first)
        denseBytes += model.lmHeadBytes / tp;
      // Logits for one token per sequence.
      prefillFlops += 2.0 * rows * model.lmHeadElements / tp;
      decodeFlops += 2.0 * rows * model.lmHeadElements / tp;
      if (tp > 1) {
        double gathered = rows * model.vocab * act;
        double bytes = cost::allGatherBytes(tp, gathered);
        prefillSent += bytes * m;
        decodeSent += bytes * m;
        prefillComm += linkSeconds(bytes, 1, tpNodes > 1, tpNodes > 1);
        decodeComm += linkSeconds(bytes, 1, tpNodes > 1, tpNodes > 1);
      }
    }
    double embeddingRow = model.hidden * act / tp;
    stage.weightBytes = denseBytes + expertBytes;
    stage.activationBytes =
        activationScale * prefillTokens * act * (h + activation) / 1.0;
    stage.prefillFlops = prefillFlops + prefillAttention;
    stage.decodeFlops = decodeFlops + decodeAttention;
    stage.prefillHbmBytes = denseBytes + expertBytes + kvWrite +
                            (first ? embeddingRow * prefillTokens : 0);
    stage.decodeHbmBytes = denseBytes + expertBytes * expertsTouched + kvRead +
                           (first ? embeddingRow * decodeTokens : 0);
    stage.kernels = kernels;
    // Two GEMM groups: the layers' projections at the phase's tokens and
    // the lm head at one row per sequence; everything else streams.
    double headBytes = last ? model.lmHeadBytes / tp : 0;
    double headFlops = last ? 2.0 * rows * model.lmHeadElements / tp : 0;
    auto work = [&](double tokens, double flops, double attention,
                    double hbmBytes, double kv, double experts, bool eager) {
      PhaseWork w;
      // A tied lm head reads the embedding table the first stage holds.
      double headInDense = last && (!model.tied || !first) ? headBytes : 0;
      double projectionBytes =
          std::max(0.0, denseBytes - headInDense -
                            (first ? model.embeddingBytes / tp : 0)) +
          experts;
      w.addGemm(tokens, model.w8a8, projectionBytes, flops - headFlops);
      if (headBytes > 0)
        w.addGemm(rows, false, headBytes, headFlops);
      w.streamBytes =
          std::max(0.0, hbmBytes - kv - projectionBytes - headBytes);
      w.attentionFlops = attention;
      w.kvBytes = kv;
      w.launches = kernels;
      w.eager = eager;
      return w;
    };
    stage.prefillWork = work(prefillTokens, prefillFlops, prefillAttention,
                             stage.prefillHbmBytes, kvWrite, expertBytes, true);
    stage.decodeWork =
        work(decodeTokens, decodeFlops, decodeAttention, stage.decodeHbmBytes,
             kvRead, expertBytes * expertsTouched, false);
    stage.prefillTerms =
        cost::phaseTerms(hardware, model.computeBytes, stage.prefillWork);
    stage.decodeTerms =
        cost::phaseTerms(hardware, model.computeBytes, stage.decodeWork);
    stage.prefillComputeSeconds = stage.prefillTerms.sum();
    stage.decodeComputeSeconds = stage.decodeTerms.sum();
    stage.prefillCommSeconds = prefillComm;
    stage.decodeCommSeconds = decodeComm;
    stage.prefillSeconds =
        std::max(stage.prefillComputeSeconds, stage.prefillCommSeconds);
    stage.decodeSeconds = stage.decodeComputeSeconds + stage.decodeCommSeconds;
    prefillStage.push_back(stage.prefillSeconds);
    decodeStage.push_back(stage.decodeSeconds);
    report.prefillTerms += stage.prefillTerms;
    report.decodeTerms += stage.decodeTerms;
    report.prefillWork += stage.prefillWork;
    report.decodeWork += stage.decodeWork;
    report.kernels += stage.kernels;
    // Per-GPU figures are the busiest stage's, all parts of one stage.
    if (stage.totalBytes() > busiestTotal) {
      busiestTotal = stage.totalBytes();
      report.weightBytesPerGpu = stage.weightBytes;
      report.kvCacheBytesPerGpu = stage.kvCacheBytes;
      report.activationBytesPerGpu = stage.activationBytes;
      report.totalBytesPerGpu = stage.totalBytes();
    }
    report.commBytesPerToken = std::max(report.commBytesPerToken, decodeSent);
    report.commBytesPerPrefill =
        std::max(report.commBytesPerPrefill, prefillSent);
  }

  // Boundaries: one [rows, tokens, hidden] activation each.
  std::vector<double> prefillTransfer, decodeTransfer;
  for (size_t s = 1; s < starts.size(); ++s) {
    const LinkSpec &link = ppNodes > 1 ? inter : intra;
    prefillTransfer.push_back(link.seconds(rows * seqPerRank * h * act));
    decodeTransfer.push_back(link.seconds(rows * h * act));
  }
  cost::finishTimes(report, prefillStage, prefillTransfer, decodeStage,
                    decodeTransfer, m, hardware, workload);
  return report;
}

} // namespace llmc
