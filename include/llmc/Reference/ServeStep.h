//===- ServeStep.h - the reference executor behind the serving engine -*- C++ -*-===//
//
// ReferenceModelStep implements runtime/serve's ModelStep on the CPU
// reference executor, for `llm-run serve`: every rank of the plan (tp, pp,
// ep, sp, dp) runs in process as llm-run --check runs them, each rank's KV
// cache is paged (numBlocks blocks of blockSize positions, plus one scratch
// block) and addressed through the scheduler's block tables, and tokens are
// sampled on the host with serve::sampleLogits, whose uniform is
// drawUniform(seed, drawIndex): the rule the GPU sampler follows too.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_SERVESTEP_H
#define LLMC_REFERENCE_SERVESTEP_H

#include "llmc/Reference/Executor.h"

#include "runtime/serve/ModelStep.h"

#include <memory>

namespace llmc::ref {

class ReferenceModelStep : public serve::ModelStep {
public:
  /// Serves `module` with `weights` (both outlive the step). `facts` gives
  /// the name, block size, number of blocks per replica, max model length
  /// and EOS ids; the vocabulary and the replicas come from the module.
  /// `memoryLimit` (0: the machine's memory) bounds the fp32 weights and
  /// KV caches of all ranks, checked before anything is allocated.
  static llvm::Expected<std::unique_ptr<ReferenceModelStep>>
  create(mlir::ModuleOp module, const WeightSource &weights,
         serve::ModelFacts facts, uint64_t memoryLimit = 0);

  const serve::ModelFacts &facts() const override { return facts_; }

  /// One step: each replica's tokens become rows of one @forward call (a
  /// row per token, its position and its sequence's block table; a
  /// sequence's rows are in order, so a prefill chunk's later tokens attend
  /// to the keys its earlier ones store in the same call). Replicas with
  /// fewer rows are padded with rows that write only the scratch block.
  serve::Expected<serve::StepResult> step(const serve::StepPlan &plan) override;

  /// The runner (for statistics).
  const PlanRunner &runner() const { return *runner_; }

private:
  ReferenceModelStep() = default;
  std::unique_ptr<PlanRunner> runner_;
  serve::ModelFacts facts_;
  int64_t microbatches_ = 1;
};

} // namespace llmc::ref

#endif // LLMC_REFERENCE_SERVESTEP_H
