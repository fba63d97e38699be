//===- StubModel.cpp - a model binary with a hand-written llmc_forward ---===//
//
// Links the host runtime (its main, generation loop, weights, KV cache,
// communicators) with a tiny forward that needs no model kernels, so the
// runtime is testable before llm-compile exists and on plans of every
// shape. Its arithmetic runs on the host between copies, which is slow and
// irrelevant: what it checks is the runtime's plumbing.
//
// The "model": the next token after id x is (x + 1) mod vocab.
//  - stage 0: h[b, :] = ((last id + 1) mod V) / tp on every tp rank, then
//    allReduce over "tp" (exact in bf16 for V <= 256);
//  - pipeline: send/recv of h between consecutive "pp" stages;
//  - with an "ep" axis: every row is dispatched to 2 experts (ids (b + c)
//    mod E, weight 0.5 each, expert e on ep coordinate e mod ep), each
//    "expert" is the identity times its routing weight, and the combine
//    sums the halves back to h;
//  - last stage: logits[b, v] = -(v - h[b, 0])^2 over the rank's vocab
//    block, all-gathered over "tp" along columns (fp32), and next = argmax.
// It also reads every weight the rank loads and checks its KV slots exist;
// with LLMC_STUB_CHECK_SEED=S (random:S weights) or LLMC_STUB_CHECK_CKPT=DIR
// it compares every loaded weight's bytes with the host-side loader's
// (HostWeights.h) on the first step.
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/Ops.h"
#include "runtime/model/DeviceRank.h"
#include "runtime/model/HostWeights.h"
#include "runtime/weights/DType.h"

#include <cuda_runtime.h>

#include <cstdio>

#include <cmath>
#include <cstdlib>
#include <vector>

using namespace llmc::rt;

namespace {

void toHost(DeviceRank &d, void *dst, const void *src, size_t bytes) {
  d.check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, d.stream()),
          "cudaMemcpyAsync");
  d.sync();
}

void toDevice(DeviceRank &d, void *dst, const void *src, size_t bytes) {
  d.check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, d.stream()),
          "cudaMemcpyAsync");
  d.sync();
}

std::vector<uint16_t> bf16Rows(const std::vector<float> &values, int64_t h) {
  std::vector<uint16_t> out;
  for (float v : values)
    for (int64_t j = 0; j < h; ++j)
      out.push_back(floatToBf16(v));
  return out;
}

/// Compares the rank's device weights with what the host loader computes.
void checkWeightBytes(DeviceRank &d) {
  const Manifest &m = d.manifest();
  const char *seed = std::getenv("LLMC_STUB_CHECK_SEED");
  const char *dir = std::getenv("LLMC_STUB_CHECK_CKPT");
  if (!seed && !dir)
    return;
  std::unique_ptr<Checkpoint> ckpt;
  if (dir) {
    auto c = Checkpoint::open(dir);
    d.check(c.status());
    ckpt = std::move(*c);
  }
  size_t checked = 0;
  for (size_t i = 0; i < m.weights.size(); ++i) {
    if (!m.rankLoads(d.rank(), i))
      continue;
    std::vector<uint16_t> want(size_t(numElements(m.weights[i].shape))),
        got(want.size());
    d.check(hostWeightBf16(m, d.rank(), i, ckpt.get(),
                           seed ? std::strtoull(seed, nullptr, 10) : 0,
                           want.data(), 1));
    toHost(d, got.data(), d.weightStorage(int(i)), got.size() * 2);
    if (got != want)
      d.fail("stub: weight " + m.weights[i].name +
             " differs from the host loader's bytes");
    ++checked;
  }
  std::fprintf(stderr, "stub: %s: %zu weights match the host loader\n",
               d.describe().c_str(), checked);
}

} // namespace

