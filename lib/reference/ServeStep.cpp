//===- ServeStep.cpp - the reference executor behind the serving engine ---===//

#include "llmc/Reference/ServeStep.h"

#include "llmc/Reference/Interpreter.h"

#include "runtime/serve/Sampler.h"

#include <algorithm>

using llvm::createStringError;
using llvm::Expected;

namespace llmc::ref {

namespace {

serve::Status statusOf(llvm::Error error) {
  return serve::Status::error(llvm::toString(std::move(error)));
}

/// One row of a step's @forward call.
struct Row {
  int32_t token = 0;
  int64_t position = 0;
  const std::vector<int32_t> *table = nullptr; ///< null: the scratch block
};

} // namespace

Expected<std::unique_ptr<ReferenceModelStep>>
ReferenceModelStep::create(mlir::ModuleOp module, const WeightSource &weights,
                           serve::ModelFacts facts, uint64_t memoryLimit) {
  Expected<std::unique_ptr<PlanRunner>> runner =
      PlanRunner::create(module, weights);
  if (!runner)
    return runner.takeError();
  std::unique_ptr<ReferenceModelStep> step(new ReferenceModelStep());
  step->runner_ = std::move(*runner);
  const Program &program = step->runner_->program();
  std::optional<int64_t> vocab = step->runner_->vocabSize();
  if (!vocab)
    return createStringError("the module's vocabulary size is unknown (no "
                             "llm.embedding of a declared weight)");
  if (facts.blockSize < 1 || facts.numBlocks < 1 || facts.maxModelLen < 1)
    return createStringError("block size, blocks and max model length must "
                             "be >= 1 (got %d, %lld, %lld)",
                             facts.blockSize, (long long)facts.numBlocks,
                             (long long)facts.maxModelLen);
  facts.vocabSize = *vocab;
  facts.replicas = int32_t(program.grid.numReplicas());
  mlir::func::FuncOp(program.forward).walk([&](dist::PipelineOp op) {
    step->microbatches_ =
        std::max(step->microbatches_, int64_t(op.getMicrobatches()));
  });

  // One scratch block past the pool holds the padding rows' keys.
  int64_t pages = facts.numBlocks + 1;
  uint64_t limit = memoryLimit ? memoryLimit : physicalMemoryBytes();
  double weightBytes = 0;
  double need = step->runner_->estimateBytes(1, pages * facts.blockSize,
                                             &weightBytes);
  if (limit && need > double(limit))
    return createStringError(
        "serving needs about %.0f MiB (fp32 weights %.0f MiB, KV cache of "
        "%lld blocks of %d positions on every rank) but the memory limit is "
        "%.0f MiB; pass fewer --num-kv-blocks or a larger --memory-limit",
        need / 1048576.0, weightBytes / 1048576.0, (long long)facts.numBlocks,
        facts.blockSize, double(limit) / 1048576.0);
  int32_t blockSize = facts.blockSize;
  step->runner_->setCaches([&] { return KVCache::paged(pages, blockSize); });
  step->facts_ = std::move(facts);
  return step;
}

serve::Expected<serve::StepResult>
ReferenceModelStep::step(const serve::StepPlan &plan) {
  using Result = serve::Expected<serve::StepResult>;
  if (serve::Status s = serve::validateStepPlan(plan, facts_); !s)
    return Result::fromError(s);
  serve::StepResult result;
  if (plan.kind != serve::StepPlan::Kind::Forward || plan.sequences.empty())
    return result;

  // Rows per replica, in plan order; the sampled row of each sequence.
  int64_t replicas = facts_.replicas;
  std::vector<std::vector<Row>> rows(static_cast<size_t>(replicas));
  std::vector<std::pair<size_t, int64_t>> sampleRows; // (sequence, row)
  for (int64_t d = 0; d < replicas; ++d)
    for (size_t i : plan.replicaShare(int32_t(d))) {
      const serve::SequenceStep &seq = plan.sequences[i];
      for (size_t t = 0; t < seq.tokens.size(); ++t)
        rows[size_t(d)].push_back(
            Row{seq.tokens[t], seq.startPos + int64_t(t), &seq.blockTable});
      if (seq.sample)
        sampleRows.emplace_back(
            i, int64_t(rows[size_t(d)].size()) - 1);
    }
  int64_t perReplica = 1;
  for (const std::vector<Row> &r : rows)
    perReplica = std::max<int64_t>(perReplica, int64_t(r.size()));
  perReplica = (perReplica + microbatches_ - 1) / microbatches_ * microbatches_;

  int64_t batch = perReplica * replicas;
  IntTensor ids({batch, 1}), positions({batch, 1});
  std::vector<std::vector<std::vector<int32_t>>> tables(
      static_cast<size_t>(replicas));
  std::vector<std::vector<int64_t>> lengths(static_cast<size_t>(replicas));
  const std::vector<int32_t> scratch{int32_t(facts_.numBlocks)};
  for (int64_t d = 0; d < replicas; ++d) {
    rows[size_t(d)].resize(size_t(perReplica));
    for (int64_t j = 0; j < perReplica; ++j) {
      const Row &row = rows[size_t(d)][size_t(j)];
      ids.data[d * perReplica + j] = row.token;
      positions.data[d * perReplica + j] = row.position;
      tables[size_t(d)].push_back(row.table ? *row.table : scratch);
      // A row reads its sequence's positions up to its own.
      lengths[size_t(d)].push_back(row.position + 1);
    }
  }
  for (int r = 0; r < runner_->numRanks(); ++r) {
    size_t d = size_t(runner_->program().grid.replicaOf(r));
    runner_->cache(r).setBlockTables(tables[d], lengths[d]);
  }

  Expected<PlanRunner::Output> out =
      runner_->forward(ids, positions, /*seed=*/0, /*splitSequence=*/false);
  if (!out)
    return Result::fromError(statusOf(out.takeError()));
  const Tensor &logits = out->logits;
  int64_t perRow = logits.numElements() / batch;
  if (perRow != facts_.vocabSize)
    return Result::fromError(serve::Status::error(
        "@forward returned " + std::to_string(perRow) +
        " logits per token; the vocabulary has " +
        std::to_string(facts_.vocabSize)));

  // Rows were laid out per replica; find each sampled row's global index.
  std::vector<int64_t> replicaOfSeq(plan.sequences.size());
  for (size_t i = 0; i < plan.sequences.size(); ++i)
    replicaOfSeq[i] = plan.sequences[i].replica;
  std::sort(sampleRows.begin(), sampleRows.end());
  for (const auto &[i, row] : sampleRows) {
    const serve::SequenceStep &seq = plan.sequences[i];
    int64_t global = replicaOfSeq[i] * perReplica + row;
    serve::Expected<serve::SampledToken> token = serve::sampleLogits(
        logits.data.data() + global * perRow, perRow, seq.sampling,
        seq.drawIndex);
    if (!token)
      return Result::fromError(serve::Status::error(
          "sequence " + std::to_string(seq.seqId) + ": " +
          token.status().message()));
    token->seqId = seq.seqId;
    result.sampled.push_back(std::move(*token));
  }
  return result;
}

} // namespace llmc::ref
