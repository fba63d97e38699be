//===- ForwardCalls.cpp - a step plan as calls of a compiled forward ------===//

#include "runtime/serve/ForwardCalls.h"

#include <algorithm>

namespace llmc::serve {

std::vector<ForwardCall> forwardCalls(const StepPlan &plan, int32_t replicas,
                                      int64_t maxSeqsPerCall,
                                      int64_t maxTokensPerCall) {
  size_t nr = size_t(std::max(replicas, 1));
  // Per replica, its decode rows and its longer chunks, in plan order.
  std::vector<std::vector<int32_t>> decode(nr), chunks(nr);
  for (size_t i = 0; i < plan.sequences.size(); ++i) {
    const SequenceStep &s = plan.sequences[i];
    size_t r = size_t(std::clamp<int32_t>(s.replica, 0, int32_t(nr) - 1));
    (s.tokens.size() == 1 ? decode : chunks)[r].push_back(int32_t(i));
  }
  std::vector<ForwardCall> calls;
  // Decode: one call of up to the per-call row limit, as many as needed.
  int64_t perCall = maxSeqsPerCall > 0 ? maxSeqsPerCall : INT64_MAX;
  if (maxTokensPerCall > 0)
    perCall = std::min(perCall, maxTokensPerCall);
  size_t mostDecode = 0;
  for (const auto &d : decode)
    mostDecode = std::max(mostDecode, d.size());
  for (size_t first = 0; first < mostDecode; first += size_t(perCall)) {
    ForwardCall c;
    c.seq = 1;
    c.batch = int64_t(std::min<size_t>(size_t(perCall), mostDecode - first));
    c.rows.assign(nr, std::vector<int32_t>(size_t(c.batch), -1));
    for (size_t r = 0; r < nr; ++r)
      for (size_t b = 0; b < size_t(c.batch); ++b)
        if (first + b < decode[r].size())
          c.rows[r][b] = decode[r][first + b];
    calls.push_back(std::move(c));
  }
  // Prefill, one replica: chunks longest first, packed into calls of up
  // to the row and token limits; a chunk joins a call only when at least
  // half as long as its longest, so left padding stays under half the
  // rows. (A call reads the weights once: fewer, larger calls.)
  if (nr == 1) {
    std::vector<int32_t> order = chunks[0];
    auto len = [&](int32_t i) {
      return int64_t(plan.sequences[size_t(i)].tokens.size());
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return len(a) > len(b); });
    for (int32_t idx : order) {
      if (!calls.empty() && calls.back().seq > 1) {
        ForwardCall &c = calls.back();
        bool fits = 2 * len(idx) >= c.seq && c.batch + 1 <= perCall &&
                    (maxTokensPerCall <= 0 ||
                     (c.batch + 1) * c.seq <= maxTokensPerCall);
        if (fits) {
          c.rows[0].push_back(idx);
          ++c.batch;
          continue;
        }
      }
      ForwardCall c;
      c.batch = 1;
      c.seq = len(idx);
      c.rows.assign(1, std::vector<int32_t>(1, idx));
      calls.push_back(std::move(c));
    }
    return calls;
  }
  // Several replicas: the k-th chunk of every replica in call k, as long
  // as the longest of them (each fits the token limit alone).
  size_t mostChunks = 0;
  for (const auto &c : chunks)
    mostChunks = std::max(mostChunks, c.size());
  for (size_t k = 0; k < mostChunks; ++k) {
    ForwardCall c;
    c.batch = 1;
    c.rows.assign(nr, std::vector<int32_t>(1, -1));
    for (size_t r = 0; r < nr; ++r)
      if (k < chunks[r].size()) {
        c.rows[r][0] = chunks[r][k];
        c.seq = std::max<int64_t>(
            c.seq, int64_t(plan.sequences[size_t(chunks[r][k])].tokens.size()));
      }
    calls.push_back(std::move(c));
  }
  return calls;
}

Status fillCallInputs(const StepPlan &plan, const ForwardCall &call,
                      int32_t replica, int64_t tableStride, int64_t numBlocks,
                      CallInputs &out) {
  size_t rows = size_t(call.batch * call.seq);
  out.ids.assign(rows, 0);
  out.positions.assign(rows, -1);
  out.blockTables.assign(size_t(call.batch * tableStride), 0);
  if (replica < 0 || size_t(replica) >= call.rows.size())
    return Status::error("forward call: replica " + std::to_string(replica) +
                         " is not one of its " +
                         std::to_string(call.rows.size()));
  const std::vector<int32_t> &mine = call.rows[size_t(replica)];
  for (size_t b = 0; b < mine.size() && b < size_t(call.batch); ++b) {
    if (mine[b] < 0)
      continue;
    const SequenceStep &s = plan.sequences[size_t(mine[b])];
    std::string who = "forward call: sequence " + std::to_string(s.seqId);
    int64_t n = int64_t(s.tokens.size());
    if (n > call.seq)
      return Status::error(who + " has " + std::to_string(n) +
                           " tokens, more than the call's " +
                           std::to_string(call.seq));
    if (int64_t(s.blockTable.size()) > tableStride)
      return Status::error(who + " has a block table of " +
                           std::to_string(s.blockTable.size()) +
                           " blocks, more than the " +
                           std::to_string(tableStride) +
                           " of the longest sequence");
    // Left padding: the chunk's last token is the row's last.
    size_t first = size_t(int64_t(b) * call.seq + (call.seq - n));
    for (int64_t t = 0; t < n; ++t) {
      out.ids[first + size_t(t)] = s.tokens[size_t(t)];
      out.positions[first + size_t(t)] = s.startPos + t;
    }
    for (size_t i = 0; i < s.blockTable.size(); ++i) {
      int32_t blk = s.blockTable[i];
      if (blk < 0 || blk >= numBlocks)
        return Status::error(who + ": block id " + std::to_string(blk) +
                             " is not in [0, " + std::to_string(numBlocks) +
                             ")");
      out.blockTables[size_t(int64_t(b) * tableStride) + i] = blk;
    }
  }
  return Status::ok();
}

} // namespace llmc::serve
