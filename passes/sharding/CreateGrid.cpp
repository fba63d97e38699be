//===- CreateGrid.cpp - validate a sharding plan, create its grid ---------===//
//
// Every rule a plan must satisfy is checked here, before any rewriting, so a
// user gets the refusal with the reason and the valid alternatives rather
// than a half-sharded module. Diagnostics are emitted at the op the rule is
// about (the attention op for head counts, the MLP for its width, ...).
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Passes.h"
#include "llmc/Passes/PlanRules.h"
#include "llmc/Passes/ShardSpec.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#define DEBUG_TYPE "llm-shard-create-grid"

namespace llmc {
#define GEN_PASS_DEF_CREATEGRID
#include "passes/sharding/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;

//===----------------------------------------------------------------------===//
// Model facts the rules need
//===----------------------------------------------------------------------===//

/// What the plan rules look at, gathered once from @forward.
struct llmc::PlanRules::Facts {
  func::FuncOp forward;
  SmallVector<llm::AttentionOp> attentions;
  /// Ops whose width tensor parallelism splits, with that width.
  SmallVector<std::pair<Operation *, int64_t>> mlpWidths;
  SmallVector<llm::ExpertsOp> experts;
  int64_t numLayers = 0;
};

namespace {

using ModelFacts = PlanRules::Facts;

ModelFacts gatherFacts(func::FuncOp forward) {
  ModelFacts facts;
  facts.forward = forward;
  forward.walk([&](Operation *op) {
    if (isa<llm::DecoderLayerOp>(op))
      ++facts.numLayers;
    else if (auto attn = dyn_cast<llm::AttentionOp>(op))
      facts.attentions.push_back(attn);
    else if (auto swiglu = dyn_cast<llm::SwiGLUOp>(op))
      facts.mlpWidths.push_back(
          {op, cast<RankedTensorType>(swiglu.getType()).getShape().back()});
    else if (auto experts = dyn_cast<llm::ExpertsOp>(op)) {
      facts.experts.push_back(experts);
      facts.mlpWidths.push_back(
          {op, cast<RankedTensorType>(experts.getGateWeights()[0].getType())
                   .getDimSize(0)});
    } else if (auto shared = dyn_cast<llm::SharedExpertOp>(op))
      facts.mlpWidths.push_back(
          {op, cast<RankedTensorType>(shared.getGate().getType()).getDimSize(0)});
  });
  return facts;
}

//===----------------------------------------------------------------------===//
// Tensor-parallel rules
//===----------------------------------------------------------------------===//

/// Why `tp` cannot shard this model, with the op the reason is about; empty
/// when it can.
std::pair<std::string, Operation *> tpProblem(const ModelFacts &facts,
                                              int64_t tp) {
  for (llm::AttentionOp attn : facts.attentions) {
    int64_t heads = attn.getNumHeads(), kv = attn.getNumKvHeads();
    if (heads % tp != 0)
      return {llvm::formatv("tp = {0} does not divide num_heads = {1}", tp,
                            heads),
              attn};
    if (kv % tp != 0 && tp % kv != 0)
      return {llvm::formatv("tp = {0} neither divides num_kv_heads = {1} nor "
                            "is a multiple of it (kv heads are split when "
                            "tp divides {1} and replicated when tp is a "
                            "multiple of {1})",
                            tp, kv),
              attn};
  }
  for (auto [op, width] : facts.mlpWidths)
    if (width % tp != 0)
      return {llvm::formatv("tp = {0} does not divide the MLP width {1} of "
                            "'{2}'",
                            tp, width, op->getName().getStringRef()),
              op};
  return {"", nullptr};
}

std::string validTpDegrees(const ModelFacts &facts) {
  // Heads bound tp when there is attention; otherwise the widest MLP does.
  int64_t maxTp = 1;
  if (!facts.attentions.empty())
    maxTp = llm::AttentionOp(facts.attentions.front()).getNumHeads();
  else
    for (auto [op, width] : facts.mlpWidths)
      maxTp = std::max(maxTp, width);
  SmallVector<std::string> valid;
  for (int64_t t = 1; t <= maxTp; ++t)
    if (tpProblem(facts, t).first.empty())
      valid.push_back(std::to_string(t));
  return llvm::join(valid, ", ");
}

} // namespace

//===----------------------------------------------------------------------===//
// The rules
//===----------------------------------------------------------------------===//

llmc::PlanRules::PlanRules(func::FuncOp forward)
    : facts(std::make_unique<Facts>(gatherFacts(forward))) {}
llmc::PlanRules::~PlanRules() = default;
llmc::PlanRules::PlanRules(PlanRules &&) = default;

PlanProblem llmc::PlanRules::check(const ShardSpec &plan) const {
  const Facts &f = *facts;
  Operation *forward = f.forward;
  if (int64_t tp = plan.degree(Axis::tp); tp > 1) {
    auto [problem, op] = tpProblem(f, tp);
    if (!problem.empty())
      return {problem +
                  "; valid tp degrees for this model: " + validTpDegrees(f),
              op};
  }
  if (int64_t pp = plan.degree(Axis::pp); pp > 1 && f.numLayers == 0)
    return {llvm::formatv("pp = {0} needs decoder layers to split into "
                          "stages, but @forward has no llm.decoder_layer",
                          pp)
                .str(),
            forward};
  if (int64_t pp = plan.degree(Axis::pp); pp > 1 && pp > f.numLayers)
    return {llvm::formatv("pp = {0} exceeds the {1} decoder layers; each "
                          "pipeline stage needs at least one layer (valid pp "
                          "degrees: 1 to {1})",
                          pp, f.numLayers)
                .str(),
            forward};
  if (int64_t ep = plan.degree(Axis::ep); ep > 1) {
    if (f.experts.empty())
      return {llvm::formatv("ep = {0} needs a mixture-of-experts model, but "
                            "this model has no experts; use tp, pp or dp "
                            "instead",
                            ep)
                  .str(),
              forward};
    for (llm::ExpertsOp experts : f.experts)
      if (ep > static_cast<int64_t>(experts.getNumExperts()))
        return {llvm::formatv("ep = {0} exceeds the {1} experts of this "
                              "layer; every ep rank must own at least one "
                              "expert (valid ep degrees: 1 to {1})",
                              ep, experts.getNumExperts())
                    .str(),
                experts};
  }
  return {};
}

namespace {

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct CreateGridPass : public llmc::impl::CreateGridBase<CreateGridPass> {
  using CreateGridBase::CreateGridBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::Expected<ShardSpec> parsed = parseShardSpec(spec);
    if (!parsed) {
      emitError(module.getLoc()) << llvm::toString(parsed.takeError());
      return signalPassFailure();
    }
    if (parsed->isAuto) {
      emitError(module.getLoc())
          << "spec 'auto' is resolved by the tools before the pipeline runs "
             "(llm-opt, llm-run or llm-compile --shard=auto --gpus=N "
             "--hardware=NAME); this pass takes a concrete plan such as "
             "tp4,pp2";
      return signalPassFailure();
    }
    if (failed(check(module, *parsed)))
      return signalPassFailure();
    if (parsed->numRanks() == 1)
      return;
    createGrid(module, *parsed);
  }

