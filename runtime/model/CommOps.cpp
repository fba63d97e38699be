//===- CommOps.cpp - Ops.h: scratch, weights and communication ------------===//
//
// The "Scratch and weights" and "Communication" sections of Ops.h, on top of
// DeviceRank and its communicators. An Act carries no element type: the
// communication ops take it from the arena allocation holding the data
// (alloc: bf16, allocF32: 4-byte elements), see DeviceRank::elementSize.
//
// linearAllReduce: the GEMM to fp32 and the fp32 -> bf16 rounding are the
// kernel library's (runtime/kernels/Kernels.h); the sum over the axis between
// them is the communicator's, on the fp32 buffer.
//
// Expert parallelism. Routed rows are exchanged with a variable-size
// all-to-all whose sizes the host must know (NCCL needs counts on the
// host), so expertDispatch reads the expert ids back and synchronises the
// rank's stream once, and exchanges the per-destination counts with a small
// all-gather (a second synchronisation). Expert ids are int32 in a buffer
// from allocF32. The received rows fill `tokens` from row 0 in (source
// member, token, choice) order, as the CPU reference executor orders them;
// rows past the received count get expert id -1, weight 0 and zero values,
// so `experts()` must skip ids it does not own (it already skips experts
// other ranks own). expertCombine pairs with the latest expertDispatch on
// the same axis and sums each token's k returned rows in choice order.
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/Ops.h"
#include "runtime/model/DeviceRank.h"

#include "runtime/comm/CommKernels.h"
#include "runtime/kernels/Kernels.h"

#include <cuda_runtime.h>

#include <numeric>
#include <vector>

namespace llmc::rt {

namespace {

DataType typeOfSize(size_t elementSize) {
  switch (elementSize) {
  case 4:
    return DataType::F32;
  case 8:
    return DataType::I64;
  case 1:
    return DataType::U8;
  default:
    return DataType::BF16;
  }
}

std::string shape(const Act &a) {
  return "[" + std::to_string(a.rows) + ", " + std::to_string(a.cols) + "]";
}

size_t count(const Act &a) { return size_t(a.rows) * size_t(a.cols); }

/// Prefix sums of `counts` (the offsets of a packed layout).
std::vector<size_t> offsetsOf(const std::vector<size_t> &counts,
                              size_t scale = 1) {
  std::vector<size_t> off(counts.size());
  size_t at = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    off[i] = at;
    at += counts[i] * scale;
  }
  return off;
}

std::vector<size_t> scaled(const std::vector<size_t> &counts, size_t scale) {
  std::vector<size_t> out(counts);
  for (size_t &c : out)
    c *= scale;
  return out;
}

} // namespace

//===----------------------------------------------------------------------===//
// Scratch and weights
//===----------------------------------------------------------------------===//

Act alloc(Rank &r, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    r.fail("alloc: negative shape [" + std::to_string(rows) + ", " +
           std::to_string(cols) + "]");
  size_t bytes = size_t(rows) * size_t(cols) * 2;
  auto *d = dynamic_cast<DeviceRank *>(&r);
  void *p = d ? d->arenaAllocTyped(bytes, 2) : r.arenaAlloc(bytes);
  return Act{p, rows, cols};
}

Act allocF32(Rank &r, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    r.fail("allocF32: negative shape [" + std::to_string(rows) + ", " +
           std::to_string(cols) + "]");
  size_t bytes = size_t(rows) * size_t(cols) * 4;
  auto *d = dynamic_cast<DeviceRank *>(&r);
  void *p = d ? d->arenaAllocTyped(bytes, 4) : r.arenaAlloc(bytes);
  return Act{p, rows, cols};
}

Act allocFp8(Rank &r, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    r.fail("allocFp8: negative shape [" + std::to_string(rows) + ", " +
           std::to_string(cols) + "]");
  size_t bytes = size_t(rows) * size_t(cols);
  auto *d = dynamic_cast<DeviceRank *>(&r);
  void *p = d ? d->arenaAllocTyped(bytes, 1) : r.arenaAlloc(bytes);
  return Act{p, rows, cols};
}

Weight weight(Rank &r, int index) { return r.weightAt(index); }

//===----------------------------------------------------------------------===//
// Communication
//===----------------------------------------------------------------------===//

void allReduce(Rank &r, Act x, int axis) {
  DeviceRank &d = deviceRank(r);
  Communicator &c = d.axisComm(axis);
  if (c.size() == 1 || count(x) == 0)
    return;
  d.check(c.allReduceSum(x.data, x.data, count(x),
                         typeOfSize(d.elementSize(x.data)), d.stream()));
}

