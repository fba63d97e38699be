//===- Kernels.h - CUDA entry points beyond Ops.h ---------------*- C++ -*-===//
//
// What runtime/kernels offers besides the "Layers" section of Ops.h: sampling
// (not in Ops.h yet) and the device port of the deterministic random-weight
// generator the weight loader uses for --weights=random.
//
// Conventions the Ops.h layers follow that Ops.h leaves open:
// - moeRouter writes expert ids as int32 (an Act of 4-byte elements, e.g.
//   from allocF32) and weights as fp32; experts() and the dispatch read them
//   so.
// - Positions increase along each sequence of a step (as prompts and decode
//   steps produce them); attention without a cache relies on it to skip key
//   tiles. With a cache, key j of a sequence is cache position j, and every
//   position up to the query's (within the window) must have been written.
// - Cache writes at positions outside [0, maxSeq) are dropped; attention
//   cannot report them without synchronising, so the host checks lengths.
// - Embedding ids outside the table give zero rows (no device-side error).
//
// Scratch the layers take from Rank::arenaAlloc (for sizing the arena; T =
// tokens of the step, B = batch, 256-byte rounding per allocation aside):
// - attention, decode with a cache: B * heads * S * (4 * headDim + 8) bytes,
//   S = min(256, ceil(maxSeq / 64), ceil(4 * SMs / (B * kvHeads))) splits;
//   nothing when S = 1 or for prefill.
// - moeRouter: 4 * T * experts (fp32 logits).
// - experts: T * k * (2 * (intermediate + hidden) + 8) + 16 * (T * k / 64 +
//   local experts) + 4 bytes.
// - sharedExpert: 4 * T * intermediate (bf16 gate and up).
// Every other layer allocates nothing.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_KERNELS_KERNELS_H
#define LLMC_RUNTIME_KERNELS_KERNELS_H

#include "runtime/abi/Ops.h"
#include "runtime/abi/Status.h"
#include "runtime/weights/Slice.h"

#include <cuda_runtime.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace llmc::rt {

/// Next token per row of fp32 `logits` [rows, vocab] into device int64
/// `out` [rows]. temperature <= 0 is greedy (argmax). Otherwise the
/// reference executor's rule (lib/reference sample()): probabilities
/// softmax(logits / temperature) ordered by decreasing probability (ties:
/// lower id first), cut to the `topK` most likely (topK <= 0: all), then to
/// the shortest prefix whose renormalised mass reaches `topP`, and a draw u
/// = uniform(splitmix64(seed ^ splitmix64(row))) * kept mass picks the first
/// token whose running mass exceeds u. Masses are summed in 2^-40 fixed
/// point, so a seed always gives the same tokens, whatever the scheduling.
/// Vary `seed` per step to get independent draws.
void sample(Rank &r, int64_t *out, Act logits, float temperature, float topP,
            int topK, uint64_t seed);

/// The local halves of Ops.h's linearAllReduce, around the all-reduce
/// (runtime/model/CommOps.cpp, which has the communicators). Errors name
/// linearAllReduce.
/// partial (fp32 [M, N]) = in [M, K] W[N, K]^T: bf16 inputs, fp32
/// accumulation, stored unrounded (the weight-streaming GEMV for few rows,
/// else cuBLASLt with an fp32 D).
void linearF32(Rank &r, Act partial, Act in, Weight w);
/// out (bf16) = sum (fp32) + bias, rounded once per element; `bias` (bf16
/// [cols]) may be null.
void roundToBf16(Rank &r, Act out, Act sum, const Weight *bias);

/// out[i] = max over b < members of blocks[b * count + i] (fp32): the
/// local half of Ops.h's allReduceMax after an all-gather.
void maxOfBlocks(Rank &r, float *out, const float *blocks, int64_t count,
                 int members);

