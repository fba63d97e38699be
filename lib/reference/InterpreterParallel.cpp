//===- InterpreterParallel.cpp - the ops that involve other ranks ---------===//
//
// Pipelines, stages and transfers (dist), the upstream shard collectives,
// expert-parallel dispatch and combine, and ring attention. Each rank
// decides from its grid coordinates what to send and receive; the
// InProcessCommunicator matches the calls of the ranks.
//
//===----------------------------------------------------------------------===//

#include "llmc/Reference/Interpreter.h"
#include "llmc/Support/Try.h"

#include "llmc/Reference/Kernels.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"

#include <algorithm>

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;
using mlir::Operation;
using mlir::Value;

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// Splits dim 0 of a tensor into `parts` equal chunks; anything else is
/// passed to every chunk unchanged (a CacheRef gets the chunk's rows).
Expected<std::vector<RtValue>> splitBatch(const RtValue &v, int64_t parts) {
  std::vector<RtValue> chunks;
  auto splitTensor = [&](const auto &t) -> Error {
    if (t.rank() < 1 || t.dim(0) % parts != 0)
      return createStringError("dist.pipeline: batch %lld is not divisible "
                               "by %lld microbatches",
                               (long long)(t.rank() ? t.dim(0) : 0),
                               (long long)parts);
    int64_t rows = t.dim(0) / parts;
    for (int64_t m = 0; m < parts; ++m)
      chunks.push_back(sliceAlong(t, 0, m * rows, rows));
    return Error::success();
  };
  if (auto *t = std::get_if<Tensor>(&v)) {
    if (Error e = splitTensor(*t))
      return std::move(e);
  } else if (auto *t = std::get_if<IntTensor>(&v)) {
    if (Error e = splitTensor(*t))
      return std::move(e);
  } else if (auto *c = std::get_if<CacheRef>(&v)) {
    if (c->rows % parts != 0)
      return createStringError("dist.pipeline: %lld KV cache rows are not "
                               "divisible by %lld microbatches",
                               (long long)c->rows, (long long)parts);
    int64_t rows = c->rows / parts;
    for (int64_t m = 0; m < parts; ++m)
      chunks.push_back(CacheRef{c->cache, c->rowOffset + m * rows, rows});
  } else {
    for (int64_t m = 0; m < parts; ++m)
      chunks.push_back(v);
  }
  return chunks;
}

/// Concatenates the micro-batch results of one pipeline result along dim 0.
Expected<RtValue> concatBatch(std::vector<RtValue> parts, unsigned resultNo) {
  if (llvm::all_of(parts, isAbsent))
    return RtValue(Absent());
  if (llvm::any_of(parts, isAbsent))
    return createStringError("dist.pipeline: result #%u exists for some "
                             "microbatches of this rank but not for others",
                             resultNo);
  if (std::holds_alternative<Tensor>(parts.front())) {
    std::vector<Tensor> ts;
    for (RtValue &p : parts) {
      if (!std::holds_alternative<Tensor>(p))
        return createStringError("dist.pipeline: result #%u changes kind "
                                 "between microbatches",
                                 resultNo);
      ts.push_back(std::move(std::get<Tensor>(p)));
    }
    LLMC_TRY(t, concatAlong<float>(ts, 0));
    return RtValue(std::move(t));
  }
  if (std::holds_alternative<IntTensor>(parts.front())) {
    std::vector<IntTensor> ts;
    for (RtValue &p : parts) {
      if (!std::holds_alternative<IntTensor>(p))
        return createStringError("dist.pipeline: result #%u changes kind "
                                 "between microbatches",
                                 resultNo);
      ts.push_back(std::move(std::get<IntTensor>(p)));
    }
    LLMC_TRY(t, concatAlong<int64_t>(ts, 0));
    return RtValue(std::move(t));
  }
  return createStringError("dist.pipeline: result #%u is not a tensor",
                           resultNo);
}

