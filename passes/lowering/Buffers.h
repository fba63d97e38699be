//===- Buffers.h - activation buffers of the generated code -----*- C++ -*-===//
//
// The generated code takes every activation from the rank's per-step arena
// (llmc::rt::alloc), which is only released at the end of the step. A
// buffer per value would make prefill memory grow with the layer count, so
// llm-lower-to-emitc reuses buffers: within one straight-line block of
// generated code (the forward body, or a pipeline stage), a value's buffer
// returns to a pool after the value's last use and the next value of the
// same shape class takes it. Column views of one buffer (q, k and v
// written by one GEMM) return it once the last of them dies. This file
// holds that bookkeeping; it builds no IR.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_LOWERING_BUFFERS_H
#define LLMC_PASSES_LOWERING_BUFFERS_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <map>
#include <tuple>

namespace llmc::lowering {

/// How many rows an activation has, in terms of the step being run.
enum class Rows {
  Tokens, ///< batch * seq: every position of every sequence
  Batch,  ///< one row per sequence (after llm.last_token)
  Routed, ///< expert-parallel dispatch: at most factor * tokens rows
};

/// Element type of a buffer in the arena. Expert ids are int32 in the
/// runtime (runtime/kernels/Kernels.h), taken from allocF32 like fp32 data.
/// F8: E4M3 codes (W8A8 linear inputs).
enum class Elem { BF16, F32, I32, F8 };

/// Bytes of one element.
inline int64_t elemBytes(Elem elem) {
  return elem == Elem::BF16 ? 2 : elem == Elem::F8 ? 1 : 4;
}

/// The shape class of a buffer: two values with equal keys can share one.
struct BufferKey {
  Rows rows = Rows::Tokens;
  int64_t factor = 1; ///< rows multiplier (Routed only)
  int64_t cols = 0;
  Elem elem = Elem::BF16;

  auto tie() const { return std::tie(rows, factor, cols, elem); }
  bool operator<(const BufferKey &o) const { return tie() < o.tie(); }
};

/// Scratch bytes a block of generated code takes from the arena, per token
/// and per sequence of the step (the runtime sizes the arena from these).
struct ArenaUse {
  int64_t bytesPerToken = 0;
  int64_t bytesPerSequence = 0;
  int64_t buffers = 0;

  void add(const BufferKey &key) {
    int64_t bytes = key.cols * elemBytes(key.elem);
    if (key.rows == Rows::Batch)
      bytesPerSequence += bytes;
    else
      bytesPerToken += bytes * key.factor;
    ++buffers;
  }
};

/// Liveness of the values of one straight-line block of generated code and
/// the pool of buffers they occupy. Values are identified by their
/// canonical value (decoder-layer block arguments and results resolved to
/// what they alias); buffers are the emitc values holding llmc::rt::Act.
class BufferPool {
public:
  /// Position used for values that must outlive the block (its results).
  static constexpr int64_t kForever = INT64_MAX;

  /// Numbers `op` (in program order) and records its operands' uses.
  void visit(mlir::Operation *op, llvm::ArrayRef<mlir::Value> canonicalOperands);
  /// Marks a value as live until the end of the block.
  void escape(mlir::Value value) { lastUse[value] = kForever; }

  int64_t positionOf(mlir::Operation *op) const { return position.lookup(op); }
  /// Whether `value` is not used after `op`.
  bool diesAt(mlir::Value value, mlir::Operation *op) const;

  /// A free buffer of class `key`, or null when a new one must be made.
  mlir::Value take(const BufferKey &key);
  /// Records that `value` occupies `buffer` (of class `key`, when the
  /// buffer may be reused once the value dies).
  void assign(mlir::Value value, mlir::Value buffer,
              std::optional<BufferKey> key);
  /// Puts `buffer` (of class `key`) back in the pool at once: scratch a
  /// single call uses, such as linearAllReduce's fp32 partial sums.
  void recycle(mlir::Value buffer, const BufferKey &key);
  /// `to` takes over the buffer of `from` (ops that run in place).
  void transfer(mlir::Value from, mlir::Value to);
  /// `views` (buffers assigned to values, without a class) are column
  /// views of `owner` (class `key`): the owner returns to the pool when the
  /// values of all of them have died.
  void share(mlir::Value owner, const BufferKey &key,
             llvm::ArrayRef<mlir::Value> views);
  /// The buffer holding `value`, or null.
  mlir::Value bufferOf(mlir::Value value) const { return buffers.lookup(value); }
  std::optional<BufferKey> keyOf(mlir::Value buffer) const;
  /// Returns to the pool the buffers of the values (among `values`) that
  /// die at `op`.
  void release(mlir::Operation *op, llvm::ArrayRef<mlir::Value> values);

private:
  llvm::DenseMap<mlir::Operation *, int64_t> position;
  llvm::DenseMap<mlir::Value, int64_t> lastUse;
  llvm::DenseMap<mlir::Value, mlir::Value> buffers;
  llvm::DenseMap<mlir::Value, BufferKey> keys;
  llvm::DenseSet<mlir::Value> moved;
  std::map<BufferKey, llvm::SmallVector<mlir::Value>> free;
  /// View buffer -> its owner; owner -> views whose values are still live.
  llvm::DenseMap<mlir::Value, mlir::Value> ownerOf;
  llvm::DenseMap<mlir::Value, int64_t> liveViews;
};

} // namespace llmc::lowering

#endif // LLMC_PASSES_LOWERING_BUFFERS_H
