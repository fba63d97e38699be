//===- Kernels.h - fp32 math of the llm ops, Hugging Face semantics -*- C++ -*-===//
//
// Each function computes one llm op on host tensors the way Hugging Face
// transformers computes it for an fp32 model. They know nothing of MLIR or of
// ranks: the interpreter decodes attributes, picks the rank's slices and
// calls these. Shapes are checked; a mismatch is an llvm::Error naming both
// shapes.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_KERNELS_H
#define LLMC_REFERENCE_KERNELS_H

#include "llmc/Reference/KVCache.h"
#include "llmc/Reference/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Normalisation, projections, elementwise
//===----------------------------------------------------------------------===//

/// x * 1/sqrt(mean(x^2) + eps) * w over the last dim.
llvm::Expected<Tensor> rmsNorm(const Tensor &x, const Tensor &weight,
                               double eps);

/// The FP8 scales of a weight's rows (output channels): [rows, 1] (one per
/// row) or a single element (one per tensor); none for a weight in a float
/// type. A projection through a scaled weight computes (x . w_row) *
/// scale(row), the fp32 accumulation scaled once, as FP8 GEMMs do.
struct RowScales {
  const Tensor *scales = nullptr;
  float operator()(int64_t row) const {
    if (!scales)
      return 1.0f;
    return scales->numElements() == 1 ? scales->data[0] : scales->data[row];
  }
};

/// Checks that `scales` (if any) fits a weight of `rows` rows; `op` and
/// `what` name them in the error.
llvm::Error checkRowScales(llvm::StringRef op, llvm::StringRef what,
                           RowScales scales, int64_t rows);

/// y = x W^T (+ b); W is [out, in] as Hugging Face stores it.
llvm::Expected<Tensor> linear(const Tensor &x, const Tensor &weight,
                              const Tensor *bias = nullptr);

/// x + bias along the last dim (a row-parallel linear's bias, added once
/// after the all-reduce).
llvm::Expected<Tensor> biasAdd(const Tensor &x, const Tensor &bias);

/// silu(gate) * up, elementwise.
llvm::Expected<Tensor> swiglu(const Tensor &gate, const Tensor &up);

/// lhs + rhs, elementwise (same shapes).
llvm::Expected<Tensor> add(const Tensor &lhs, const Tensor &rhs);

/// Token embedding: result[b, s, :] = table[ids[b, s] - vocabStart, :].
/// Without `vocabStart` (a plain lookup) every id must be in [0, rows); with
/// it (vocab-parallel) the table holds rows [vocabStart, vocabStart + rows)
/// and ids outside give zero rows.
llvm::Expected<Tensor> embedding(const IntTensor &ids, const Tensor &table,
                                 std::optional<int64_t> vocabStart);

//===----------------------------------------------------------------------===//
// Rotary position embedding
//===----------------------------------------------------------------------===//

/// RoPE frequency scaling, as in #llm.rope and HF's `rope_scaling`.
enum class RopeScaling { None, Linear, Llama3 };

/// The parameters of #llm.rope.
struct RopeConfig {
  double theta = 10000.0;
  RopeScaling scaling = RopeScaling::None;
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 1.0;
  int64_t originalMaxPosition = 0;
};

/// inv_freq[i] for i < headDim/2, scaled as `config` says (in double).
std::vector<double> ropeInverseFrequencies(const RopeConfig &config,
                                           int64_t headDim);

/// Rotates every head of x [B, S, heads*headDim] in the rotate_half layout
/// by angles positions[b, s] * inv_freq[i].
llvm::Expected<Tensor> rope(const Tensor &x, const IntTensor &positions,
                            int64_t headDim, const RopeConfig &config);

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// The attributes of llm.attention.
struct AttentionConfig {
  int64_t numHeads = 1;
  int64_t numKvHeads = 1;
  int64_t headDim = 1;
  bool causal = true;
  /// Keys at positions p > qpos - window only.
  std::optional<int64_t> slidingWindow;
  /// Defaults to 1/sqrt(headDim).
  std::optional<double> scale;
};

/// Which cache slot an attention call reads and writes, and at which batch
/// row its batch row 0 lives (micro-batches use rows of the cache).
struct CacheBinding {
  KVCache *cache = nullptr;
  int64_t slot = 0;
  int64_t rowOffset = 0;
};

/// Scaled dot-product attention with GQA: q [B, S, nh*hd], k/v
/// [B, S, nkv*hd], positions [B, S]. With `cache`, this call's keys/values
/// are stored at their positions first and queries attend to the cached
/// keys; without, to this call's keys. Masks: causal (p <= qpos) and the
/// sliding window (p > qpos - window).
llvm::Expected<Tensor> attention(const Tensor &q, const Tensor &k,
                                 const Tensor &v, const IntTensor &positions,
                                 const AttentionConfig &config,
                                 const CacheBinding *cache);

/// Checks q/k/v/positions shapes against `config` (as attention() does).
llvm::Error checkAttentionOperands(const Tensor &q, const Tensor &k,
                                   const Tensor &v, const IntTensor &positions,
                                   const AttentionConfig &config);