/// Splits `t` into `parts` equal pieces along `axis`.
template <typename T>
Expected<std::vector<AnyTensor>> splitAlong(const TensorOf<T> &t, int64_t axis,
                                            int64_t parts) {
  if (axis < 0 || axis >= t.rank() || t.dim(axis) % parts != 0)
    return createStringError("cannot split a %s tensor into %lld pieces "
                             "along dim %lld",
                             shapeString(t.shape).c_str(), (long long)parts,
                             (long long)axis);
  int64_t size = t.dim(axis) / parts;
  std::vector<AnyTensor> out;
  for (int64_t i = 0; i < parts; ++i)
    out.push_back(sliceAlong(t, axis, i * size, size));
  return out;
}

/// Concatenates pieces of one kind along `axis`.
Expected<AnyTensor> concatAny(std::vector<AnyTensor> pieces, int64_t axis) {
  if (std::holds_alternative<Tensor>(pieces.front())) {
    std::vector<Tensor> ts;
    for (AnyTensor &p : pieces) {
      if (!std::holds_alternative<Tensor>(p))
        return createStringError("ranks contributed tensors of different "
                                 "element kinds");
      ts.push_back(std::move(std::get<Tensor>(p)));
    }
    LLMC_TRY(t, concatAlong<float>(ts, axis));
    return AnyTensor(std::move(t));
  }
  std::vector<IntTensor> ts;
  for (AnyTensor &p : pieces) {
    if (!std::holds_alternative<IntTensor>(p))
      return createStringError("ranks contributed tensors of different "
                               "element kinds");
    ts.push_back(std::move(std::get<IntTensor>(p)));
  }
  LLMC_TRY(t, concatAlong<int64_t>(ts, axis));
  return AnyTensor(std::move(t));
}

RtValue toRtValue(AnyTensor t) {
  if (auto *f = std::get_if<Tensor>(&t))
    return std::move(*f);
  return std::move(std::get<IntTensor>(t));
}

} // namespace

//===----------------------------------------------------------------------===//
// Interpreter: pipelines
//===----------------------------------------------------------------------===//

Error Interpreter::execPipeline(dist::PipelineOp op) {
  int64_t m = int64_t(op.getMicrobatches());
  if (m < 1)
    return createStringError("dist.pipeline: %lld microbatches", (long long)m);
  // chunks[i][j]: operand i for micro-batch j.
  std::vector<std::vector<RtValue>> chunks;
  for (Value v : op.getInputs()) {
    LLMC_TRY(c, splitBatch(lookup(v), m));
    chunks.push_back(std::move(c));
  }
  // perResult[r][j]: result r of micro-batch j.
  std::vector<std::vector<RtValue>> perResult(op.getNumResults());
  for (int64_t j = 0; j < m; ++j) {
    std::vector<RtValue> args;
    for (auto &c : chunks)
      args.push_back(c[j]);
    LLMC_TRY(results, runBlock(op.getBody().front(), std::move(args)));
    for (unsigned r = 0; r < op.getNumResults(); ++r)
      perResult[r].push_back(std::move(results[r]));
  }
  for (unsigned r = 0; r < op.getNumResults(); ++r) {
    LLMC_TRY(v, concatBatch(std::move(perResult[r]), r));
    bind(op.getResult(r), std::move(v));
  }
  return Error::success();
}

Error Interpreter::execStage(dist::StageOp op) {
  int64_t stage = program_.grid.coordinate(rank_, "pp");
  if (stage != int64_t(op.getStage())) {
    for (Value r : op.getResults())
      bind(r, Absent());
    return Error::success();
  }
  std::vector<RtValue> args;
  for (auto [i, v] : llvm::enumerate(op.getInputs())) {
    if (isAbsent(lookup(v)))
      return createStringError("dist.stage %lld: operand #%zu is not "
                               "available on rank %d (pp coordinate %lld); "
                               "a dist.transfer must bring it here",
                               (long long)op.getStage(), i, rank_,
                               (long long)stage);
    args.push_back(lookup(v));
  }
  LLMC_TRY(results, runBlock(op.getBody().front(), std::move(args)));
  for (auto [r, v] : llvm::zip(op.getResults(), results))
    bind(r, std::move(v));
  return Error::success();
}

