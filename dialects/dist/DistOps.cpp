//===- DistOps.cpp - dist dialect: registration, the plan, ops -----------===//

#include "llmc/Dialect/Dist/DistDialect.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace llmc::dist;
namespace rt = llmc::rt;

#include "llmc/Dialect/Dist/DistOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "llmc/Dialect/Dist/DistOpsAttrs.cpp.inc"

void DistDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "llmc/Dialect/Dist/DistOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "llmc/Dialect/Dist/DistOpsAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// The plan
//===----------------------------------------------------------------------===//

namespace {

std::vector<std::string> toStrings(ArrayRef<StringAttr> names) {
  std::vector<std::string> result;
  for (StringAttr name : names)
    result.push_back(name.str());
  return result;
}

SmallVector<StringAttr> toAttrs(MLIRContext *context,
                                const std::vector<std::string> &names) {
  SmallVector<StringAttr> result;
  for (const std::string &name : names)
    result.push_back(StringAttr::get(context, name));
  return result;
}

rt::Grid toGrid(ArrayRef<StringAttr> axes, ArrayRef<int64_t> shape,
                int64_t microbatches, ArrayRef<StringAttr> batchAxes,
                StringAttr sequenceAxis) {
  rt::Grid grid;
  grid.axes = toStrings(axes);
  grid.shape.assign(shape.begin(), shape.end());
  grid.microbatches = microbatches;
  grid.batchAxes = toStrings(batchAxes);
  if (sequenceAxis)
    grid.sequenceAxis = sequenceAxis.str();
  return grid;
}

/// `[a, b]` of quoted axis names.
ParseResult parseNames(AsmParser &parser, SmallVectorImpl<StringAttr> &out) {
  return parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                        [&]() -> ParseResult {
                                          StringAttr name;
                                          if (parser.parseAttribute(name))
                                            return failure();
                                          out.push_back(name);
                                          return success();
                                        });
}

void printNames(AsmPrinter &printer, ArrayRef<StringAttr> names) {
  printer << "[";
  llvm::interleaveComma(names, printer,
                        [&](StringAttr name) { printer.printAttribute(name); });
  printer << "]";
}

} // namespace

PlanAttr PlanAttr::get(MLIRContext *context, const rt::Grid &grid) {
  return get(context, toAttrs(context, grid.axes), grid.shape,
             grid.microbatches, toAttrs(context, grid.batchAxes),
             grid.sequenceAxis ? StringAttr::get(context, *grid.sequenceAxis)
                               : StringAttr());
}

LogicalResult PlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               ArrayRef<StringAttr> axes,
                               ArrayRef<int64_t> shape, int64_t microbatches,
                               ArrayRef<StringAttr> batchAxes,
                               StringAttr sequenceAxis) {
  rt::Grid grid = toGrid(axes, shape, microbatches, batchAxes, sequenceAxis);
  if (std::optional<rt::GridProblem> problem = grid.check())
    return emitError() << "invalid #dist.plan: " << problem->field << ": "
                       << problem->message;
  return success();
}

/// `<axes = [...], shape = [...], microbatches = N` then, optionally,
/// `, batch_axes = [...]` and `, sequence_axis = "..."`, then `>`.
Attribute PlanAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<StringAttr> axes, batchAxes;
  SmallVector<int64_t> shape;
  int64_t microbatches = 1;
  StringAttr sequenceAxis;
  auto parseInteger = [&]() -> ParseResult {
    return parser.parseInteger(shape.emplace_back());
  };
  if (parser.parseLess() || parser.parseKeyword("axes") ||
      parser.parseEqual() || parseNames(parser, axes) || parser.parseComma() ||
      parser.parseKeyword("shape") || parser.parseEqual() ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     parseInteger) ||
      parser.parseComma() || parser.parseKeyword("microbatches") ||
      parser.parseEqual() || parser.parseInteger(microbatches))
    return {};
  bool sawBatch = false;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (key == "batch_axes" && !sawBatch && !sequenceAxis) {
      sawBatch = true;
      if (parseNames(parser, batchAxes))
        return {};
    } else if (key == "sequence_axis" && !sequenceAxis) {
      if (parser.parseAttribute(sequenceAxis))
        return {};
    } else {
      parser.emitError(keyLoc)
          << "unexpected #dist.plan field '" << key
          << "'; after microbatches come, each at most once and in this "
             "order, batch_axes and sequence_axis";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    axes, shape, microbatches, batchAxes, sequenceAxis);
}

