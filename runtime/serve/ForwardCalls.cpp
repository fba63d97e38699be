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

std::vector<ForwardCall> flatCalls(const StepPlan &plan,
                                   int64_t maxSeqsPerCall,
                                   int64_t maxTokensPerCall) {
  std::vector<int32_t> order;
  for (size_t i = 0; i < plan.sequences.size(); ++i)
    if (plan.sequences[i].tokens.size() == 1)
      order.push_back(int32_t(i));
  size_t decode = order.size();
  if (decode == plan.sequences.size())
    return forwardCalls(plan, 1, maxSeqsPerCall, maxTokensPerCall);
  for (size_t i = 0; i < plan.sequences.size(); ++i)
    if (plan.sequences[i].tokens.size() != 1)
      order.push_back(int32_t(i));
  std::vector<ForwardCall> calls;
  for (size_t k = 0; k < order.size(); ++k) {
    int64_t n = int64_t(plan.sequences[size_t(order[k])].tokens.size());
    bool fits = !calls.empty() &&
                (maxSeqsPerCall <= 0 || calls.back().batch < maxSeqsPerCall) &&
                (maxTokensPerCall <= 0 ||
                 calls.back().tokens + n <= maxTokensPerCall);
    if (!fits) {
      calls.emplace_back();
      calls.back().flat = true;
      calls.back().rows.assign(1, {});
    }
    ForwardCall &c = calls.back();
    c.rows[0].push_back(order[k]);
    ++c.batch;
    c.tokens += n;
    c.seq = std::max(c.seq, n);
    if (k < decode)
      ++c.decodeRows;
  }
  return calls;
}

/// Copies `s`'s block table into row `tableRow` (`tableStride` blocks) of
/// out.blockTables, checking its length and every block id.
static Status fillTable(const SequenceStep &s, const std::string &who,
                        int64_t tableRow, int64_t tableStride,
                        int64_t numBlocks, CallInputs &out) {
  if (int64_t(s.blockTable.size()) > tableStride)
    return Status::error(who + " has a block table of " +
                         std::to_string(s.blockTable.size()) +
                         " blocks, more than the " +
                         std::to_string(tableStride) +
                         " of the longest sequence");
  for (size_t i = 0; i < s.blockTable.size(); ++i) {
    int32_t blk = s.blockTable[i];
    if (blk < 0 || blk >= numBlocks)
      return Status::error(who + ": block id " + std::to_string(blk) +
                           " is not in [0, " + std::to_string(numBlocks) +
                           ")");
    out.blockTables[size_t(tableRow * tableStride) + i] = blk;
  }
  return Status::ok();
}

/// fillCallInputs of a flat call: no padding, rows in call order.
static Status fillFlatInputs(const StepPlan &plan, const ForwardCall &call,
                             int64_t tableStride, int64_t numBlocks,
                             CallInputs &out) {
  out.ids.assign(size_t(call.tokens), 0);
  out.positions.assign(size_t(call.tokens), -1);
  out.blockTables.assign(size_t(call.batch * tableStride), 0);
  out.queryStart.assign(size_t(call.batch + 1), 0);
  out.tokenSeq.assign(size_t(call.tokens), 0);
  const std::vector<int32_t> &mine = call.rows[0];
  if (int64_t(mine.size()) != call.batch)
    return Status::error("flat forward call: " + std::to_string(mine.size()) +
                         " sequences, the call says " +
                         std::to_string(call.batch));
  int64_t row = 0;
  for (size_t b = 0; b < mine.size(); ++b) {
    if (mine[b] < 0 || size_t(mine[b]) >= plan.sequences.size())
      return Status::error("flat forward call: row " + std::to_string(b) +
                           " names no sequence of the plan");
    const SequenceStep &s = plan.sequences[size_t(mine[b])];
    std::string who = "forward call: sequence " + std::to_string(s.seqId);
    int64_t n = int64_t(s.tokens.size());
    bool decodeRow = int64_t(b) < call.decodeRows;
    if (n == 0 || n > call.seq || row + n > call.tokens ||
        (decodeRow && n != 1))
      return Status::error(who + " has " + std::to_string(n) +
                           " tokens, which do not fit the flat call (" +
                           std::to_string(call.tokens) + " tokens, longest " +
                           std::to_string(call.seq) + ")");
    out.queryStart[b] = int32_t(row);
    for (int64_t t = 0; t < n; ++t) {
      out.ids[size_t(row + t)] = s.tokens[size_t(t)];
      out.positions[size_t(row + t)] = s.startPos + t;
      out.tokenSeq[size_t(row + t)] = int32_t(b);
    }
    row += n;
    if (Status st = fillTable(s, who, int64_t(b), tableStride, numBlocks, out);
        !st)
      return st;
  }
  if (row != call.tokens)
    return Status::error("flat forward call: its sequences have " +
                         std::to_string(row) + " tokens, the call says " +
                         std::to_string(call.tokens));
  out.queryStart[mine.size()] = int32_t(row);
  return Status::ok();
}

Status fillCallInputs(const StepPlan &plan, const ForwardCall &call,
                      int32_t replica, int64_t tableStride, int64_t numBlocks,
                      CallInputs &out) {
  out.queryStart.clear();
  out.tokenSeq.clear();
  if (call.flat) {
    if (replica != 0 || call.rows.size() != 1)
      return Status::error("flat forward call: replica " +
                           std::to_string(replica) +
                           " of a call for one replica");
    return fillFlatInputs(plan, call, tableStride, numBlocks, out);
  }
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
    // Left padding: the chunk's last token is the row's last.
    size_t first = size_t(int64_t(b) * call.seq + (call.seq - n));
    for (int64_t t = 0; t < n; ++t) {
      out.ids[first + size_t(t)] = s.tokens[size_t(t)];
      out.positions[first + size_t(t)] = s.startPos + t;
    }
    if (Status st = fillTable(s, who, int64_t(b), tableStride, numBlocks, out);
        !st)
      return st;
  }
  return Status::ok();
}

} // namespace llmc::serve