void linearAllReduce(Rank &r, Act out, Act in, Weight w, const Weight *bias,
                     int axis, Act partial) {
  DeviceRank &d = deviceRank(r);
  if (partial.rows != out.rows || partial.cols != out.cols)
    d.fail("linearAllReduce: fp32 partial sums " + shape(partial) +
           " do not match the output " + shape(out));
  if (count(partial) > 0 && d.elementSize(partial.data) != 4)
    d.fail("linearAllReduce: the partial-sum buffer " + shape(partial) +
           " is not fp32 (take it from allocF32)");
  // One rounding, as the unsharded linear: fp32 GEMM output, fp32 sum over
  // the axis (the communicators accumulate in fp32, in member order), then
  // bias and bf16.
  linearF32(r, partial, in, w);
  Communicator &c = d.axisComm(axis);
  if (c.size() > 1 && count(partial) > 0)
    d.check(c.allReduceSum(partial.data, partial.data, count(partial),
                           DataType::F32, d.stream()));
  roundToBf16(r, out, partial, bias);
}

void allReduceMax(Rank &r, Act x, int axis) {
  DeviceRank &d = deviceRank(r);
  Communicator &c = d.axisComm(axis);
  if (c.size() == 1 || count(x) == 0)
    return;
  // The communicators sum; a max is an all-gather and a local max (the
  // per-token scales are [tokens, 1], a few KiB).
  size_t n = count(x);
  void *all = d.scratch(ScratchSlot::GatherCols, size_t(c.size()) * n * 4);
  d.check(c.allGather(x.data, all, n, DataType::F32, d.stream()));
  maxOfBlocks(r, static_cast<float *>(x.data), static_cast<const float *>(all),
              int64_t(n), c.size());
}

void allGather(Rank &r, Act out, Act in, int axis, int dim) {
  DeviceRank &d = deviceRank(r);
  Communicator &c = d.axisComm(axis);
  int64_t g = c.size();
  size_t es = d.elementSize(in.data);
  DataType type = typeOfSize(es);
  if (dim != 0 && dim != 1)
    d.fail("allGather: dim " + std::to_string(dim) + " is not 0 or 1");
  bool rowsOk = dim == 0 ? out.rows == g * in.rows && out.cols == in.cols
                         : out.rows == in.rows && out.cols == g * in.cols;
  if (!rowsOk)
    d.fail("allGather along dim " + std::to_string(dim) + " over " +
           c.name() + " (" + std::to_string(g) + " ranks): output " +
           shape(out) + " does not hold " + std::to_string(g) + " inputs " +
           shape(in));
  if (count(in) == 0)
    return;
  if (g == 1) {
    if (out.data != in.data)
      d.check(cudaMemcpyAsync(out.data, in.data, count(in) * es,
                              cudaMemcpyDeviceToDevice, d.stream()),
              "cudaMemcpyAsync");
    return;
  }
  if (dim == 0) {
    d.check(c.allGather(in.data, out.data, count(in), type, d.stream()));
    return;
  }
  // Columns: gather member blocks contiguously, then interleave them.
  void *tmp = d.scratch(ScratchSlot::GatherCols, size_t(g) * count(in) * es);
  d.check(c.allGather(in.data, tmp, count(in), type, d.stream()));
  for (int64_t m = 0; m < g; ++m)
    d.check(cudaMemcpy2DAsync(
                static_cast<char *>(out.data) + size_t(m * in.cols) * es,
                size_t(out.cols) * es,
                static_cast<const char *>(tmp) + size_t(m) * count(in) * es,
                size_t(in.cols) * es, size_t(in.cols) * es, size_t(in.rows),
                cudaMemcpyDeviceToDevice, d.stream()),
            "cudaMemcpy2DAsync");
}

void send(Rank &r, Act x, int axis, int toCoord) {
  DeviceRank &d = deviceRank(r);
  Communicator &c = d.axisComm(axis);
  d.check(c.send(x.data, count(x), typeOfSize(d.elementSize(x.data)), toCoord,
                 d.stream()));
}

void recv(Rank &r, Act x, int axis, int fromCoord) {
  DeviceRank &d = deviceRank(r);
  Communicator &c = d.axisComm(axis);
  d.check(c.recv(x.data, count(x), typeOfSize(d.elementSize(x.data)),
                 fromCoord, d.stream()));
}

