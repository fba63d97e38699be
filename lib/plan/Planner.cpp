//===- Planner.cpp - choose a sharding plan for N GPUs --------------------===//
//
// Validity is decided by the sharding pipeline itself, not re-implemented
// here: each candidate is sharded on a clone of the imported module with
// diagnostics captured, so when a pass learns a new rule (or a new axis such
// as ep or sp starts working) the planner follows without a change.
//
//===----------------------------------------------------------------------===//

#include "llmc/Plan/Planner.h"

#include "llmc/Dialect/Llm/LlmDialect.h"
#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/PlanRules.h"
#include "llmc/Plan/Estimate.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ThreadPool.h"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

using namespace mlir;
using namespace llvm;

namespace llmc {

StringRef objectiveName(Objective objective) {
  return objective == Objective::Latency ? "latency" : "throughput";
}

std::vector<ShardSpec> enumerateSpecs(int64_t gpus) {
  std::vector<ShardSpec> specs;
  if (gpus < 1)
    return specs;
  // Each degree divides what the outer ones leave, so no product is ever
  // formed that could overflow (tp*pp*ep*sp did for --gpus=65536).
  auto divisorsOf = [](int64_t n) {
    SmallVector<int64_t> divisors, large;
    for (int64_t d = 1; d <= n / d; ++d)
      if (n % d == 0) {
        divisors.push_back(d);
        if (d != n / d)
          large.push_back(n / d);
      }
    divisors.append(large.rbegin(), large.rend());
    return divisors;
  };
  // tp outermost in the loop so the list reads tp-major, like the reports.
  for (int64_t tp : divisorsOf(gpus))
    for (int64_t pp : divisorsOf(gpus / tp))
      for (int64_t ep : divisorsOf(gpus / tp / pp))
        for (int64_t sp : divisorsOf(gpus / tp / pp / ep)) {
          ShardSpec spec;
          spec.setDegree(Axis::tp, tp);
          spec.setDegree(Axis::pp, pp);
          spec.setDegree(Axis::ep, ep);
          spec.setDegree(Axis::sp, sp);
          spec.setDegree(Axis::dp, gpus / tp / pp / ep / sp);
          specs.push_back(spec);
        }
  return specs;
}

Expected<Topology> makeTopology(const HardwareSpec &hardware, int64_t gpus,
                                int64_t nodes) {
  if (gpus < 1)
    return createStringError(inconvertibleErrorCode(),
                             formatv("--gpus must be >= 1, got {0}", gpus));
  if (gpus > kMaxPlannerGpus)
    return createStringError(
        inconvertibleErrorCode(),
        formatv("--gpus={0} is more than the planner plans for: at most {1} "
                "GPUs (one grid of {1} ranks); plan one replica's share and "
                "scale out with data parallelism",
                gpus, kMaxPlannerGpus));
  if (nodes < 0)
    return createStringError(inconvertibleErrorCode(),
                             formatv("--nodes must be >= 1, got {0}", nodes));
  Topology topology;
  topology.gpus = gpus;
  if (nodes == 0) {
    topology.gpusPerNode = std::min(gpus, hardware.gpusPerNode);
    return topology;
  }
  if (gpus % nodes != 0)
    return createStringError(
        inconvertibleErrorCode(),
        formatv("--gpus={0} does not split evenly over --nodes={1}; give a "
                "GPU count that is a multiple of the node count",
                gpus, nodes));
  if (gpus / nodes > hardware.gpusPerNode)
    return createStringError(
        inconvertibleErrorCode(),
        formatv("--gpus={0} over --nodes={1} puts {2} GPUs in a node, but a "
                "{3} node holds {4}; use --nodes={5} or more",
                gpus, nodes, gpus / nodes, hardware.name, hardware.gpusPerNode,
                (gpus + hardware.gpusPerNode - 1) / hardware.gpusPerNode));
  topology.gpusPerNode = gpus / nodes;
  return topology;
}

namespace {

std::string gb(double bytes) { return formatv("{0:F1}", bytes / 1e9).str(); }

/// Collects the first error each candidate's sharding pipeline emits.
/// Candidates are sharded concurrently on one context, whose diagnostic
/// handlers are shared, so errors are attributed by the thread that emits
/// them (the passes are module passes and run on the thread that runs the
/// pass manager).
class ErrorCollector {
public:
  ErrorCollector(MLIRContext *context, size_t candidates)
      : errors(candidates),
        handler(context, [this](Diagnostic &diag) { return record(diag); }) {}

