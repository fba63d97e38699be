//===- ExpertParallel.cpp - experts over the grid's ep axis ---------------===//
//
// Experts are placed contiguously on ep coordinates and every MoE layer is
// wrapped in a dispatch/combine pair of all-to-alls. The dense part of the
// model runs data-parallel over ep, so tokens are spread over the ep ranks
// and each expert sees only the tokens routed to it.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Passes.h"

#include "mlir/IR/Builders.h"

#define DEBUG_TYPE "llm-shard-expert-parallel"

namespace llmc {
#define GEN_PASS_DEF_EXPERTPARALLEL
#include "passes/sharding/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;

namespace {

/// Contiguous assignment of `experts` to `ranks` coordinates; when ranks do
/// not divide experts, the first experts % ranks coordinates take one more.
SmallVector<int64_t> assignOwners(int64_t experts, int64_t ranks) {
  SmallVector<int64_t> owners;
  int64_t base = experts / ranks, extra = experts % ranks;
  for (int64_t r = 0; r < ranks; ++r)
    for (int64_t i = 0; i < base + (r < extra ? 1 : 0); ++i)
      owners.push_back(r);
  return owners;
}

LogicalResult distribute(ModuleOp module, SymbolTable &symbols,
                         llm::ExpertsOp experts, int64_t ep, int64_t axis) {
  MLIRContext *context = module.getContext();
  int64_t numExperts = experts.getNumExperts();
  if (experts.getNumLocalExperts() != numExperts)
    return experts.emitError() << "expert parallelism expects all "
                               << numExperts << " experts in one op";
  SmallVector<int64_t> owners = assignOwners(numExperts, ep);
  experts.setOwnerAxis("ep");
  experts.setOwners(owners);
  for (unsigned i = 0; i < experts.getNumLocalExperts(); ++i) {
    auto owner = llm::OwnerAttr::get(context, "ep", owners[i]);
    // Scales travel with their expert's weights.
    for (Value weight : experts.getExpertOperands(i)) {
      auto param = weight.getDefiningOp<llm::ParamOp>();
      if (!param)
        return experts.emitError() << "expert weights must come from llm.param";
      symbols.lookup<llm::WeightOp>(param.getName()).setOwnerAttr(owner);
    }
  }

  OpBuilder builder(experts);
  Location loc = experts.getLoc();
  Value input = experts.getInput();
  auto inputType = cast<RankedTensorType>(input.getType());
  int64_t dyn = ShapedType::kDynamic;
  auto tokensType = RankedTensorType::get({1, dyn, inputType.getDimSize(2)},
                                          inputType.getElementType());
  auto weightsType = RankedTensorType::get(
      {1, dyn, 1},
      cast<RankedTensorType>(experts.getRoutingWeights().getType())
          .getElementType());
  auto indicesType = RankedTensorType::get(
      {1, dyn, 1},
      cast<RankedTensorType>(experts.getRoutingIndices().getType())
          .getElementType());
  auto routeType = RankedTensorType::get({dyn, 3}, builder.getI64Type());
  auto grid = FlatSymbolRefAttr::get(context, kGridName);
  auto dispatch = dist::ExpertDispatchOp::create(
      builder, loc, tokensType, weightsType, indicesType, routeType, input,
      experts.getRoutingWeights(), experts.getRoutingIndices(), grid,
      builder.getI64IntegerAttr(axis), builder.getDenseI64ArrayAttr(owners));
  experts.getInputMutable().assign(dispatch.getTokens());
  experts.getRoutingWeightsMutable().assign(dispatch.getTokenWeights());
  experts.getRoutingIndicesMutable().assign(dispatch.getTokenIndices());
  experts.getResult().setType(tokensType);

  builder.setInsertionPointAfter(experts);
  auto combine = dist::ExpertCombineOp::create(
      builder, loc, inputType, experts.getResult(), dispatch.getRoute(), input,
      grid, builder.getI64IntegerAttr(axis));
  experts.getResult().replaceAllUsesExcept(combine.getResult(), combine);
  return success();
}

struct ExpertParallelPass
    : public llmc::impl::ExpertParallelBase<ExpertParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<GridInfo> grid = findGrid(module);
    if (!grid || grid->degree("ep") == 1)
      return;
    int64_t ep = grid->degree("ep"), axis = *grid->axisIndex("ep");
    SmallVector<llm::ExpertsOp> all;
    module.walk([&](llm::ExpertsOp op) { all.push_back(op); });
    // One symbol table for the pass: ModuleOp::lookupSymbol scans the
    // module per call, quadratic on models with thousands of experts.
    SymbolTable symbols(module);
    for (llm::ExpertsOp experts : all)
      if (failed(distribute(module, symbols, experts, ep, axis)))
        return signalPassFailure();
  }
};

} // namespace