void expertDispatch(Rank &r, Act tokens, Act tokenWeights, Act tokenIds,
                    Act in, Act weights, Act ids, const int *owners,
                    int experts, int axis) {
  DeviceRank &d = deviceRank(r);
  Communicator &c = d.axisComm(axis);
  size_t g = size_t(c.size());
  int me = c.member();
  int64_t t = in.rows, h = in.cols, k = ids.cols;
  if (weights.rows != t || ids.rows != t || weights.cols != k)
    d.fail("expertDispatch: routing weights " + shape(weights) + " and ids " +
           shape(ids) + " do not match the input " + shape(in));
  if (tokens.cols != h || tokenWeights.rows < tokens.rows ||
      tokenIds.rows < tokens.rows)
    d.fail("expertDispatch: outputs tokens " + shape(tokens) + ", weights " +
           shape(tokenWeights) + ", ids " + shape(tokenIds) +
           " do not fit rows of " + std::to_string(h) + " values");
  cudaStream_t stream = d.stream();
  size_t n = size_t(t * k);

  // The routing decisions, on the host.
  auto *hostIds = static_cast<int32_t *>(
      d.pinned(ScratchSlot::Order, std::max<size_t>(n, 1) * 4 * 2));
  if (n)
    d.check(cudaMemcpyAsync(hostIds, ids.data, n * 4, cudaMemcpyDeviceToHost,
                            stream),
            "cudaMemcpyAsync (expert ids)");
  d.sync();
  std::vector<size_t> sendCounts(g, 0);
  for (size_t i = 0; i < n; ++i) {
    int32_t e = hostIds[i];
    if (e < 0 || e >= experts)
      d.fail("expertDispatch: token " + std::to_string(i / size_t(k)) +
             " chose expert " + std::to_string(e) + " of " +
             std::to_string(experts));
    if (owners[e] < 0 || size_t(owners[e]) >= g)
      d.fail("expertDispatch: expert " + std::to_string(e) + " has owner " +
             std::to_string(owners[e]) + " outside the " + c.name() +
             " axis of " + std::to_string(g));
    ++sendCounts[size_t(owners[e])];
  }
  // Send order: by destination, then (token, choice); position[flat] is
  // where each choice's row travels (and comes back).
  std::vector<size_t> sendOffsets = offsetsOf(sendCounts);
  int32_t *order = hostIds + n; // second half of the pinned buffer
  std::vector<int32_t> position(n);
  {
    std::vector<size_t> at = sendOffsets;
    for (size_t i = 0; i < n; ++i) {
      size_t slot = at[size_t(owners[hostIds[i]])]++;
      order[slot] = int32_t(i);
      position[i] = int32_t(slot);
    }
  }

  // Everyone's counts: an all-gather of g x g int64.
  auto *countsHost = static_cast<int64_t *>(
      d.pinned(ScratchSlot::Counts, g * g * 8 + g * 8));
  int64_t *mine = countsHost + g * g;
  for (size_t j = 0; j < g; ++j)
    mine[j] = int64_t(sendCounts[j]);
  auto *countsDev =
      static_cast<int64_t *>(d.scratch(ScratchSlot::Counts, g * 8 + g * g * 8));
  d.check(cudaMemcpyAsync(countsDev, mine, g * 8, cudaMemcpyHostToDevice,
                          stream),
          "cudaMemcpyAsync (expert counts)");
  d.check(c.allGather(countsDev, countsDev + g, g, DataType::I64, stream));
  d.check(cudaMemcpyAsync(countsHost, countsDev + g, g * g * 8,
                          cudaMemcpyDeviceToHost, stream),
          "cudaMemcpyAsync (expert counts)");
  d.sync();
  std::vector<size_t> recvCounts(g);
  size_t received = 0;
  for (size_t j = 0; j < g; ++j) {
    recvCounts[j] = size_t(countsHost[j * g + size_t(me)]);
    received += recvCounts[j];
  }
  if (int64_t(received) > tokens.rows)
    d.fail("expertDispatch over " + c.name() + ": " +
           std::to_string(received) +
           " routed rows arrive but `tokens` holds " +
           std::to_string(tokens.rows) +
           " (allocate tokens * k * axis size rows)");

  // Pack, exchange rows and routing records, unpack.
  auto *orderDev = static_cast<int32_t *>(
      d.scratch(ScratchSlot::Order, std::max<size_t>(n, 1) * 4));
  auto *positionDev = static_cast<int32_t *>(
      d.scratch(ScratchSlot::Position, std::max<size_t>(n, 1) * 4));
  auto *positionHost = static_cast<int32_t *>(
      d.pinned(ScratchSlot::Position, std::max<size_t>(n, 1) * 4));
  std::copy(position.begin(), position.end(), positionHost);
  void *rows = d.scratch(ScratchSlot::SendRows, std::max<size_t>(n, 1) *
                                                    size_t(h) * 2);
  auto *records = static_cast<RouteRecord *>(d.scratch(
      ScratchSlot::SendRecords, std::max<size_t>(n, 1) * sizeof(RouteRecord)));
  auto *receivedRecords = static_cast<RouteRecord *>(
      d.scratch(ScratchSlot::RecvRecords,
                std::max<size_t>(received, 1) * sizeof(RouteRecord)));
  if (n) {
    d.check(cudaMemcpyAsync(orderDev, order, n * 4, cudaMemcpyHostToDevice,
                            stream),
            "cudaMemcpyAsync (expert order)");
    d.check(cudaMemcpyAsync(positionDev, positionHost, n * 4,
                            cudaMemcpyHostToDevice, stream),
            "cudaMemcpyAsync (expert positions)");
  }
  d.check(launchPackDispatch(in.data, static_cast<const float *>(weights.data),
                             static_cast<const int32_t *>(ids.data), orderDev,
                             int64_t(n), k, h, rows, records, stream),
          "expert packing kernel");
  std::vector<size_t> recvOffsets = offsetsOf(recvCounts);
  std::vector<size_t> sendRowCounts = scaled(sendCounts, size_t(h)),
                      sendRowOffsets = scaled(sendOffsets, size_t(h)),
                      recvRowCounts = scaled(recvCounts, size_t(h)),
                      recvRowOffsets = scaled(recvOffsets, size_t(h));
  d.check(c.allToAllV(rows, sendRowCounts.data(), sendRowOffsets.data(),
                      tokens.data, recvRowCounts.data(), recvRowOffsets.data(),
                      DataType::BF16, stream));
  constexpr size_t rb = sizeof(RouteRecord);
  std::vector<size_t> sendRecCounts = scaled(sendCounts, rb),
                      sendRecOffsets = scaled(sendOffsets, rb),
                      recvRecCounts = scaled(recvCounts, rb),
                      recvRecOffsets = scaled(recvOffsets, rb);
  d.check(c.allToAllV(records, sendRecCounts.data(), sendRecOffsets.data(),
                      receivedRecords, recvRecCounts.data(),
                      recvRecOffsets.data(), DataType::U8, stream));
  d.check(launchUnpackRecords(receivedRecords, int64_t(received),
                              tokens.rows, h,
                              static_cast<float *>(tokenWeights.data),
                              static_cast<int32_t *>(tokenIds.data),
                              tokens.data, stream),
          "expert unpacking kernel");

  ExpertRoute &route = d.route(axis);
  route.valid = true;
  route.tokens = t;
  route.k = k;
  route.h = h;
  route.received = int64_t(received);
  route.sendCounts = std::move(sendCounts);
  route.recvCounts = std::move(recvCounts);
  route.position = positionDev;
}

