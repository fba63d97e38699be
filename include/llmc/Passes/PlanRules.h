//===- PlanRules.h - the model's rules for a sharding plan ------*- C++ -*-===//
//
// The rules a plan must satisfy that depend on the model: tp divides the
// head counts and MLP widths, pp does not exceed the decoder layers, ep needs
// experts and at most one rank per expert. llm-shard-create-grid checks them
// before any rewriting; the planner prunes candidates with the same rules, so
// a candidate it never shards is refused with the pass's own words.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_PLANRULES_H
#define LLMC_PASSES_PLANRULES_H

#include "llmc/Passes/ShardSpec.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <memory>
#include <string>

namespace llmc {

/// Why a plan cannot shard a model, and the op the reason is about.
struct PlanProblem {
  /// Empty when the plan satisfies every rule.
  std::string message;
  /// Where the pass reports it (an attention op, an MLP, @forward).
  mlir::Operation *op = nullptr;

  bool ok() const { return message.empty(); }
};

/// The model facts the rules read, gathered once from @forward, and the
/// rules themselves.
class PlanRules {
public:
  explicit PlanRules(mlir::func::FuncOp forward);
  ~PlanRules();
  PlanRules(PlanRules &&);

  /// The first rule `plan` breaks (tp, then pp, then ep), or an ok problem.
  PlanProblem check(const ShardSpec &plan) const;

  /// The gathered facts (defined in passes/sharding/CreateGrid.cpp).
  struct Facts;

private:
  std::unique_ptr<Facts> facts;
};

/// Splits `costs` into `parts` contiguous non-empty groups minimising the
/// largest group sum (the linear-partition dynamic program); returns the
/// start index of each group. Ties prefer earlier cuts, so the result is
/// deterministic. llm-pipeline-split cuts the decoder layers with it and the
/// planner's estimate predicts those cuts with it.
llvm::SmallVector<size_t> linearPartition(llvm::ArrayRef<int64_t> costs,
                                          int64_t parts);

} // namespace llmc

#endif // LLMC_PASSES_PLANRULES_H
