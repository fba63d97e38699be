//===- SequenceParallel.cpp - sequence split over sp, ring attention ------===//
//
// Everything but attention is per token, so splitting the sequence needs
// only two changes: attention becomes ring attention over the sp axis, and
// the final hidden state, which lives on the rank holding the last token,
// is collected by gathering one row per rank rather than the whole sequence.
//
//===----------------------------------------------------------------------===//

#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Passes.h"

#include "mlir/IR/Builders.h"

#define DEBUG_TYPE "llm-shard-sequence-parallel"

namespace llmc {
#define GEN_PASS_DEF_SEQUENCEPARALLEL
#include "passes/sharding/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;

namespace {

void toRingAttention(llm::AttentionOp attn, int64_t sp, int64_t axis) {
  OpBuilder builder(attn);
  auto ring = dist::RingAttentionOp::create(
      builder, attn.getLoc(), attn.getType(), attn.getQ(), attn.getK(),
      attn.getV(), attn.getPositions(), attn.getCache(),
      attn.getCacheSlotAttr(), attn.getNumHeadsAttr(),
      attn.getNumKvHeadsAttr(), attn.getHeadDimAttr(), attn.getCausalAttr(),
      attn.getSlidingWindowAttr(), attn.getScaleAttr(),
      FlatSymbolRefAttr::get(builder.getContext(), kGridName),
      builder.getI64IntegerAttr(axis), builder.getI64IntegerAttr(sp - 1));
  attn.getResult().replaceAllUsesWith(ring.getResult());
  attn.erase();
}

/// last_token(h) -> last_token(all_gather(last_token(h))) over sp.
void gatherLastToken(llm::LastTokenOp last, int64_t sp, int64_t axis) {
  OpBuilder builder(last);
  auto type = cast<RankedTensorType>(last.getType());
  auto local = llm::LastTokenOp::create(builder, last.getLoc(), type,
                                        last.getInput());
  auto gatheredType = RankedTensorType::get(
      {type.getDimSize(0), sp, type.getDimSize(2)}, type.getElementType());
  auto gather = shard::AllGatherOp::create(
      builder, last.getLoc(), gatheredType,
      FlatSymbolRefAttr::get(builder.getContext(), kGridName),
      builder.getDenseI16ArrayAttr({static_cast<int16_t>(axis)}),
      local.getResult(), builder.getIndexAttr(1));
  last.getInputMutable().assign(gather.getResult());
}

struct SequenceParallelPass
    : public llmc::impl::SequenceParallelBase<SequenceParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<GridInfo> grid = findGrid(module);
    if (!grid || grid->degree("sp") == 1)
      return;
    auto forward = llm::lookupEntry(module);
    if (!forward) {
      module.emitError() << "expected a func.func @forward to split";
      return signalPassFailure();
    }
    int64_t sp = grid->degree("sp"), axis = *grid->axisIndex("sp");
    SmallVector<llm::AttentionOp> attentions;
    SmallVector<llm::LastTokenOp> lasts;
    forward.walk([&](Operation *op) {
      if (auto attn = dyn_cast<llm::AttentionOp>(op))
        attentions.push_back(attn);
      else if (auto last = dyn_cast<llm::LastTokenOp>(op))
        lasts.push_back(last);
    });
    for (llm::AttentionOp attn : attentions)
      toRingAttention(attn, sp, axis);
    for (llm::LastTokenOp last : lasts)
      gatherLastToken(last, sp, axis);
    dist::setPlan(module, grid->plan.withSequenceAxis("sp"));
  }
};

} // namespace