  /// Attributes diagnostics of the calling thread to `candidate` while alive.
  class Scope {
  public:
    Scope(ErrorCollector &collector, size_t candidate) : collector(collector) {
      std::lock_guard<std::mutex> lock(collector.mutex);
      auto [it, inserted] =
          collector.working.try_emplace(std::this_thread::get_id(), candidate);
      if (!inserted) {
        previous = it->second;
        it->second = candidate;
      }
    }
    ~Scope() {
      std::lock_guard<std::mutex> lock(collector.mutex);
      if (previous)
        collector.working[std::this_thread::get_id()] = *previous;
      else
        collector.working.erase(std::this_thread::get_id());
    }

  private:
    ErrorCollector &collector;
    std::optional<size_t> previous;
  };

  std::string error(size_t candidate) {
    std::lock_guard<std::mutex> lock(mutex);
    return errors[candidate];
  }

private:
  LogicalResult record(Diagnostic &diag) {
    // Warnings and remarks of rejected candidates are not the user's concern.
    if (diag.getSeverity() != DiagnosticSeverity::Error)
      return success();
    std::lock_guard<std::mutex> lock(mutex);
    auto it = working.find(std::this_thread::get_id());
    if (it != working.end() && errors[it->second].empty())
      errors[it->second] = diag.str();
    return success();
  }