/// How decode-sized projections run; the compiler decides it per model
/// (manifest.json "decode", llm-compile --explain) and the runtime sets it
/// before the first step. Process-wide: every rank of a process runs the
/// same model.
struct LaunchPolicy {
  /// Most activation rows the weight-streaming tensor-core kernel takes
  /// (from 3; the scalar GEMV has 1-2; at most 32); more rows go to
  /// cuBLASLt with sibling weights as one GEMM. 0: never.
  int streamMaxRows = 16;
  /// Fewest activation rows the Hopper decode GEMM (wgmma, weights by the
  /// bulk tensor copy engine; compute capability 9.0 only) takes, up to
  /// 128; it goes before the streaming kernel. 0: never, the default until
  /// it measures faster than cuBLASLt (docs/kernels.md). LLMC_DECODE_GEMM
  /// overrides it (A/B measurements).
  int decodeGemmMinRows = 0;
  /// FP8 E4M3 weights with bf16 activations (W8A16) beyond the FP8 GEMV's
  /// rows, up to 128, on the Hopper decode GEMM (E4M3 widened in registers,
  /// one byte per weight read) instead of the staged path (codes widened to
  /// bf16 in the workspace, then cuBLASLt: five bytes per weight). On since
  /// the H100 run of 2026-12-06 (kernel tests pass; 1.3-2.4x faster than
  /// the staged path at 16-128 rows, docs/quantization.md);
  /// LLMC_FP8_DECODE_GEMM=0/1 overrides it.
  bool fp8DecodeGemm = true;
  /// W8A8 projections (E4M3 weights and activations) of 1 to this many
  /// rows (at most 128; 0: none) on the decode GEMM's e4m3 x e4m3 wgmma
  /// instantiation (one byte per weight read, nothing widened), more rows
  /// on cuBLASLt's E4M3 GEMM. 64 since the H100 run of 2026-12-07 (8B
  /// projections, per layer against cuBLASLt: 7 us faster at 16 rows, 22
  /// at 64, 31 slower at 128; batch 64 TPOT 6.333 vs 6.721 ms,
  /// docs/quantization.md "Thirteenth session"). LLMC_W8A8_DECODE_GEMM=N
  /// overrides it.
  int w8a8DecodeGemmMaxRows = 64;
  /// FP8 weights take the GEMV up to this many rows (at most
  /// kFp8GemvMaxRows) and the Hopper decode GEMM beyond, where that runs:
  /// the GEMV's fp32 FMAs grow with the rows while the wgmma kernel's cost
  /// stays the weight stream. 2 since the H100 A/B of 2026-12-07, once the
  /// decode GEMM's 8-row tiles had two consumer warpgroups (8B TPOT, cap 4
  /// against 2 in one call): batch 3 5.892 vs 4.600 ms, batch 4 6.639 /
  /// 6.679 vs 4.639 / 4.605; batch 2 stays on the pipelined GEMV (3.42 ms
  /// on an H200, where the decode GEMM's 8-row tile costs what it does at
  /// 4 rows). Before, 4 (H100, 2026-12-06, one warpgroup: batch 4 6.67 vs
  /// 6.91). LLMC_FP8_GEMV_ROWS overrides it.
  int fp8GemvMaxRows = 2;
  /// W8A8 projections (E4M3 activation codes with per-row scales) take
  /// the same GEMV, both operands widened exactly, up to this many rows
  /// (at most kFp8GemvMaxRows; 0: none), the e4m3 decode GEMM or cuBLASLt
  /// beyond. 2 since the H100 A/B of 2026-12-07 (8B W8A8 TPOT, GEMV vs
  /// decode GEMM: batch 1 3.759 vs 5.714 ms, batch 2 4.202 vs 5.844,
  /// batch 4 6.528 vs 5.847: at 4 rows the GEMV's FMAs bind).
  /// LLMC_W8A8_GEMV_ROWS overrides it.
  int w8a8GemvMaxRows = 2;
  /// FP8 weights at 1-2 rows: the GEMV as a persistent grid (as many
  /// blocks as are resident) whose blocks loop over their tiles with the
  /// next tile's weights in flight while one is reduced and written,
  /// instead of one block per tile (Gemv.cu). Bit-identical to it; on
  /// since the H100 run of 2026-12-06 (8B batch 1 3.448 -> 3.351 ms, the
  /// 2-row projections 1.3-1.7x; H200 batch 2 5.02 -> 3.42 ms).
  /// LLMC_FP8_GEMV_PIPE=0/1 overrides it.
  bool fp8GemvPipelined = true;
  /// Its one-row instance reads each tile's weight scales with the tile's
  /// first weights instead of after the block's reduction (one L2 round
  /// trip off the end of every tile, the last one of each launch on the
  /// step's critical path); bit-identical. Off until its batch-1 A/B has
  /// run on a GPU (docs/quantization.md, "Nineteenth session");
  /// LLMC_FP8_GEMV_PRESCALE=0/1 overrides it.
  bool fp8GemvPrescale = false;
  /// Ranks of this process that run at once on one GPU (emulated ranks:
  /// every rank of the plan; their steps are parallel branches of one
  /// graph). The pipelined FP8 GEMV's persistent grid takes this share of
  /// the resident blocks, so that the ranks' concurrent launches are all
  /// resident instead of one waiting for the other's blocks;
  /// LLMC_FP8_GEMV_SHARE=0 ignores it (A/B measurements).
  int ranksPerGpu = 1;
  /// Launch every decode-step kernel with programmatic dependent launch
  /// (sm_90, Launch.cuh): each waits for the previous kernel on the
  /// device, and the GEMVs' weight loads start before that kernel ends.
  bool pdl = true;
  /// Decode attention's flash-decoding grid: enough splits of the cached
  /// positions for this many blocks per SM (batch x kv heads x splits), at
  /// most one split per 64-key tile. 2 since the H100 sweep of 2026-12-06
  /// (`--only=attention --bench`): at batch 64 and a 136-token context one
  /// split (no partials, no merge) took 23.5 us against 35.9 us for the two
  /// splits of 4 per SM (8B step 7.35 vs 7.68 ms, ~1B 1.66 vs 1.77 ms);
  /// equal at batch 1-8 and 128, 1.6% slower at batch 64 and 1,000 tokens.
  /// LLMC_DECODE_BLOCKS_PER_SM overrides it (A/B measurements).
  int decodeAttentionBlocksPerSm = 2;
  /// Prefill attention at head_dim 64 and 128 with its two products on
  /// wgmma (one warpgroup per 64 query rows; sm_90a, Attention.cuh) instead
  /// of mma.sync. Off until the kernel tests and the prefill A/B have run
  /// on a GPU (docs/kernels.md); LLMC_WGMMA_PREFILL=0/1 overrides it.
  bool wgmmaPrefill = false;
};
/// The decode attention's blocks per SM now (LLMC_DECODE_BLOCKS_PER_SM if
/// set to 1..64, else the launch policy's).
int decodeAttentionBlocksPerSm();
/// Whether the prefill attention runs its wgmma kernel now (head dims 64
/// and 128): LLMC_WGMMA_PREFILL (0 or 1) if set, else the launch policy's
/// wgmmaPrefill, and only on compute capability 9.0.
bool wgmmaPrefill();
void setLaunchPolicy(const LaunchPolicy &p);
LaunchPolicy launchPolicy();

/// Device port of fillRandom (runtime/weights/RandomWeights.h): writes
/// `slice` of the random tensor `name` with full shape `fullShape` (or the
/// whole tensor) to `out` as bf16, each element the CPU generator's float
/// rounded to nearest even, bit for bit. Asynchronous on `stream`; fails
/// (launching nothing) only for an invalid slice or a launch error.
Status fillRandomBf16(uint64_t seed, std::string_view name,
                      const std::vector<int64_t> &fullShape,
                      const std::optional<Slice> &slice, bf16 *out,
                      cudaStream_t stream);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_KERNELS_KERNELS_H
