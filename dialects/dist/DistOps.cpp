//===- DistOps.cpp - dist dialect: registration, builders, verifiers ------===//

#include "dialects/dist/DistDialect.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace llmc::dist;

#include "dialects/dist/DistDialect.cpp.inc"

void DistDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/dist/DistOps.cpp.inc"
      >();
}

namespace {
/// Builds a single-block region whose arguments mirror `inputs`.
void buildBody(OperationState &state, ValueRange inputs) {
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), state.location);
}

/// Block arguments mirror the operands; the yield matches the results.
LogicalResult verifyBody(Operation *op, Region &region, ValueRange inputs,
                         TypeRange results, StringRef what) {
  Block &block = region.front();
  if (block.getNumArguments() != inputs.size())
    return op->emitOpError() << what << " body has " << block.getNumArguments()
                             << " arguments for " << inputs.size()
                             << " inputs";
  for (auto [i, arg, input] : llvm::enumerate(block.getArguments(), inputs))
    if (arg.getType() != input.getType())
      return op->emitOpError() << what << " body argument " << i
                               << " has type " << arg.getType()
                               << " but input has type " << input.getType();
  auto yield = cast<YieldOp>(block.getTerminator());
  if (TypeRange(yield.getValues().getTypes()) != results)
    return op->emitOpError() << what << " yields " << yield.getValues().size()
                             << " values whose types do not match its "
                             << results.size() << " results";
  return success();
}
} // namespace

void PipelineOp::build(OpBuilder &builder, OperationState &state,
                       int64_t microbatches, TypeRange resultTypes,
                       ValueRange inputs) {
  state.addAttribute(getMicrobatchesAttrName(state.name),
                     builder.getI64IntegerAttr(microbatches));
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  buildBody(state, inputs);
}

LogicalResult PipelineOp::verify() {
  if (getMicrobatches() < 1)
    return emitOpError() << "microbatches must be >= 1, got "
                         << getMicrobatches();
  return verifyBody(*this, getBody(), getInputs(), getResultTypes(),
                    "pipeline");
}

void StageOp::build(OpBuilder &builder, OperationState &state, int64_t stage,
                    int64_t firstLayer, int64_t endLayer,
                    TypeRange resultTypes, ValueRange inputs) {
  state.addAttribute(getStageAttrName(state.name),
                     builder.getI64IntegerAttr(stage));
  state.addAttribute(getFirstLayerAttrName(state.name),
                     builder.getI64IntegerAttr(firstLayer));
  state.addAttribute(getEndLayerAttrName(state.name),
                     builder.getI64IntegerAttr(endLayer));
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  buildBody(state, inputs);
}

LogicalResult StageOp::verify() {
  if (getStage() < 0)
    return emitOpError() << "stage index must be >= 0, got " << getStage();
  int64_t first = getFirstLayer(), end = getEndLayer();
  if (first < 0 || end < first)
    return emitOpError() << "layers [" << first << ", " << end
                         << ") must be a range with 0 <= first <= end";
  return verifyBody(*this, getBody(), getInputs(), getResultTypes(), "stage");
}

LogicalResult TransferOp::verify() {
  if (getFrom() == getTo())
    return emitOpError() << "transfers from stage " << getFrom()
                         << " to itself";
  if (getFrom() < 0 || getTo() < 0)
    return emitOpError() << "stage indices must be >= 0";
  return success();
}

LogicalResult
TransferOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto grid =
      symbolTable.lookupNearestSymbolFrom<shard::GridOp>(*this, getGridAttr());
  if (!grid)
    return emitOpError() << "'" << getGrid() << "' does not name a shard.grid";
  if (getAxis() < 0 || getAxis() >= grid.getRank())
    return emitOpError() << "axis " << getAxis() << " is outside grid '"
                         << getGrid() << "' of rank " << grid.getRank();
  int64_t size = grid.getShape()[getAxis()];
  if (!ShapedType::isDynamic(size) && (getFrom() >= size || getTo() >= size))
    return emitOpError() << "stages " << getFrom() << " -> " << getTo()
                         << " exceed the " << size << " coordinates of axis "
                         << getAxis();
  return success();
}

#define GET_OP_CLASSES
#include "dialects/dist/DistOps.cpp.inc"
