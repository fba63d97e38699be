//===- Ops.h - the runtime interface generated model code calls -*- C++ -*-===//
//
// llm-compile lowers a per-rank program to C++ that calls only what this
// header declares; the runtime (kernels, cuBLASLt, communicators, weights,
// KV cache) implements it. Plain C++17 + CUDA types, no MLIR.
//
// Conventions
// - Activations are row-major bf16 device buffers [rows, cols]; rows are the
//   step's tokens (batch * seq, batch-major) or, after lastToken, the batch.
// - Weights are bf16 device buffers in Hugging Face layout ([out, in] for
//   linears), already sliced for this rank; the generated code refers to
//   them by their index in manifest.json's "weights" list.
// - Every call is asynchronous on the rank's stream; nothing synchronises
//   the host inside a step, so a decode step can be captured as a CUDA graph.
// - Template parameters are the shapes the kernels are specialised for
//   (head dim, GQA group size); their definitions are headers
//   (runtime/kernels/Attention.cuh, Rope.cuh) that the generated code includes
//   and instantiates for exactly the combinations the model uses.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ABI_OPS_H
#define LLMC_RUNTIME_ABI_OPS_H

#include <cstdint>

struct __nv_bfloat16;

namespace llmc::rt {

using bf16 = __nv_bfloat16;

class Rank; // runtime/abi/Rank.h: stream, handles, arena, comms, weights

/// A device activation [rows, cols] (bf16 unless stated). An FP8
/// activation (W8A8 linear inputs, from `fp8Input`) holds E4M3 codes in
/// `data` and one fp32 scale per row in `rowScale`; its value is code *
/// scale (docs/quantization.md).
struct Act {
  void *data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  const float *rowScale = nullptr; ///< FP8 activations only
  /// Elements from one row to the next; 0: `cols` (a dense buffer). A
  /// column view (`columns`) of a wider buffer has its owner's row length:
  /// q, k and v written side by side by one GEMM. Only the ops that say so
  /// take views (linear2/3 outputs, rope, attention, ropeAttention); the
  /// others refuse them.
  int64_t ld = 0;
};

/// Row stride of `a` in elements.
inline int64_t rowStride(const Act &a) { return a.ld ? a.ld : a.cols; }

/// Columns [first, first + cols) of the bf16 activation `owner`, a view
/// sharing its rows (no copy); a range outside `owner` is an error.
Act columns(Rank &r, Act owner, int64_t first, int64_t cols);

/// A weight as this rank holds it; `offset` is where its block starts in the
/// full tensor along the sliced dim (vocab-parallel embeddings need it).
/// An FP8 weight (manifest dtype "f8e4m3") has `data` null, its E4M3 codes
/// [rows, cols] in `fp8` and its fp32 scales in `scale`: `scaleCount` = rows
/// (one per output channel) or 1 (per tensor); its value is code * scale.
struct Weight {
  const bf16 *data = nullptr;
  int64_t rows = 0, cols = 0; // 1-D weights: rows = 1
  int64_t offset = 0;
  const uint8_t *fp8 = nullptr;
  const float *scale = nullptr;
  int64_t scaleCount = 0;
};

/// One forward call: `batch` sequences of `seq` tokens (prefill: the prompt,
/// decode: 1). Device arrays of batch * seq entries.
struct Step {
  int64_t batch = 0, seq = 0;
  const int64_t *ids = nullptr;
  const int64_t *positions = nullptr;
  /// First KV-cache row of this (micro-)batch.
  int64_t cacheRow = 0;
  /// Paged KV cache (serving): sequence b's block ids, device int32 at
  /// blockTables[(cacheRow + b) * blockTableStride + i], block i holding
  /// positions [i * blockSize, (i + 1) * blockSize) of the cache's blocks.
  /// nullptr: the contiguous cache, sequence b in cache row cacheRow + b.
  /// Rows with a negative position are padding: they write no K/V and see
  /// no key.
  const int32_t *blockTables = nullptr;
  int64_t blockTableStride = 0;
  /// Varlen step (serving: one flat call for a whole step, decode rows and
  /// prefill chunks together). Non-null: device int32 [batch + 1], the
  /// rows of sequence b are [queryStart[b], queryStart[b + 1]) of ids,
  /// positions and every token activation; `tokens` is queryStart[batch]
  /// (on the host), `seq` the longest sequence's row count, and the first
  /// `decodeRows` sequences have one row each (decode kernel; the others
  /// are prefill chunks, causal from their first position). `tokenSeq` is
  /// device int32 [tokens], each row's sequence. Needs the paged cache;
  /// lastToken keeps each sequence's last row. nullptr: batch x seq rows.
  const int32_t *queryStart = nullptr;
  const int32_t *tokenSeq = nullptr;
  int64_t tokens = 0;
  int64_t decodeRows = 0;
};

/// Rows of a step's token activations: batch * seq, or `tokens` of a
/// varlen step.
inline int64_t stepTokens(const Step &s) {
  return s.queryStart ? s.tokens : s.batch * s.seq;
}

enum class RopeKind : int { None = 0, Linear = 1, Llama3 = 2 };
struct RopeParams {
  float theta = 10000.f;
  RopeKind kind = RopeKind::None;
  float factor = 1.f, lowFreqFactor = 1.f, highFreqFactor = 4.f;
  int64_t originalMaxPosition = 0;
};

struct AttentionParams {
  int heads = 0, kvHeads = 0;   ///< local counts
  int64_t window = 0;           ///< 0: no sliding window
  float scale = 0.f;            ///< 0: 1/sqrt(head_dim)
  int cacheSlot = 0;            ///< global layer index (cache slot)
};

//===----------------------------------------------------------------------===//
// Scratch and weights
//===----------------------------------------------------------------------===//

/// Scratch activation from the rank's per-step arena (released after the
/// step; sized by the manifest's max tokens).
Act alloc(Rank &r, int64_t rows, int64_t cols);
/// fp32 scratch (router probabilities, logits).
Act allocF32(Rank &r, int64_t rows, int64_t cols);
/// Weight `index` of manifest.json, loaded for this rank (error if absent).
Weight weight(Rank &r, int index);
/// FP8 scratch [rows, cols] (E4M3 codes, one byte each).
Act allocFp8(Rank &r, int64_t rows, int64_t cols);

//===----------------------------------------------------------------------===//
// Layers (kernels in runtime/kernels, GEMMs through cuBLASLt)
//===----------------------------------------------------------------------===//

/// out[t] = table[ids[t] - table.offset], zero outside the rank's rows when
/// `vocabParallel`.
void embedding(Rank &r, Act out, const Step &s, Weight table,
               bool vocabParallel);
/// out = rmsnorm(in) * w (statistics in fp32).
void rmsNorm(Rank &r, Act out, Act in, Weight w, float eps);
/// Fused residual add + norm, the memory-bound pair between sublayers:
/// residual += delta, then out = rmsnorm(residual) * w.
void addRmsNorm(Rank &r, Act out, Act residual, Act delta, Weight w,
                float eps);
/// rmsNorm and addRmsNorm whose output only W8A8 linears read (the
/// lowering's fusion of the norm with tokenScale + quantize): the normalised
/// row's E4M3 codes [rows, cols] and per-token scales [rows, 1], bit for
/// bit as quantizeTokens of the bf16 output gives them, without writing it.
void rmsNormQuantize(Rank &r, Act codes, Act scale, Act in, Weight w,
                     float eps);
void addRmsNormQuantize(Rank &r, Act codes, Act scale, Act residual,
                        Act delta, Weight w, float eps);
/// The residual stream in fp32 (llm-lower-to-emitc residual=fp32): the
/// sums are kept unrounded. `residual` is fp32 [rows, cols]; `from` the
/// stream's previous value: `residual` itself (in place) or another Act,
/// fp32 when `fromF32`, else bf16 (where the stream starts: the embedding).
/// residual = from + delta (bf16), then out = rmsnorm(residual) * w in
/// bf16, rounded as rmsNorm rounds.
void addRmsNormF32(Rank &r, Act out, Act residual, Act from, bool fromF32,
                   Act delta, Weight w, float eps);
/// residual (fp32) = from + delta, unrounded (the stream's last add).
void addF32(Rank &r, Act residual, Act from, bool fromF32, Act delta);
/// out (bf16) = rmsnorm(in) * w of an fp32 `in`.
void rmsNormF32(Rank &r, Act out, Act in, Weight w, float eps);
/// out = in W^T (+ bias): bf16 inputs, fp32 accumulation (cuBLASLt). Every
/// projection below also takes FP8 weights (W8A16: y = bf16((sum x * code)
/// * scale + bias)) and FP8 inputs with FP8 weights (W8A8: y = bf16((sum
/// code_x * code_w) * rowScale * scale + bias)), docs/quantization.md.
void linear(Rank &r, Act out, Act in, Weight w, const Weight *bias);
/// Sibling projections of one input (q, k and v; gate and up without an
/// activation): out_i = in W_i^T (+ bias_i). One launch for every weight
/// at decode batch sizes (a grouped GEMV or streaming tensor-core GEMM);
/// beyond, one GEMM over weights stored back to back: straight into the
/// outputs when they are adjacent column views of one buffer (`columns`,
/// `scratch` then unused and may be empty), else into `scratch` [rows, sum
/// of the outputs' cols] and a split; else one GEMM each. Outputs may be
/// column views.
void linear2(Rank &r, Act out0, Act out1, Act in, Weight w0, Weight w1,
             const Weight *b0, const Weight *b1, Act scratch);
void linear3(Rank &r, Act out0, Act out1, Act out2, Act in, Weight w0,
             Weight w1, Weight w2, const Weight *b0, const Weight *b1,
             const Weight *b2, Act scratch);
/// out = swiglu(in Wg^T, in Wu^T) with Hugging Face's roundings. At decode
/// batch sizes one launch reads both weights and writes `out`; otherwise
/// the gate and up GEMMs (one GEMM when the weights lie back to back) into
/// `scratch` [rows, 2N] and the SwiGLU.
void linearSwiglu(Rank &r, Act out, Act in, Weight gate, Weight up,
                  Act scratch);
/// Dynamic per-token FP8 scale (llm.token_scale): scale (fp32 [rows, 1])
/// = max(absmax(in[row, :]) / 448, kFp8MinScale).
void tokenScale(Rank &r, Act scale, Act in);
/// llm.quantize: out (E4M3 codes) = floatToE4M3(in / scale[row]), a true
/// division, round to nearest even, saturating.
void quantize(Rank &r, Act out, Act in, Act scale);
/// tokenScale then quantize of the same input in one pass (the lowering's
/// fusion of the pair): scale and codes bit for bit as the two calls give
/// them; a block per row holds the row in registers, so `in` is read once.
void quantizeTokens(Rank &r, Act out, Act scale, Act in);
/// linearSwiglu of an FP8 input (W8A8) followed by tokenScale + quantize
/// of its result (the down projection's input), the lowering's fusion: the
/// gate and up GEMMs into `scratch` [rows, 2N], then the SwiGLU, its
/// per-token scales and codes in one pass; the bf16 product is never
/// stored. Scales and codes as the unfused calls give them.
void linearSwigluQuantize(Rank &r, Act codes, Act scale, Act in, Weight gate,
                          Weight up, Act scratch);
/// The FP8 activation `codes` with its per-row scales (a view; no copy).
Act fp8Input(Act codes, Act scale);
void biasAdd(Rank &r, Act inout, Weight bias);
void add(Rank &r, Act out, Act a, Act b);
void swiglu(Rank &r, Act out, Act gate, Act up);
template <int HeadDim>
void rope(Rank &r, Act x, const Step &s, const RopeParams &p, int heads);
/// Causal GQA attention; writes k/v into cache slot p.cacheSlot first when
/// the model has a cache. Prefill: tiled online softmax; decode: split-K
/// over the cache (flash-decoding).
template <int HeadDim, int Group>
void attention(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
               const AttentionParams &p, bool useCache);
/// RoPE of q (p.heads heads) and k (p.kvHeads heads), then attention: what
/// llm-compile emits when the two rope ops feed only this attention. A
/// decode step with a cache is one launch (q and k rotated on the fly, this
/// step's k/v written into the cache, splits merged by the last block);
/// q and k are then left unrotated in memory. Otherwise rope in place and
/// attention.
template <int HeadDim, int Group>
void ropeAttention(Rank &r, Act out, Act q, Act k, Act v, const Step &s,
                   const RopeParams &rope, const AttentionParams &p,
                   bool useCache);

/// Top-k routing: weights (fp32) and expert ids [tokens, k].
void moeRouter(Rank &r, Act weights, Act ids, Act in, Weight gate,
               int experts, int topK, bool renormalize);
/// Sum over the token's choices of weight * expert(x) for the experts this
/// rank holds (`owned[e]`, weights gate/up/down indexed by global expert).
void experts(Rank &r, Act out, Act in, Act weights, Act ids,
             const int *gateW, const int *upW, const int *downW, int experts,
             const bool *owned);
void sharedExpert(Rank &r, Act out, Act in, Weight gate, Weight up,
                  Weight down, Weight expertGate);
/// The last token of each sequence: [batch*seq, H] -> [batch, H].
void lastToken(Rank &r, Act out, Act in, const Step &s);
/// lastToken of fp32 rows (the fp32 residual stream).
void lastTokenF32(Rank &r, Act out, Act in, const Step &s);
/// fp32 logits [batch, vocab block] = in W^T.
void lmHead(Rank &r, Act logits, Act in, Weight w);
/// Greedy next token per row (lowest index on ties); device int64 [rows].
void argmax(Rank &r, int64_t *out, Act logits);

//===----------------------------------------------------------------------===//
// Communication (axis = index in manifest.json's grid axes)
//===----------------------------------------------------------------------===//

void allReduce(Rank &r, Act x, int axis);
/// In-place max over `axis` of an fp32 activation (the per-token FP8 scales
/// of a row split over tensor-parallel ranks: the exact max).
void allReduceMax(Rank &r, Act x, int axis);
/// A row-parallel linear and the all-reduce of its partial sums, rounded
/// once like the unsharded linear: partial = in W^T with fp32 accumulation
/// and fp32 output, summed over `axis` in fp32, then out = bf16(sum + bias)
/// (`bias` added once, after the sum; nullptr: none). `partial` is fp32
/// scratch [out.rows, out.cols] from allocF32, overwritten. (linear +
/// allReduce instead rounds each rank's partial and the sum: two more
/// roundings, half the bytes on the wire.)
void linearAllReduce(Rank &r, Act out, Act in, Weight w, const Weight *bias,
                     int axis, Act partial);
/// Concatenates the ranks' `in` along `dim` (0 rows, 1 cols) into `out`.
void allGather(Rank &r, Act out, Act in, int axis, int dim);
/// Point-to-point between pipeline stages along `axis`.
void send(Rank &r, Act x, int axis, int toCoord);
void recv(Rank &r, Act x, int axis, int fromCoord);
/// Expert parallelism: variable-size all-to-all of routed tokens, and back.
void expertDispatch(Rank &r, Act tokens, Act tokenWeights, Act tokenIds,
                    Act in, Act weights, Act ids, const int *owners,
                    int experts, int axis);
void expertCombine(Rank &r, Act out, Act expertOut, int axis);

} // namespace llmc::rt

/// The entry point llm-compile generates: one forward step of this rank's
/// program. `logits` is fp32 [batch, vocab] and `next` int64 [batch], both
/// device buffers, written on the ranks that hold the model's outputs (the
/// last pipeline stage).
extern "C" void llmc_forward(llmc::rt::Rank &r, const llmc::rt::Step &s,
                             float *logits, int64_t *next);

#endif // LLMC_RUNTIME_ABI_OPS_H