void PlanAttr::print(AsmPrinter &printer) const {
  printer << "<axes = ";
  printNames(printer, getAxes());
  printer << ", shape = [";
  llvm::interleaveComma(getShape(), printer);
  printer << "], microbatches = " << getMicrobatches();
  if (!getBatchAxes().empty()) {
    printer << ", batch_axes = ";
    printNames(printer, getBatchAxes());
  }
  if (getSequenceAxis()) {
    printer << ", sequence_axis = ";
    printer.printAttribute(getSequenceAxis());
  }
  printer << ">";
}

rt::Grid PlanAttr::getGrid() const {
  return toGrid(getAxes(), getShape(), getMicrobatches(), getBatchAxes(),
                getSequenceAxis());
}

std::optional<int64_t> PlanAttr::axisIndex(StringRef name) const {
  for (auto [i, axis] : llvm::enumerate(getAxes()))
    if (axis.getValue() == name)
      return static_cast<int64_t>(i);
  return std::nullopt;
}

int64_t PlanAttr::degree(StringRef name) const {
  std::optional<int64_t> index = axisIndex(name);
  return index ? getShape()[*index] : 1;
}

PlanAttr PlanAttr::withBatchAxes(ArrayRef<StringRef> axes) const {
  SmallVector<StringAttr> names;
  for (StringRef axis : axes)
    names.push_back(StringAttr::get(getContext(), axis));
  return get(getContext(), getAxes(), getShape(), getMicrobatches(), names,
             getSequenceAxis());
}

PlanAttr PlanAttr::withSequenceAxis(StringRef axis) const {
  return get(getContext(), getAxes(), getShape(), getMicrobatches(),
             getBatchAxes(), StringAttr::get(getContext(), axis));
}

PlanAttr llmc::dist::getPlan(ModuleOp module) {
  return module->getAttrOfType<PlanAttr>(DistDialect::kPlanAttrName);
}

void llmc::dist::setPlan(ModuleOp module, PlanAttr plan) {
  module->setAttr(DistDialect::kPlanAttrName, plan);
}

/// The plan lives on the module beside the grid it names; any other `dist.`
/// attribute (such as the loose `dist.axes` or `dist.batch_axes` of older
/// modules) is refused rather than silently ignored.
LogicalResult DistDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  if (attr.getName() != kPlanAttrName)
    return op->emitError()
           << "'" << attr.getName().getValue()
           << "' is not an attribute of the dist dialect; a sharded module "
              "states its plan in one '"
           << kPlanAttrName << " = #dist.plan<...>' module attribute";
  auto module = dyn_cast<ModuleOp>(op);
  if (!module)
    return op->emitError() << "'" << kPlanAttrName
                           << "' belongs on the module, not on '"
                           << op->getName() << "'";
  auto plan = dyn_cast<PlanAttr>(attr.getValue());
  if (!plan)
    return op->emitError() << "'" << kPlanAttrName
                           << "' must be a #dist.plan attribute, got "
                           << attr.getValue();
  auto grid = dyn_cast_or_null<shard::GridOp>(
      SymbolTable::lookupSymbolIn(module, kGridName));
  if (!grid)
    return op->emitError() << "'" << kPlanAttrName
                           << "' names the axes of the module's shard.grid @"
                           << kGridName << ", but the module has none";
  if (grid.getShape() != plan.getShape()) {
    InFlightDiagnostic diag = op->emitError();
    diag << "'" << kPlanAttrName << "' has shape [";
    llvm::interleaveComma(plan.getShape(), diag);
    diag << "] but shard.grid @" << kGridName << " has shape [";
    llvm::interleaveComma(grid.getShape(), diag);
    return diag << "]; the plan names one axis per grid dimension";
  }
  return success();
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
  if (static_cast<int64_t>(getMicrobatches()) < 1)
    return emitOpError() << "microbatches must be >= 1, got "
                         << static_cast<int64_t>(getMicrobatches());
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
  if (static_cast<int64_t>(getStage()) < 0)
    return emitOpError() << "stage index must be >= 0, got "
                         << static_cast<int64_t>(getStage());
  int64_t first = static_cast<int64_t>(getFirstLayer()),
          end = static_cast<int64_t>(getEndLayer());
  if (first < 0 || end < first)
    return emitOpError() << "layers [" << first << ", " << end
                         << ") must be a range with 0 <= first <= end";
  return verifyBody(*this, getBody(), getInputs(), getResultTypes(), "stage");
}

LogicalResult TransferOp::verify() {
  if (getFrom() == getTo())
    return emitOpError() << "transfers from stage " << getFrom()
                         << " to itself";
  if (static_cast<int64_t>(getFrom()) < 0 || static_cast<int64_t>(getTo()) < 0)
    return emitOpError() << "stage indices must be >= 0";
  return success();
}