  std::mutex mutex;
  std::map<std::thread::id, size_t> working;
  std::vector<std::string> errors;
  ScopedDiagnosticHandler handler;
};

/// Runs the sharding pipeline on a clone of `model`; on refusal returns the
/// first error the passes emitted.
Expected<OwningOpRef<ModuleOp>> shardClone(ModuleOp model,
                                           const ShardSpec &spec,
                                           const PlannerOptions &options,
                                           ErrorCollector &errors,
                                           size_t candidate) {
  MLIRContext *context = model.getContext();
  OwningOpRef<ModuleOp> clone(model.clone());
  ErrorCollector::Scope scope(errors, candidate);
  PassManager pm(context, ModuleOp::getOperationName());
  ShardingOptions sharding;
  // The single-GPU plan prints as "", which --shard refuses as empty;
  // "tp1" is the same plan and still runs the pass's checks.
  sharding.spec = spec.numRanks() == 1 ? "tp1" : spec.str();
  sharding.gpus = options.gpus;
  sharding.microbatches = options.microbatches;
  buildShardingPipeline(pm, sharding);
  if (failed(pm.run(*clone))) {
    std::string error = errors.error(candidate);
    return createStringError(inconvertibleErrorCode(),
                             error.empty()
                                 ? "the sharding pipeline refused the plan"
                                 : error);
  }
  return std::move(clone);
}

/// What the deployment rules read besides the spec: from the sharded
/// program's cost, or (analytic search) from the spec and the options.
struct DeploymentFacts {
  bool w8a8 = false;
  int64_t batchSplit = 1;
  int64_t microbatches = 1;
  int64_t sequencesPerRank = 1;
};

DeploymentFacts factsOf(const CostReport &cost) {
  return {cost.usesFp8TensorCores(), cost.batchSplit, cost.microbatches,
          cost.sequencesPerRank};
}

/// Why a plan cannot be deployed, memory aside; empty when it can.
std::string ruleProblem(const ShardSpec &spec, const DeploymentFacts &facts,
                        const HardwareSpec &hardware, const Topology &topology,
                        const PlannerOptions &options) {
  if (facts.w8a8 && hardware.fp8FlopsPerSecond <= 0)
    return formatv("W8A8 FP8 linears need FP8 tensor cores, which {0} lacks "
                   "(fp8_tflops = 0); quantize weights only (--quantize=fp8: "
                   "FP8 weights widened to bf16 in the GEMMs)",
                   hardware.name);
  if (int64_t tp = spec.degree(Axis::tp); tp > 1) {
    int64_t nodes = groupSpan(tp, 1, topology).first;
    if (nodes > 1)
      return formatv("tp = {0} spans {1} nodes ({2} GPUs per node); tensor "
                     "parallelism's per-layer all-reduces need the intra-node "
                     "link ({3}), so keep tp <= {2}",
                     tp, nodes, topology.gpusPerNode, hardware.intraNode.name);
  }
  int64_t split = facts.batchSplit;
  if (options.workload.batch < split)
    return formatv("the batch is split over {0} ranks ({1}) but --batch={2} "
                   "leaves some of them without a sequence; use --batch >= "
                   "{0} or smaller degrees",
                   split,
                   spec.degree(Axis::ep) > 1 ? "dp x ep: ep ranks route their "
                                               "own rows"
                                             : "dp",
                   options.workload.batch);
  if (spec.degree(Axis::pp) > 1 && facts.microbatches > facts.sequencesPerRank)
    return formatv("--microbatches={0} needs at least {0} sequences per "
                   "pipeline, but each pipeline serves {1}; use --batch >= "
                   "{2} or fewer micro-batches",
                   facts.microbatches, facts.sequencesPerRank,
                   facts.microbatches * split);
  return "";
}

/// Why `cost`'s busiest GPU does not fit; empty when it does. `estimated`
/// marks an analytic estimate's verdict.
std::string memoryProblem(const CostReport &cost, const HardwareSpec &hardware,
                          bool estimated = false) {
  if (cost.totalBytesPerGpu <= hardware.usableBytes())
    return "";
  return formatv("out of memory{8}: needs {0} GB per GPU (weights {1} + KV "
                 "cache {2} + activations {3}) but one {4} offers {5} GB "
                 "({6:P0} of {7:F2} GiB)",
                 gb(cost.totalBytesPerGpu), gb(cost.weightBytesPerGpu),
                 gb(cost.kvCacheBytesPerGpu), gb(cost.activationBytesPerGpu),
                 hardware.name, gb(hardware.usableBytes()),
                 hardware.memoryUtilization,
                 hardware.memoryBytes / 1073741824.0,
                 estimated ? " (estimated, not sharded)" : "");
}

/// Why a sharded, analysed plan cannot be deployed; empty when it can.
std::string deploymentProblem(const ShardSpec &spec, const CostReport &cost,
                              const HardwareSpec &hardware,
                              const Topology &topology,
                              const PlannerOptions &options) {
  std::string problem =
      ruleProblem(spec, factsOf(cost), hardware, topology, options);
  return problem.empty() ? memoryProblem(cost, hardware) : problem;
}

/// The objective as a number to minimise.
double score(const CostReport &cost, Objective objective) {
  if (objective == Objective::Latency)
    return cost.endToEndSeconds;
  return cost.throughputTokensPerSecond > 0
             ? 1.0 / cost.throughputTokensPerSecond
             : std::numeric_limits<double>::infinity();
}

/// The analytic search shards at least this many of the best estimates, in
/// rounds of at least this many, and keeps going while a candidate's
/// estimate is within kEstimateSlack of the best sharded plan's estimate
/// (the estimate ranks well but is not exact: docs/planner.md).
constexpr size_t kMinSharded = 4;
constexpr double kEstimateSlack = 0.25;
/// Candidates whose estimated memory exceeds the usable memory by more than
/// this factor are refused without sharding.
constexpr double kMemorySlack = 1.2;

} // namespace

std::optional<int64_t> maxPositions(ModuleOp model) {
  if (auto attr =
          model->getAttrOfType<IntegerAttr>("llm.max_position_embeddings"))
    return attr.getInt();
  return std::nullopt;
}

Workload defaultWorkload(ModuleOp model) {
  Workload w;
  std::optional<int64_t> positions = maxPositions(model);
  if (!positions || w.context() <= *positions)
    return w;
  // Keep the output and shorten the prompt; a tiny model keeps 1/8 of its
  // positions for the output.
  w.outputLen =
      std::min<int64_t>(w.outputLen, std::max<int64_t>(1, *positions / 8));
  w.seqLen = std::max<int64_t>(1, *positions - w.outputLen);
  w.outputLen = std::min<int64_t>(w.outputLen, *positions - w.seqLen);
  return w;
}

Expected<PlanResult> planSharding(ModuleOp model, const HardwareSpec &hardware,
                                  const PlannerOptions &options) {
  Expected<Topology> topology =
      makeTopology(hardware, options.gpus, options.nodes);
  if (!topology)
    return topology.takeError();
  const Workload &w = options.workload;
  if (w.batch < 1)
    return createStringError(inconvertibleErrorCode(),
                             formatv("--batch must be >= 1, got {0}", w.batch));
  if (w.seqLen < 1)
    return createStringError(
        inconvertibleErrorCode(),
        formatv("--seq-len must be >= 1, got {0}", w.seqLen));
  if (w.outputLen < 0)
    return createStringError(
        inconvertibleErrorCode(),
        formatv("--output-len must be >= 0, got {0}", w.outputLen));
  if (options.microbatches < 1)
    return createStringError(
        inconvertibleErrorCode(),
        formatv("--microbatches must be >= 1, got {0}", options.microbatches));
  if (std::optional<int64_t> positions = maxPositions(model);
      positions && w.context() > *positions)
    return createStringError(
        inconvertibleErrorCode(),
        formatv("a prompt of {0} tokens plus {1} generated tokens needs {2} "
                "positions, but the model has {3} (max_position_embeddings), "
                "which llm-run and llm-compile refuse to exceed; use "
                "--seq-len + --output-len <= {3}",
                w.seqLen, w.outputLen, w.context(), *positions));
  if (findGrid(model))
    return createStringError(inconvertibleErrorCode(),
                             "the module is already sharded (it has a "
                             "shard.grid); plan the unsharded graph from "
                             "llm-import");
  auto forward = llm::lookupEntry(model);
  if (!forward || forward.isExternal())
    return createStringError(inconvertibleErrorCode(),
                             "expected a func.func @forward (a model from "
                             "llm-import) to plan");

  PlanResult result;
  result.hardware = hardware;
  result.topology = *topology;
  result.options = options;
  if (auto arch = model->getAttrOfType<StringAttr>(
          llm::LlmDialect::kArchitectureAttrName))
    result.model = arch.str();

  std::vector<ShardSpec> specs = enumerateSpecs(options.gpus);
  std::vector<PlanCandidate> candidates(specs.size());
  for (size_t i = 0; i < specs.size(); ++i)
    candidates[i].spec = specs[i];
  MLIRContext *context = model.getContext();
  {
    // A pass manager loads its passes' dialects when it starts; do it once
    // here so that the concurrent runs below never load a dialect.
    PassManager probe(context, ModuleOp::getOperationName());
    ShardingOptions sharding;
    sharding.spec = "tp1";
    buildShardingPipeline(probe, sharding);
    DialectRegistry dependent;
    probe.getDependentDialects(dependent);
    context->appendDialectRegistry(dependent);
    for (StringRef name : dependent.getDialectNames())
      context->getOrLoadDialect(name);
  }
  ErrorCollector errors(context, specs.size());
  auto evaluate = [&](size_t i) {
    PlanCandidate &candidate = candidates[i];
    candidate.cost.reset();
    candidate.estimated = false;
    Expected<OwningOpRef<ModuleOp>> sharded =
        shardClone(model, specs[i], options, errors, i);
    if (!sharded) {
      candidate.reason = toString(sharded.takeError());
      return;
    }
    Expected<CostReport> cost =
        analyzeShardedModule(**sharded, hardware, *topology, w);
    if (!cost) {
      candidate.reason = toString(cost.takeError());
      return;
    }
    candidate.cost = std::move(*cost);
    candidate.reason = deploymentProblem(specs[i], *candidate.cost, hardware,
                                         *topology, options);
    candidate.fits = candidate.reason.empty();
  };
  // Sharded candidates are independent: shard and price them in parallel on
  // the context's threads (serially when the context is single-threaded).
  auto evaluateAll = [&](ArrayRef<size_t> which) {
    if (context->isMultithreadingEnabled() && which.size() > 1) {
      llvm::ThreadPoolTaskGroup tasks(context->getThreadPool());
      for (size_t i : which)
        tasks.async([&evaluate, i] { evaluate(i); });
      tasks.wait();
    } else {
      for (size_t i : which)
        evaluate(i);
    }
  };

  if (options.exhaustive) {
    std::vector<size_t> all(specs.size());
    std::iota(all.begin(), all.end(), 0);
    evaluateAll(all);
  } else {
    // The analytic search: the passes' own rules and the deployment rules
    // refuse what they can without sharding, the estimate ranks the rest,
    // and the best few by estimate are sharded for real.
    Expected<ModelSummary> summary = summarizeModel(model);
    if (!summary)
      return summary.takeError();
    PlanRules rules(forward);
    // The one-GPU program is the model itself: its activation peak from
    // the cost model's liveness analysis calibrates the estimate's.
    double activationScale = 1;
    if (Expected<CostReport> whole =
            analyzeShardedModule(model, hardware, *topology, w)) {
      CostReport guess =
          estimatePlan(*summary, ShardSpec(), hardware, *topology, w, 1);
      if (guess.activationBytesPerGpu > 0)
        activationScale =
            whole->activationBytesPerGpu / guess.activationBytesPerGpu;
    } else {
      consumeError(whole.takeError());
    }
    std::vector<size_t> plausible;
    std::vector<double> estimate(specs.size(), 0.0);
    for (size_t i = 0; i < specs.size(); ++i) {
      PlanCandidate &candidate = candidates[i];
      const ShardSpec &spec = specs[i];
      PlanProblem problem = rules.check(spec);
      if (!problem.ok()) {
        candidate.reason = problem.message;
        continue;
      }
      int64_t split = spec.degree(Axis::dp) * spec.degree(Axis::ep);
      DeploymentFacts facts{
          summary->w8a8, split,
          spec.degree(Axis::pp) > 1 ? options.microbatches : 1,
          std::max<int64_t>(1, (w.batch + split - 1) / split)};
      candidate.reason = ruleProblem(spec, facts, hardware, *topology, options);
      if (!candidate.reason.empty())
        continue;
      candidate.cost = estimatePlan(*summary, spec, hardware, *topology, w,
                                    options.microbatches, activationScale);
      candidate.estimated = true;
      estimate[i] = score(*candidate.cost, options.objective);
      if (candidate.cost->totalBytesPerGpu >
          hardware.usableBytes() * kMemorySlack) {
        candidate.reason = memoryProblem(*candidate.cost, hardware, true);
        continue;
      }
      plausible.push_back(i);
    }
    // Too few plausible candidates (nothing fits by estimate, or one GPU):
    // shard the smallest of those the memory estimate refused as well, so
    // a verdict of "nothing fits" quotes the cost model's figures.
    if (plausible.size() < kMinSharded) {
      std::vector<size_t> refused;
      for (size_t i = 0; i < specs.size(); ++i)
        if (candidates[i].estimated && !llvm::is_contained(plausible, i))
          refused.push_back(i);
      llvm::sort(refused, [&](size_t a, size_t b) {
        return candidates[a].cost->totalBytesPerGpu <
               candidates[b].cost->totalBytesPerGpu;
      });
      for (size_t i : refused) {
        if (plausible.size() >= kMinSharded)
          break;
        plausible.push_back(i);
      }
    }
    std::stable_sort(plausible.begin(), plausible.end(),
                     [&](size_t a, size_t b) {
                       if (estimate[a] != estimate[b])
                         return estimate[a] < estimate[b];
                       return candidates[a].cost->totalBytesPerGpu <
                              candidates[b].cost->totalBytesPerGpu;
                     });
    size_t round = std::max<size_t>(
        kMinSharded,
        context->isMultithreadingEnabled() ? context->getNumThreads() : 1);
    size_t next = 0;
    double bestEstimate = std::numeric_limits<double>::infinity();
    while (next < plausible.size()) {
      if (next >= kMinSharded &&
          estimate[plausible[next]] > bestEstimate * (1 + kEstimateSlack))
        break;
      size_t end = std::min(plausible.size(), next + round);
      ArrayRef<size_t> batch(plausible.data() + next, end - next);
      evaluateAll(batch);
      for (size_t i : batch)
        if (candidates[i].fits)
          bestEstimate = std::min(bestEstimate, estimate[i]);
      next = end;
    }
    for (; next < plausible.size(); ++next) {
      size_t i = plausible[next];
      candidates[i].reason = formatv(
          "not sharded: estimated {0}, {1:P0} worse than the best sharded "
          "plan's estimate (--exhaustive shards every plan)",
          options.objective == Objective::Latency
              ? formatv("{0:F1} ms end-to-end",
                        candidates[i].cost->endToEndSeconds * 1e3)
                    .str()
              : formatv("{0:F1} tokens/s",
                        candidates[i].cost->throughputTokensPerSecond)
                    .str(),
          estimate[i] / bestEstimate - 1);
    }
    if (options.alsoShard)
      for (size_t i = 0; i < specs.size(); ++i)
        if (candidates[i].estimated &&
            specs[i].str() == options.alsoShard->str())
          evaluate(i);
  }
  std::vector<PlanCandidate> fitting, rejected;
  for (PlanCandidate &candidate : candidates)
    (candidate.fits ? fitting : rejected).push_back(std::move(candidate));

  auto better = [&](const PlanCandidate &a, const PlanCandidate &b) {
    const CostReport &x = *a.cost, &y = *b.cost;
    if (options.objective == Objective::Latency) {
      if (x.endToEndSeconds != y.endToEndSeconds)
        return x.endToEndSeconds < y.endToEndSeconds;
    } else if (x.throughputTokensPerSecond != y.throughputTokensPerSecond) {
      return x.throughputTokensPerSecond > y.throughputTokensPerSecond;
    }
    if (x.totalBytesPerGpu != y.totalBytesPerGpu)
      return x.totalBytesPerGpu < y.totalBytesPerGpu;
    return a.spec.str() < b.spec.str();
  };
  std::stable_sort(fitting.begin(), fitting.end(), better);
  result.plans = std::move(fitting);
  for (PlanCandidate &candidate : rejected)
    result.plans.push_back(std::move(candidate));
  return result;
}

std::string summarizeNoFit(const PlanResult &result) {
  // The plans that got furthest: valid but too big, then the rest.
  const PlanCandidate *closest = nullptr;
  for (const PlanCandidate &plan : result.plans)
    if (plan.cost && (!closest || plan.cost->totalBytesPerGpu <
                                      closest->cost->totalBytesPerGpu))
      closest = &plan;
  std::string text = formatv("no plan for {0} x {1} fits", result.options.gpus,
                             result.hardware.name)
                         .str();
  if (closest)
    text +=
        formatv("; the smallest valid plan, '{0}', is rejected: {1}",
                closest->spec.str().empty() ? "(1 GPU)" : closest->spec.str(),
                closest->reason)
            .str();
  else if (!result.plans.empty())
    text += "; every plan was refused, e.g. '" +
            result.plans.front().spec.str() +
            "': " + result.plans.front().reason;
  return text;
}

} // namespace llmc