Error Interpreter::execTransfer(dist::TransferOp op) {
  const Grid &grid = program_.grid;
  if (op.getGrid() != grid.name)
    return createStringError("dist.transfer: grid @%s is not the module's "
                             "grid",
                             op.getGrid().str().c_str());
  int64_t axis = int64_t(op.getAxis());
  if (axis < 0 || axis >= int64_t(grid.shape.size()))
    return createStringError("dist.transfer: axis %lld is not an axis of "
                             "grid @%s",
                             (long long)axis, grid.name.c_str());
  int64_t from = int64_t(op.getFrom()), to = int64_t(op.getTo());
  std::vector<int64_t> coords = grid.coordinates(rank_);
  int64_t mine = coords[axis];
  if (mine == from) {
    const RtValue &v = lookup(op.getInput());
    if (from == to) {
      bind(op.getResult(), v);
      return Error::success();
    }
    AnyTensor payload;
    if (auto *t = std::get_if<Tensor>(&v))
      payload = *t;
    else if (auto *t = std::get_if<IntTensor>(&v))
      payload = *t;
    else
      return createStringError("dist.transfer: the value to send is not "
                               "available on rank %d (coordinate %lld along "
                               "axis %lld)",
                               rank_, (long long)mine, (long long)axis);
    coords[axis] = to;
    if (Error e = comm_->send(rank_, int(grid.rankAt(coords)),
                              std::move(payload)))
      return e;
    bind(op.getResult(), Absent());
    return Error::success();
  }
  if (mine == to) {
    coords[axis] = from;
    LLMC_TRY(got, comm_->recv(rank_, int(grid.rankAt(coords))));
    bind(op.getResult(), toRtValue(std::move(got)));
    return Error::success();
  }
  bind(op.getResult(), Absent());
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: collectives
//===----------------------------------------------------------------------===//

Error Interpreter::execCollective(Operation *op) {
  namespace shard = mlir::shard;
  auto gridName = op->getAttrOfType<mlir::FlatSymbolRefAttr>("grid");
  if (!gridName || gridName.getValue() != program_.grid.name)
    return createStringError("the collective's grid is not the module's "
                             "grid @%s",
                             program_.grid.name.c_str());
  std::vector<int64_t> axes;
  if (auto a = op->getAttrOfType<mlir::DenseI16ArrayAttr>("grid_axes"))
    for (int16_t axis : a.asArrayRef()) {
      if (axis < 0 || axis >= int16_t(program_.grid.shape.size()))
        return createStringError("grid axis %d is not an axis of @%s", axis,
                                 program_.grid.name.c_str());
      axes.push_back(axis);
    }
  std::vector<int> group = program_.grid.group(rank_, axes);
  int64_t groupSize = int64_t(group.size());
  int64_t me = llvm::find(group, rank_) - group.begin();

  const RtValue &in = lookup(op->getOperand(0));
  AnyTensor input;
  if (auto *t = std::get_if<Tensor>(&in))
    input = *t;
  else if (auto *t = std::get_if<IntTensor>(&in))
    input = *t;
  else
    return createStringError("the input is not available on rank %d, which "
                             "must take part in the collective over ranks %s",
                             rank_, groupString(group).c_str());

  auto splitAny = [&](int64_t axis) -> Expected<std::vector<AnyTensor>> {
    if (auto *t = std::get_if<Tensor>(&input))
      return splitAlong(*t, axis, groupSize);
    return splitAlong(std::get<IntTensor>(input), axis, groupSize);
  };

  if (auto ar = llvm::dyn_cast<shard::AllReduceOp>(op)) {
    ReduceKind kind;
    switch (ar.getReduction()) {
    case shard::ReductionKind::Sum:
      kind = ReduceKind::Sum;
      break;
    case shard::ReductionKind::Max:
      kind = ReduceKind::Max;
      break;
    case shard::ReductionKind::Min:
      kind = ReduceKind::Min;
      break;
    case shard::ReductionKind::Product:
      kind = ReduceKind::Product;
      break;
    default:
      return createStringError("reduction kind %s is not supported",
                               shard::stringifyReductionKind(ar.getReduction())
                                   .str()
                                   .c_str());
    }
    auto *t = std::get_if<Tensor>(&input);
    if (!t)
      return createStringError("all_reduce of an integer tensor is not "
                               "supported");
    Tensor data = std::move(*t);
    if (Error e = comm_->allReduce(rank_, group, data, kind))
      return e;
    bind(ar.getResult(), std::move(data));
    return Error::success();
  }
  if (auto ag = llvm::dyn_cast<shard::AllGatherOp>(op)) {
    LLMC_TRY(all, comm_->allGather(rank_, group, std::move(input)));
    LLMC_TRY(y, concatAny(std::move(all), int64_t(ag.getGatherAxis().getSExtValue())));
    bind(ag.getResult(), toRtValue(std::move(y)));
    return Error::success();
  }
  if (auto a2a = llvm::dyn_cast<shard::AllToAllOp>(op)) {
    LLMC_TRY(pieces, splitAny(int64_t(a2a.getSplitAxis().getSExtValue())));
    LLMC_TRY(got, comm_->allToAll(rank_, group, std::move(pieces)));
    LLMC_TRY(y, concatAny( std::move(got), int64_t(a2a.getConcatAxis().getSExtValue())));
    bind(a2a.getResult(), toRtValue(std::move(y)));
    return Error::success();
  }
  if (auto rs = llvm::dyn_cast<shard::ReduceScatterOp>(op)) {
    auto *t = std::get_if<Tensor>(&input);
    if (!t || rs.getReduction() != shard::ReductionKind::Sum)
      return createStringError("only a sum reduce_scatter of a float tensor "
                               "is supported");
    Tensor data = std::move(*t);
    if (Error e = comm_->allReduce(rank_, group, data, ReduceKind::Sum))
      return e;
    input = std::move(data);
    LLMC_TRY(pieces, splitAny(int64_t(rs.getScatterAxis().getSExtValue())));
    bind(rs.getResult(), toRtValue(std::move(pieces[me])));
    return Error::success();
  }
  auto slice = llvm::cast<shard::AllSliceOp>(op);
  LLMC_TRY(pieces, splitAny(int64_t(slice.getSliceAxis().getSExtValue())));
  bind(slice.getResult(), toRtValue(std::move(pieces[me])));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: expert parallelism
//===----------------------------------------------------------------------===//

Expected<std::pair<std::vector<int>, int64_t>>
Interpreter::axisGroup(llvm::StringRef gridName, int64_t axis) const {
  const Grid &grid = program_.grid;
  if (gridName != grid.name)
    return createStringError("grid @%s is not the module's grid",
                             gridName.str().c_str());
  if (axis < 0 || axis >= int64_t(grid.shape.size()))
    return createStringError("axis %lld is not an axis of grid @%s",
                             (long long)axis, grid.name.c_str());
  return std::make_pair(grid.group(rank_, {axis}),
                        grid.coordinates(rank_)[axis]);
}

Error Interpreter::execExpertDispatch(dist::ExpertDispatchOp op) {
  LLMC_TRY(x, getTensor(op.getInput()));
  LLMC_TRY(w, getTensor(op.getWeights()));
  LLMC_TRY(ids, getInts(op.getIndices()));
  LLMC_TRY(group, axisGroup(op.getGrid(), int64_t(op.getAxis())));
  const std::vector<int> &members = group.first;
  int64_t h = x->innerSize(), tokens = x->outerSize();
  int64_t k = w->innerSize();
  if (w->shape != ids->shape || w->outerSize() != tokens)
    return createStringError("expert_dispatch: routing %s / %s does not match "
                             "the input %s",
                             shapeString(w->shape).c_str(),
                             shapeString(ids->shape).c_str(),
                             shapeString(x->shape).c_str());
  llvm::ArrayRef<int64_t> owners = op.getOwners();

  // Per destination: rows [n, H + 1] (the token, then its routing weight)
  // and [n, 3] (expert id, flat token index, choice), in (token, choice)
  // order.
  std::vector<std::vector<float>> rows(members.size());
  std::vector<std::vector<int64_t>> meta(members.size());
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t c = 0; c < k; ++c) {
      int64_t e = ids->data[t * k + c];
      if (e < 0 || e >= int64_t(owners.size()))
        return createStringError("expert_dispatch: expert id %lld has no "
                                 "owner (%zu experts)",
                                 (long long)e, owners.size());
      int64_t dest = owners[e];
      if (dest >= int64_t(members.size()))
        return createStringError("expert_dispatch: owner %lld of expert %lld "
                                 "is outside the axis",
                                 (long long)dest, (long long)e);
      const float *row = x->data.data() + t * h;
      rows[dest].insert(rows[dest].end(), row, row + h);
      rows[dest].push_back(w->data[t * k + c]);
      meta[dest].insert(meta[dest].end(), {e, t, c});
    }
  std::vector<AnyTensor> rowPieces, metaPieces;
  for (size_t d = 0; d < members.size(); ++d) {
    int64_t n = int64_t(meta[d].size() / 3);
    rowPieces.push_back(Tensor({n, h + 1}, std::move(rows[d])));
    metaPieces.push_back(IntTensor({n, 3}, std::move(meta[d])));
  }
  LLMC_TRY(gotRows, comm_->allToAll(rank_, members, std::move(rowPieces)));
  LLMC_TRY(gotMeta, comm_->allToAll(rank_, members, std::move(metaPieces)));

  // Received rows in (source coordinate, token, choice) order.
  int64_t total = 0;
  for (const AnyTensor &m : gotMeta)
    total += shapeOf(m)[0];
  Tensor outTokens({1, total, h}), outWeights({1, total, 1});
  IntTensor outIds({1, total, 1}), route({total, 3});
  int64_t i = 0;
  for (size_t src = 0; src < members.size(); ++src) {
    const Tensor &r = std::get<Tensor>(gotRows[src]);
    const IntTensor &m = std::get<IntTensor>(gotMeta[src]);
    for (int64_t j = 0; j < m.dim(0); ++j, ++i) {
      std::copy_n(r.data.begin() + j * (h + 1), h,
                  outTokens.data.begin() + i * h);
      outWeights.data[i] = r.data[j * (h + 1) + h];
      outIds.data[i] = m.data[j * 3];
      route.data[i * 3] = int64_t(src);
      route.data[i * 3 + 1] = m.data[j * 3 + 1];
      route.data[i * 3 + 2] = m.data[j * 3 + 2];
    }
  }
  bind(op.getTokens(), std::move(outTokens));
  bind(op.getTokenWeights(), std::move(outWeights));
  bind(op.getTokenIndices(), std::move(outIds));
  bind(op.getRoute(), std::move(route));
  return Error::success();
}

Error Interpreter::execExpertCombine(dist::ExpertCombineOp op) {
  LLMC_TRY(y, getTensor(op.getExpertOutput()));
  LLMC_TRY(route, getInts(op.getRoute()));
  LLMC_TRY(like, getTensor(op.getLike()));
  LLMC_TRY(group, axisGroup(op.getGrid(), int64_t(op.getAxis())));
  const std::vector<int> &members = group.first;
  int64_t h = like->innerSize(), tokens = like->outerSize();
  int64_t n = route->rank() == 2 ? route->dim(0) : -1;
  if (n < 0 || route->dim(1) != 3 || y->innerSize() != h ||
      y->outerSize() != n)
    return createStringError("expert_combine: expert output %s and route %s "
                             "do not match",
                             shapeString(y->shape).c_str(),
                             shapeString(route->shape).c_str());

  // Send each row back to its source coordinate with (token, choice).
  std::vector<std::vector<float>> rows(members.size());
  std::vector<std::vector<int64_t>> meta(members.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t dest = route->data[i * 3];
    if (dest < 0 || dest >= int64_t(members.size()))
      return createStringError("expert_combine: route names coordinate %lld "
                               "of an axis of %zu",
                               (long long)dest, members.size());
    const float *row = y->data.data() + i * h;
    rows[dest].insert(rows[dest].end(), row, row + h);
    meta[dest].insert(meta[dest].end(),
                      {route->data[i * 3 + 1], route->data[i * 3 + 2]});
  }
  std::vector<AnyTensor> rowPieces, metaPieces;
  for (size_t d = 0; d < members.size(); ++d) {
    int64_t count = int64_t(meta[d].size() / 2);
    rowPieces.push_back(Tensor({count, h}, std::move(rows[d])));
    metaPieces.push_back(IntTensor({count, 2}, std::move(meta[d])));
  }
  LLMC_TRY(gotRows, comm_->allToAll(rank_, members, std::move(rowPieces)));
  LLMC_TRY(gotMeta, comm_->allToAll(rank_, members, std::move(metaPieces)));

  // Each token's result is the sum of its choices' rows in choice order,
  // as the unsharded experts op adds them.
  struct Part {
    int64_t token, choice;
    const float *row;
  };
  std::vector<Part> parts;
  for (size_t src = 0; src < members.size(); ++src) {
    const Tensor &r = std::get<Tensor>(gotRows[src]);
    const IntTensor &m = std::get<IntTensor>(gotMeta[src]);
    for (int64_t j = 0; j < m.dim(0); ++j) {
      int64_t t = m.data[j * 2];
      if (t < 0 || t >= tokens)
        return createStringError("expert_combine: token %lld is outside the "
                                 "%lld tokens of this rank",
                                 (long long)t, (long long)tokens);
      parts.push_back(Part{t, m.data[j * 2 + 1], r.data.data() + j * h});
    }
  }
  std::stable_sort(parts.begin(), parts.end(), [](const Part &a, const Part &b) {
    return a.token != b.token ? a.token < b.token : a.choice < b.choice;
  });
  Tensor out(like->shape);
  for (const Part &p : parts)
    for (int64_t i = 0; i < h; ++i)
      out.data[p.token * h + i] += p.row[i];
  bind(op.getResult(), std::move(out));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Interpreter: context parallelism
//===----------------------------------------------------------------------===//

Error Interpreter::execRingAttention(dist::RingAttentionOp op) {
  LLMC_TRY(q, getTensor(op.getQ()));
  LLMC_TRY(kIn, getTensor(op.getK()));
  LLMC_TRY(vIn, getTensor(op.getV()));
  LLMC_TRY(pos, getInts(op.getPositions()));
  AttentionConfig config = attentionConfig(op);
  if (Error e = checkAttentionOperands(*q, *kIn, *vIn, *pos, config))
    return e;
  // With an FP8 cache every key and value attention sees went through the
  // cache, so the blocks sent around the ring are the FP8 round trips too.
  Tensor kStorage, vStorage;
  const Tensor *k = &cachedForm(op.getCache(), *kIn, config.headDim, kStorage);
  const Tensor *v = &cachedForm(op.getCache(), *vIn, config.headDim, vStorage);
  LLMC_TRY(group, axisGroup(op.getGrid(), int64_t(op.getAxis())));
  const std::vector<int> &members = group.first;
  int64_t coord = group.second, size = int64_t(members.size());
  int64_t batch = q->dim(0), kvWidth = config.numKvHeads * config.headDim;

  int64_t seq = q->dim(1);
  auto blockKeys = [&](const Tensor &kb, const Tensor &vb,
                       const IntTensor &pb) {
    std::vector<std::vector<KeyValue>> keys(batch);
    int64_t len = pb.dim(1);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < len; ++t)
        keys[b].push_back(KeyValue{pb.data[b * len + t],
                                   kb.data.data() + (b * len + t) * kvWidth,
                                   vb.data.data() + (b * len + t) * kvWidth,
                                   config.headDim});
    return keys;
  };
  PartialAttention state(batch, seq, config.numHeads, config.headDim);

  LLMC_TRY(binding, cacheBinding(op.getCache(), op.getCacheSlot(),
                                 std::nullopt, "ring_attention"));

  if (sequenceSplit_) {
    // Prefill: this rank holds one block of queries, keys and values. Its
    // cache keeps its own block (the cache is sharded by sequence). The
    // key/value block travels around the ring: `steps` times each rank
    // passes the block it holds to the next coordinate and receives the
    // previous coordinate's, folding each into the online softmax.
    if (binding)
      if (Error e = storeKeysValues(*k, *v, *pos, config, *binding))
        return e;
    Tensor kBlock = *k, vBlock = *v;
    IntTensor pBlock = *pos;
    int next = members[(coord + 1) % size];
    int prev = members[(coord + size - 1) % size];
    int64_t steps = int64_t(op.getSteps());
    for (int64_t step = 0;; ++step) {
      state.accumulate(*q, *pos, blockKeys(kBlock, vBlock, pBlock), config);
      if (step == steps)
        break;
      for (AnyTensor block : {AnyTensor(kBlock), AnyTensor(vBlock),
                              AnyTensor(pBlock)})
        if (Error e = comm_->send(rank_, next, std::move(block)))
          return e;
      LLMC_TRY(kIn, comm_->recv(rank_, prev));
      LLMC_TRY(vIn, comm_->recv(rank_, prev));
      LLMC_TRY(pIn, comm_->recv(rank_, prev));
      kBlock = std::get<Tensor>(std::move(kIn));
      vBlock = std::get<Tensor>(std::move(vIn));
      pBlock = std::get<IntTensor>(std::move(pIn));
    }
    bind(op.getResult(), state.finalize());
    return Error::success();
  }

  if (!binding) {
    // Every rank holds the whole (short) input and no cache: plain attention.
    LLMC_TRY(y, attention(*q, *k, *v, *pos, config, nullptr));
    bind(op.getResult(), std::move(y));
    return Error::success();
  }

  // Decode: every rank holds the new tokens; the rank at coordinate
  // position % size stores each. Each rank attends over the positions it
  // holds and the partial results are merged across the axis.
  if (Error e = storeKeysValues(
          *k, *v, *pos, config, *binding,
          [coord, size](int64_t p) { return p % size == coord; }))
    return e;
  std::vector<std::vector<KeyValue>> local(batch);
  for (int64_t b = 0; b < batch; ++b)
    local[b] = cachedKeys(*binding, b);
  state.accumulate(*q, *pos, local, config);
  LLMC_TRY(partials, comm_->allGather(rank_, members, state.pack()));
  PartialAttention merged(batch, seq, config.numHeads, config.headDim);
  for (AnyTensor &packed : partials) {
    LLMC_TRY(part, PartialAttention::unpack( std::get<Tensor>(packed), batch, seq, config.numHeads, config.headDim));
    merged.merge(part);
  }
  bind(op.getResult(), merged.finalize());
  return Error::success();
}

} // namespace llmc::ref
