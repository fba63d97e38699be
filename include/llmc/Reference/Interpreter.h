//===- Interpreter.h - one rank's executor of llm IR ------------*- C++ -*-===//
//
// An interpreter over the IR, no code generation: it walks @forward and
// executes each op on fp32 host tensors with the math of Kernels.h. One
// Interpreter is one rank of the plan; it talks to the other ranks through
// an InProcessCommunicator for shard collectives and dist transfers.
//
// Values that do not exist on a rank (the results of a dist.stage the rank
// does not run, of a transfer it takes no part in) are Absent; pure ops on
// Absent values give Absent values, so a rank simply skips the parts of the
// program that belong to other ranks.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_INTERPRETER_H
#define LLMC_REFERENCE_INTERPRETER_H

#include "llmc/Reference/Communicator.h"
#include "llmc/Reference/Kernels.h"
#include "llmc/Reference/KVCache.h"
#include "llmc/Reference/Tensor.h"
#include "llmc/Reference/Weights.h"

#include "llmc/Dialect/Dist/DistDialect.h"
#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Runtime values
//===----------------------------------------------------------------------===//

/// A value that does not exist on this rank.
struct Absent {};

/// The rows [rowOffset, rowOffset + rows) of a rank's KV cache: the whole
/// cache in @forward, a micro-batch's rows inside dist.pipeline.
struct CacheRef {
  KVCache *cache = nullptr;
  int64_t rowOffset = 0;
  int64_t rows = 0;
};

/// What an SSA value holds at run time: a tensor, a cache, a scalar
/// (arith.constant, a sampling seed) or nothing on this rank.
using RtValue =
    std::variant<Absent, Tensor, IntTensor, CacheRef, int64_t, double>;

/// Whether `v` is Absent.
inline bool isAbsent(const RtValue &v) {
  return std::holds_alternative<Absent>(v);
}

//===----------------------------------------------------------------------===//
// The program
//===----------------------------------------------------------------------===//

/// The device grid of a sharded module: `shard.grid` with its plan (the
/// module's `#dist.plan`, as rt::Grid). Ranks are numbered row-major (last
/// axis fastest). A module without a grid is one rank.
struct Grid : rt::Grid {
  /// Symbol name of the `shard.grid`.
  std::string name;
};

/// A module ready to run: its @forward, grid and weight declarations.
/// Read-only once built, so every rank thread shares one.
struct Program {
  mlir::ModuleOp module;
  mlir::func::FuncOp forward;
  Grid grid;
  llvm::StringMap<llm::WeightOp> weights;
  /// The FP8 weight whose scale each scale symbol is, by scale name.
  llvm::StringMap<llm::WeightOp> scaleOwners;

  /// Finds @forward, the grid and the weights; fails on a module the
  /// executor cannot run (no @forward, several grids, ...).
  static llvm::Expected<Program> analyze(mlir::ModuleOp module);
};

//===----------------------------------------------------------------------===//
// The interpreter
//===----------------------------------------------------------------------===//

/// Executes `program` as rank `rank`. Weights are loaded on first use and
/// kept for later calls, so a rank loads only the weights of the ops it runs.
/// The parameters of an llm.attention or dist.ring_attention op, which
/// carry the same attributes.
template <class AttentionLikeOp>
AttentionConfig attentionConfig(AttentionLikeOp op) {
  AttentionConfig config;
  config.numHeads = int64_t(op.getNumHeads());
  config.numKvHeads = int64_t(op.getNumKvHeads());
  config.headDim = int64_t(op.getHeadDim());
  config.causal = op.getCausal();
  if (std::optional<uint64_t> w = op.getSlidingWindow())
    config.slidingWindow = int64_t(*w);
  if (std::optional<llvm::APFloat> s = op.getScale())
    config.scale = s->convertToDouble();
  return config;
}

class Interpreter {
public:
  Interpreter(const Program &program, int rank, const WeightSource &weights);

  /// Runs @forward on `args` (one RtValue per argument) and returns its
  /// results; `comm` connects this rank to the others for this call.
  /// `sequenceSplit` says that the ranks of the sequence axis hold
  /// consecutive blocks of the sequence (prefill under context parallelism)
  /// rather than the same tokens (decode).
  llvm::Expected<std::vector<RtValue>> run(std::vector<RtValue> args,
                                           InProcessCommunicator &comm,
                                           bool sequenceSplit = false);