void expertCombine(Rank &r, Act out, Act expertOut, int axis) {
  DeviceRank &d = deviceRank(r);
  Communicator &c = d.axisComm(axis);
  ExpertRoute &route = d.route(axis);
  if (!route.valid)
    d.fail("expertCombine over " + c.name() +
           " without a preceding expertDispatch on that axis");
  if (out.rows != route.tokens || out.cols != route.h ||
      expertOut.cols != route.h || expertOut.rows < route.received)
    d.fail("expertCombine: output " + shape(out) + " and expert output " +
           shape(expertOut) + " do not match the dispatch of " +
           std::to_string(route.tokens) + " tokens x " +
           std::to_string(route.k) + " choices (" +
           std::to_string(route.received) + " rows received) of " +
           std::to_string(route.h) + " values");
  cudaStream_t stream = d.stream();
  size_t n = size_t(route.tokens * route.k), h = size_t(route.h);
  void *back =
      d.scratch(ScratchSlot::CombineRows, std::max<size_t>(n, 1) * h * 2);
  // Rows go back the way they came: what this rank received from member j
  // returns to j, landing where j sent it from.
  std::vector<size_t> sendCounts = scaled(route.recvCounts, h),
                      sendOffsets = offsetsOf(route.recvCounts, h),
                      recvCounts = scaled(route.sendCounts, h),
                      recvOffsets = offsetsOf(route.sendCounts, h);
  d.check(c.allToAllV(expertOut.data, sendCounts.data(), sendOffsets.data(),
                      back, recvCounts.data(), recvOffsets.data(),
                      DataType::BF16, stream));
  d.check(launchCombineSum(back, route.position, route.tokens, route.k,
                           route.h, out.data, stream),
          "expert combine kernel");
  route.valid = false;
}

} // namespace llmc::rt