/// The key and value of one position of a batch row. Head h's key is
/// `key[h * headStride, + headDim)`, likewise for the value, so both token
/// tensors ([.., nkv*hd], stride hd) and cache slots ([nkv, maxSeq, hd],
/// stride maxSeq*hd) can be pointed at without copying.
struct KeyValue {
  int64_t position = 0;
  const float *key = nullptr;
  const float *value = nullptr;
  int64_t headStride = 0;
};

/// Attention of q [B, S, nh*hd] at `positions` [B, S] over `keys[b]`, the
/// keys of batch row b in ascending positions, with the causal and window
/// masks of `config`. With `requireEveryPosition`, a causal query must find
/// a key at every position its masks allow (a cache missing one is an
/// error naming it).
llvm::Expected<Tensor> attendToKeys(const Tensor &q, const IntTensor &positions,
                                    llvm::ArrayRef<std::vector<KeyValue>> keys,
                                    const AttentionConfig &config,
                                    bool requireEveryPosition);

/// Online-softmax state of attention for every (batch row, query, head):
/// running max score, sum of exponentials and exp-weighted value sum. Ring
/// attention folds in one key/value block per ring step and merges the
/// states of different ranks, as flash and ring attention do on GPUs.
struct PartialAttention {
  PartialAttention(int64_t batch, int64_t seq, int64_t heads, int64_t headDim);

  /// Folds in the keys of `keys[b]` that the masks of `config` let each
  /// query see (blocks may come in any order).
  void accumulate(const Tensor &q, const IntTensor &positions,
                  llvm::ArrayRef<std::vector<KeyValue>> keys,
                  const AttentionConfig &config);
  /// Folds in another state computed over disjoint keys (log-sum-exp).
  void merge(const PartialAttention &other);
  /// out = acc / sum per head; queries that saw no key get zeros.
  Tensor finalize() const;
  /// [batch*seq*heads, 2 + headDim] rows (max, sum, acc) for the
  /// communicator, and back.
  Tensor pack() const;
  static llvm::Expected<PartialAttention> unpack(const Tensor &packed,
                                                 int64_t batch, int64_t seq,
                                                 int64_t heads,
                                                 int64_t headDim);

  int64_t batch, seq, heads, headDim;
  std::vector<float> max, sum, acc;
};

/// Stores this call's k/v [B, S, nkv*hd] into `cache` at their positions,
/// only the tokens whose position `keep` accepts (all when null).
llvm::Error storeKeysValues(const Tensor &k, const Tensor &v,
                            const IntTensor &positions,
                            const AttentionConfig &config,
                            const CacheBinding &cache,
                            const std::function<bool(int64_t)> &keep = {});

/// The keys and values written so far in `cache`'s slot for local batch row
/// `row`, ascending positions (none if the slot was never used).
std::vector<KeyValue> cachedKeys(const CacheBinding &cache, int64_t row);

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

/// Routing of every token: [B, S, k] weights and expert ids.
struct Routing {
  Tensor weights;
  IntTensor indices;
};

/// logits = x gate^T, softmax over all experts, the top-k largest (lower id
/// first on ties), divided by their sum when `renormalize`.
llvm::Expected<Routing> moeRouter(const Tensor &x, const Tensor &gate,
                                  int64_t numExperts, int64_t topK,
                                  bool renormalize);

/// The weights of one routed SwiGLU expert and its global id.
struct ExpertWeights {
  int64_t id = 0;
  const Tensor *gate = nullptr; ///< [I, H]
  const Tensor *up = nullptr;   ///< [I, H]
  const Tensor *down = nullptr; ///< [H, I]
  /// FP8 scales of the three weights (none for float weights).
  RowScales gateScale, upScale, downScale;
};

/// For each token and each of its (weight, id) pairs whose id is one of
/// `experts`, adds weight * down(silu(gate x) * up x); other experts add 0.
llvm::Expected<Tensor> experts(const Tensor &x, const Tensor &routingWeights,
                               const IntTensor &routingIndices,
                               llvm::ArrayRef<ExpertWeights> experts);

/// sigmoid(x expertGate^T) * down(silu(gate x) * up x), expertGate [1, H];
/// FP8 gate/up/down weights come with their scales.
llvm::Expected<Tensor> sharedExpert(const Tensor &x, const Tensor &gate,
                                    const Tensor &up, const Tensor &down,
                                    const Tensor &expertGate,
                                    RowScales gateScale = {},
                                    RowScales upScale = {},
                                    RowScales downScale = {});

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

/// [B, S, H] -> [B, 1, H], the last position.
llvm::Expected<Tensor> lastToken(const Tensor &x);

/// Index of the largest element of the last dim (lowest index on ties);
/// the result drops the last dim.
llvm::Expected<IntTensor> argmax(const Tensor &logits);

/// Draws one token per row of `logits` from softmax(logits / temperature)
/// restricted to the `topK` most likely (0: all) and to the smallest prefix
/// whose mass reaches `topP`. Deterministic given `seed`; row r uses an
/// independent draw. temperature <= 0 means argmax.
llvm::Expected<IntTensor> sample(const Tensor &logits, uint64_t seed,
                                 double temperature, double topP,
                                 int64_t topK);

} // namespace llmc::ref

#endif // LLMC_REFERENCE_KERNELS_H