  LogicalResult check(ModuleOp module, const ShardSpec &plan) {
    if (findGrid(module))
      return emitError(module.getLoc())
             << "module is already sharded (it has a shard.grid); shard the "
                "unsharded graph from llm-import instead";
    if (microbatches < 1)
      return emitError(module.getLoc())
             << "--microbatches must be >= 1, got " << microbatches.getValue();
    int64_t ranks = plan.numRanks();
    if (gpus < 0)
      return emitError(module.getLoc())
             << "--gpus must be >= 1 (0 in the pass option: the plan's "
                "product), got "
             << gpus.getValue();
    if (gpus > 0 && ranks > gpus)
      return emitError(module.getLoc())
             << "plan '" << plan.str() << "' needs " << ranks
             << " GPUs but --gpus=" << gpus.getValue()
             << " provides only " << gpus.getValue()
             << "; reduce a degree so their product is at most "
             << gpus.getValue();
    auto forward = llm::lookupEntry(module);
    if (!forward)
      return emitError(module.getLoc())
             << "expected a func.func @forward (from llm-import) to shard";
    PlanProblem problem = PlanRules(forward).check(plan);
    if (!problem.ok())
      return emitError(problem.op->getLoc()) << problem.message;
    return success();
  }

  void createGrid(ModuleOp module, const ShardSpec &plan) {
    OpBuilder builder(module.getContext());
    builder.setInsertionPointToStart(module.getBody());
    rt::Grid grid = plan.grid();
    grid.microbatches = microbatches;
    shard::GridOp::create(builder, module.getLoc(), kGridName,
                          builder.getDenseI64ArrayAttr(grid.shape));
    dist::setPlan(module, dist::PlanAttr::get(module.getContext(), grid));
  }
};

} // namespace