extern "C" void llmc_forward(Rank &r, const Step &s, float *logits,
                             int64_t *next) {
  DeviceRank &d = deviceRank(r);
  const Manifest &m = d.manifest();
  const ManifestPlan &plan = m.plan;
  int tpAxis = plan.axisIndex("tp"), ppAxis = plan.axisIndex("pp"),
      epAxis = plan.axisIndex("ep");
  int64_t tp = tpAxis >= 0 ? r.axisSize(tpAxis) : 1;
  int64_t tpCoord = tpAxis >= 0 ? r.coord(tpAxis) : 0;
  int64_t stages = ppAxis >= 0 ? r.axisSize(ppAxis) : 1;
  int64_t stage = ppAxis >= 0 ? r.coord(ppAxis) : 0;
  int64_t v = m.model.vocabSize, h = m.model.hiddenSize, b = s.batch;

  static thread_local bool checkedWeights = false;
  if (!checkedWeights) {
    checkedWeights = true;
    checkWeightBytes(d);
  }
  for (size_t i = 0; i < m.weights.size(); ++i)
    if (m.rankLoads(r.rank(), i)) {
      Weight w = weight(r, int(i));
      if (!w.data || w.rows * w.cols != numElements(m.weights[i].shape))
        r.fail("stub: weight " + m.weights[i].name + " has the wrong size");
    }
  auto [first, end] = m.slotsOf(r.rank());
  for (int64_t slot = first; slot < end; ++slot)
    if (!r.cache(int(slot)).k)
      r.fail("stub: KV slot " + std::to_string(slot) + " is missing");

  Act x = alloc(r, b, h);
  if (stage == 0) {
    std::vector<int64_t> ids(size_t(b * s.seq)), pos(size_t(b * s.seq));
    toHost(d, ids.data(), s.ids, ids.size() * 8);
    toHost(d, pos.data(), s.positions, pos.size() * 8);
    std::vector<float> rows;
    for (int64_t i = 0; i < b; ++i) {
      int64_t last = ids[size_t((i + 1) * s.seq - 1)];
      if (pos[size_t(i * s.seq)] < 0)
        r.fail("stub: negative position");
      rows.push_back(float((last + 1) % v) / float(tp));
    }
    std::vector<uint16_t> bits = bf16Rows(rows, h);
    toDevice(d, x.data, bits.data(), bits.size() * 2);
    if (tpAxis >= 0)
      allReduce(r, x, tpAxis);
  } else {
    recv(r, x, ppAxis, int(stage - 1));
  }

  if (epAxis >= 0 && stage == 0) {
    int ep = r.axisSize(epAxis), me = r.coord(epAxis);
    int k = 2, experts = 2 * ep;
    std::vector<int> owners(static_cast<size_t>(experts));
    for (int e = 0; e < experts; ++e)
      owners[size_t(e)] = e % ep;
    std::vector<float> rw(size_t(b * k), 0.5f);
    std::vector<int32_t> rid(static_cast<size_t>(b * k));
    for (int64_t i = 0; i < b; ++i)
      for (int c = 0; c < k; ++c)
        rid[size_t(i * k + c)] = int32_t((i + c) % experts);
    Act wAct = allocF32(r, b, k), idAct = allocF32(r, b, k);
    toDevice(d, wAct.data, rw.data(), rw.size() * 4);
    toDevice(d, idAct.data, rid.data(), rid.size() * 4);
    int64_t cap = b * k * ep;
    Act tokens = alloc(r, cap, h), tw = allocF32(r, cap, 1),
        tid = allocF32(r, cap, 1);
    expertDispatch(r, tokens, tw, tid, x, wAct, idAct, owners.data(), experts,
                   epAxis);
    std::vector<uint16_t> got(static_cast<size_t>(cap * h));
    std::vector<float> gw(static_cast<size_t>(cap));
    std::vector<int32_t> gid(static_cast<size_t>(cap));
    toHost(d, got.data(), tokens.data, got.size() * 2);
    toHost(d, gw.data(), tw.data, gw.size() * 4);
    toHost(d, gid.data(), tid.data, gid.size() * 4);
    for (int64_t i = 0; i < cap; ++i) {
      if (gid[size_t(i)] >= 0 && owners[size_t(gid[size_t(i)])] != me)
        r.fail("stub: expert " + std::to_string(gid[size_t(i)]) +
               " arrived at the wrong rank");
      for (int64_t j = 0; j < h; ++j) {
        uint16_t &e = got[size_t(i * h + j)];
        e = gid[size_t(i)] < 0 ? floatToBf16(0.f)
                               : floatToBf16(gw[size_t(i)] * bf16ToFloat(e));
      }
    }
    Act y = alloc(r, cap, h);
    toDevice(d, y.data, got.data(), got.size() * 2);
    Act combined = alloc(r, b, h);
    expertCombine(r, combined, y, epAxis);
    x = combined;
  }

  if (stage + 1 < stages) {
    send(r, x, ppAxis, int(stage + 1));
    return;
  }

  std::vector<uint16_t> hx(static_cast<size_t>(b * h));
  toHost(d, hx.data(), x.data, hx.size() * 2);
  int64_t block = v % tp == 0 ? v / tp : v;
  int64_t offset = v % tp == 0 ? tpCoord * block : 0;
  std::vector<float> local(static_cast<size_t>(b * block));
  for (int64_t i = 0; i < b; ++i) {
    float center = bf16ToFloat(hx[size_t(i * h)]);
    for (int64_t j = 0; j < block; ++j) {
      float dv = float(offset + j) - center;
      local[size_t(i * block + j)] = -dv * dv;
    }
  }
  Act l = allocF32(r, b, block);
  toDevice(d, l.data, local.data(), local.size() * 4);
  Act full{logits, b, v};
  if (block != v)
    allGather(r, full, l, tpAxis, 1);
  else
    d.check(cudaMemcpyAsync(logits, l.data, size_t(b * v) * 4,
                            cudaMemcpyDeviceToDevice, d.stream()),
            "cudaMemcpyAsync");
  std::vector<float> all(static_cast<size_t>(b * v));
  toHost(d, all.data(), logits, all.size() * 4);
  std::vector<int64_t> ids(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < v; ++j)
      if (all[size_t(i * v + j)] > all[size_t(i * v + best)])
        best = j;
    ids[size_t(i)] = best;
  }
  toDevice(d, next, ids.data(), ids.size() * 8);
}
