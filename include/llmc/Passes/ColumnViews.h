//===- ColumnViews.h - which projections write column views ------*- C++ -*-===//
//
// llm-lower-to-emitc gives q, k and v one [rows, q|k|v] buffer and passes
// column views of it (runtime/abi/Ops.h `columns`), so one GEMM writes all
// three and no split kernel runs; the cost model counts that group's
// launches accordingly. Both ask this rule.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_COLUMNVIEWS_H
#define LLMC_PASSES_COLUMNVIEWS_H

#include "llmc/Dialect/Llm/LlmDialect.h"

#include "llvm/ADT/STLExtras.h"

namespace llmc {

/// Whether `l`'s result may be a column view of one q|k|v buffer: bf16
/// weight, no bias, and read only by attention, directly or through a rope
/// (in place) that only attention reads. Those runtime calls take row
/// strides; the others take dense rows.
inline bool writesColumnView(llm::LinearOp l) {
  auto weight = mlir::dyn_cast<mlir::RankedTensorType>(l.getWeight().getType());
  if (l.getBias() || !weight || !weight.getElementType().isBF16() ||
      l.getResult().use_empty())
    return false;
  auto attentionOnly = [](mlir::Value v) {
    return llvm::all_of(v.getUsers(), [](mlir::Operation *user) {
      return mlir::isa<llm::AttentionOp>(user);
    });
  };
  return llvm::all_of(l.getResult().getUsers(), [&](mlir::Operation *user) {
    if (mlir::isa<llm::AttentionOp>(user))
      return true;
    auto rope = mlir::dyn_cast<llm::RopeOp>(user);
    return rope && attentionOnly(rope.getResult());
  });
}

} // namespace llmc

#endif // LLMC_PASSES_COLUMNVIEWS_H
