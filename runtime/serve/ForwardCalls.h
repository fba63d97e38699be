//===- ForwardCalls.h - a step plan as calls of the forward ----*- C++ -*-===//
//
// The compiled binary's forward (llmc_forward) takes `batch` sequences of
// `seq` tokens each, with per-token positions and, for the paged cache,
// one block-table row per sequence. A step plan mixes decode tokens (one
// per sequence) and prefill chunks of any length, so the GPU ModelStep runs
// it as several calls: one for every one-token sequence (decode, or a last
// prompt token), then the longer chunks, several of similar length to a
// call where the limits allow (one replica). Every replica runs the same
// calls with the same shapes (expert parallelism's all-to-alls need every
// rank of the axis, and every pipeline stage the same call count); rows a
// replica has no sequence for are padding (position -1: no KV write, no
// key visible), and a chunk shorter than its call is left-padded so that
// its last token is its row's last (the one whose logits are kept).
//
// A plan of one replica whose forward takes varlen steps (Step::queryStart)
// runs instead as one flat call (flatCalls): decode rows first, then the
// prefill chunks, every token once with no padding, so the step reads the
// weights once and a prefill chunk no longer holds up the decode rows. A
// pure decode step stays the padded decode call (CUDA graph buckets).
// Plain C++, so the packing is unit-tested without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_FORWARDCALLS_H
#define LLMC_RUNTIME_SERVE_FORWARDCALLS_H

#include "runtime/serve/ModelStep.h"

#include <cstdint>
#include <vector>

namespace llmc::serve {

/// One forward call: `batch` rows of `seq` tokens on every replica, or
/// (`flat`, one replica) `batch` sequences of `tokens` tokens in all, the
/// longest `seq`, the first `decodeRows` of one token each.
struct ForwardCall {
  int64_t batch = 0, seq = 0;
  bool flat = false;
  int64_t tokens = 0, decodeRows = 0;
  /// rows[replica][b]: the index in plan.sequences of row b, or -1 for a
  /// padding row.
  std::vector<std::vector<int32_t>> rows;
};

/// Splits `plan` into calls, none with more than `maxSeqsPerCall` rows or
/// `maxTokensPerCall` tokens (the binary's arena limits; 0: none). Decode
/// rows come first, in plan order. Then the longer chunks: with one
/// replica, longest first, packed several to a call (each at least half as
/// long as the call's longest); with several, each replica's k-th chunk
/// in the k-th prefill call. An empty plan gives no call.
std::vector<ForwardCall> forwardCalls(const StepPlan &plan, int32_t replicas,
                                      int64_t maxSeqsPerCall,
                                      int64_t maxTokensPerCall);

/// One replica's plan as flat calls (see the file comment): each call has
/// at most `maxSeqsPerCall` sequences and `maxTokensPerCall` tokens (0:
/// no limit), its one-token sequences first; sequences keep plan order
/// otherwise. A plan of one-token sequences only gives forwardCalls' decode
/// calls (not flat); an empty plan no call. Every sequence must be on
/// replica 0.
std::vector<ForwardCall> flatCalls(const StepPlan &plan,
                                   int64_t maxSeqsPerCall,
                                   int64_t maxTokensPerCall);

/// Host inputs of one call on one replica, as the device buffers take them.
struct CallInputs {
  /// [batch * seq] (flat calls: [tokens]); padding: id 0
  std::vector<int64_t> ids;
  /// [batch * seq] (flat calls: [tokens]); padding: -1
  std::vector<int64_t> positions;
  /// [batch * tableStride] block ids; entries past a sequence's table: 0
  /// (a valid block never read: positions stop before them).
  std::vector<int32_t> blockTables;
  /// Flat calls only: [batch + 1] first row of each sequence, then
  /// `tokens`; and [tokens] each row's sequence (Step::queryStart,
  /// Step::tokenSeq). Empty otherwise.
  std::vector<int32_t> queryStart, tokenSeq;
};

/// Fills `out` for `call` on `replica`. `tableStride` is the block-table
/// row length (blocks of the longest sequence); a sequence whose table is
/// longer is an error, as is a token or block id out of range
/// (`numBlocks`).
Status fillCallInputs(const StepPlan &plan, const ForwardCall &call,
                      int32_t replica, int64_t tableStride, int64_t numBlocks,
                      CallInputs &out);

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_FORWARDCALLS_H