namespace {
/// `grid` names a shard.grid and `axis` is one of its axes; returns the
/// axis size (dynamic when unknown).
FailureOr<int64_t> verifyGridAxis(Operation *op, FlatSymbolRefAttr gridName,
                                  int64_t axis,
                                  SymbolTableCollection &symbolTable) {
  auto grid = symbolTable.lookupNearestSymbolFrom<shard::GridOp>(op, gridName);
  if (!grid)
    return op->emitOpError() << "'" << gridName.getValue()
                             << "' does not name a shard.grid";
  if (axis < 0 || axis >= grid.getRank())
    return op->emitOpError() << "axis " << axis << " is outside grid '"
                             << gridName.getValue() << "' of rank "
                             << grid.getRank();
  return grid.getShape()[axis];
}

LogicalResult expectRank(Operation *op, Value value, int64_t rank,
                         StringRef what) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != rank)
    return op->emitOpError() << what << " must have rank " << rank << ", got "
                             << type;
  return success();
}
} // namespace

LogicalResult
TransferOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<int64_t> size =
      verifyGridAxis(*this, getGridAttr(), getAxis(), symbolTable);
  if (failed(size))
    return failure();
  if (!ShapedType::isDynamic(*size) && (getFrom() >= *size || getTo() >= *size))
    return emitOpError() << "stages " << getFrom() << " -> " << getTo()
                         << " exceed the " << *size << " coordinates of axis "
                         << getAxis();
  return success();
}

LogicalResult ExpertDispatchOp::verify() {
  if (failed(expectRank(*this, getInput(), 3, "input")) ||
      failed(expectRank(*this, getWeights(), 3, "weights")) ||
      failed(expectRank(*this, getIndices(), 3, "indices")) ||
      failed(expectRank(*this, getTokens(), 3, "tokens")) ||
      failed(expectRank(*this, getTokenWeights(), 3, "token weights")) ||
      failed(expectRank(*this, getTokenIndices(), 3, "token indices")) ||
      failed(expectRank(*this, getRoute(), 2, "route")))
    return failure();
  if (getOwners().empty())
    return emitOpError() << "needs the owner of every expert";
  for (auto [e, owner] : llvm::enumerate(getOwners()))
    if (owner < 0)
      return emitOpError() << "owner of expert " << e << " must be >= 0, got "
                           << owner;
  return success();
}

LogicalResult
ExpertDispatchOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<int64_t> size =
      verifyGridAxis(*this, getGridAttr(), getAxis(), symbolTable);
  if (failed(size))
    return failure();
  for (auto [e, owner] : llvm::enumerate(getOwners()))
    if (!ShapedType::isDynamic(*size) && owner >= *size)
      return emitOpError() << "owner " << owner << " of expert " << e
                           << " is outside the " << *size
                           << " coordinates of axis " << getAxis();
  return success();
}

LogicalResult ExpertCombineOp::verify() {
  if (failed(expectRank(*this, getExpertOutput(), 3, "expert output")) ||
      failed(expectRank(*this, getRoute(), 2, "route")) ||
      failed(expectRank(*this, getLike(), 3, "like")))
    return failure();
  if (getResult().getType() != getLike().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal the dispatched input's type "
                         << getLike().getType();
  return success();
}

LogicalResult
ExpertCombineOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return verifyGridAxis(*this, getGridAttr(), getAxis(), symbolTable);
}

LogicalResult RingAttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads();
  if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0)
    return emitOpError() << "num_heads " << getNumHeads()
                         << " must be a positive multiple of num_kv_heads "
                         << getNumKvHeads();
  if (static_cast<bool>(getCache()) != getCacheSlot().has_value())
    return emitOpError() << "a kv cache operand and a cache slot must be given "
                            "together";
  if (static_cast<int64_t>(getSteps()) < 1)
    return emitOpError() << "steps must be >= 1, got "
                         << static_cast<int64_t>(getSteps());
  return success();
}

LogicalResult
RingAttentionOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<int64_t> size =
      verifyGridAxis(*this, getGridAttr(), getAxis(), symbolTable);
  if (failed(size))
    return failure();
  if (!ShapedType::isDynamic(*size) && getSteps() != *size - 1)
    return emitOpError() << "a ring over " << *size << " ranks takes "
                         << *size - 1 << " steps, not " << getSteps();
  return success();
}

#define GET_OP_CLASSES
#include "llmc/Dialect/Dist/DistOps.cpp.inc"