  int rank() const { return rank_; }
  /// Names of the weights this rank has loaded, sorted.
  std::vector<std::string> loadedWeights() const;

private:
  // Structure.
  llvm::Expected<std::vector<RtValue>> runBlock(mlir::Block &block,
                                                std::vector<RtValue> args);
  llvm::Error execute(mlir::Operation *op);
  llvm::Error execDecoderLayer(llm::DecoderLayerOp op);
  llvm::Error execConstant(mlir::Operation *op);

  // Weights and embeddings.
  llvm::Error execParam(llm::ParamOp op);
  llvm::Error execEmbedding(llm::EmbeddingOp op);

  // Dense layer ops.
  llvm::Error execRMSNorm(llm::RMSNormOp op);
  llvm::Error execLinear(llm::LinearOp op);
  llvm::Error execBiasAdd(llm::BiasAddOp op);
  llvm::Error execRope(llm::RopeOp op);
  llvm::Error execElementwise(mlir::Operation *op);
  llvm::Error execAttention(llm::AttentionOp op);
  llvm::Error execRingAttention(dist::RingAttentionOp op);

  // FP8 (InterpreterQuantized.cpp).
  llvm::Error execTokenScale(llm::TokenScaleOp op);
  llvm::Error execQuantize(llm::QuantizeOp op);
  /// The values of `weight` (full shape `fullShape`, this rank's `slice`):
  /// FP8 weights and their scales through the FP8 loader, others as is.
  llvm::Expected<Tensor> loadWeightValues(llm::WeightOp weight,
                                          const std::vector<int64_t> &fullShape,
                                          const std::optional<rt::Slice> &slice);
  /// The row scales an optional FP8 scale operand holds (none when null).
  llvm::Expected<RowScales> rowScales(mlir::Value scale);
  /// What attention stores for k or v in the KV cache `cache`: `kv`
  /// itself, or for an FP8 cache its FP8 round trip, computed into
  /// `storage`.
  const Tensor &cachedForm(mlir::Value cache, const Tensor &kv,
                           int64_t headDim, Tensor &storage) const;

  // Mixture of experts.
  llvm::Error execMoERouter(llm::MoERouterOp op);
  llvm::Error execExperts(llm::ExpertsOp op);
  llvm::Error execSharedExpert(llm::SharedExpertOp op);
  llvm::Error execExpertDispatch(dist::ExpertDispatchOp op);
  llvm::Error execExpertCombine(dist::ExpertCombineOp op);

  // Output.
  llvm::Error execOutput(mlir::Operation *op);

  // Pipelines (dist).
  llvm::Error execPipeline(dist::PipelineOp op);
  llvm::Error execStage(dist::StageOp op);
  llvm::Error execTransfer(dist::TransferOp op);

  // Collectives (shard).
  llvm::Error execCollective(mlir::Operation *op);

  // Value access.
  const RtValue &lookup(mlir::Value v) const;
  /// The rank's view of KV-cache operand `cache` (nullopt without one);
  /// `rows` is the batch that will use it, checked against the view when
  /// known. `what` names the op in errors.
  llvm::Expected<std::optional<CacheBinding>>
  cacheBinding(mlir::Value cache, std::optional<uint64_t> slot,
               std::optional<int64_t> rows, llvm::StringRef what) const;
  llvm::Expected<const Tensor *> getTensor(mlir::Value v);
  llvm::Expected<const IntTensor *> getInts(mlir::Value v);
  void bind(mlir::Value v, RtValue value) { values_[v] = std::move(value); }
  /// The group of ranks along grid axis `axis` (ordered by coordinate) and
  /// this rank's coordinate in it, for dist ops that name an axis index.
  llvm::Expected<std::pair<std::vector<int>, int64_t>>
  axisGroup(llvm::StringRef grid, int64_t axis) const;
  /// The coordinate this rank uses for `slice` (its offset index).
  llvm::Expected<int64_t> sliceCoordinate(llm::WeightSliceAttr slice,
                                          llvm::StringRef weight) const;

  const Program &program_;
  int rank_;
  const WeightSource &weights_;
  InProcessCommunicator *comm_ = nullptr;
  bool sequenceSplit_ = false;
  llvm::DenseMap<mlir::Value, RtValue> values_;
  std::map<std::string, Tensor> loaded_;
};

} // namespace llmc::ref

#endif // LLMC_REFERENCE_INTERPRETER_H
