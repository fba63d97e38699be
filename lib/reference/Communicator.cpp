//===- Communicator.cpp - collectives between rank threads ----------------===//
//
// One mutex and one condition variable guard everything: the executor runs
// tiny models, so simplicity and an easy deadlock check matter more than
// contention. Every state change notifies all waiters, which re-check their
// own condition, the failure flag and the deadlock condition.
//
//===----------------------------------------------------------------------===//

#include "llmc/Reference/Communicator.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;

namespace llmc::ref {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

std::string groupString(llvm::ArrayRef<int> group) {
  std::string s = "{";
  for (size_t i = 0; i < group.size(); ++i)
    s += (i ? ", " : "") + std::to_string(group[i]);
  return s + "}";
}

namespace {

int indexIn(llvm::ArrayRef<int> group, int rank) {
  auto it = llvm::find(group, rank);
  return it == group.end() ? -1 : int(it - group.begin());
}

float reduce(ReduceKind kind, float a, float b) {
  switch (kind) {
  case ReduceKind::Sum:
    return a + b;
  case ReduceKind::Max:
    return std::max(a, b);
  case ReduceKind::Min:
    return std::min(a, b);
  case ReduceKind::Product:
    return a * b;
  }
  return a;
}

} // namespace

//===----------------------------------------------------------------------===//
// Synchronisation
//===----------------------------------------------------------------------===//

InProcessCommunicator::InProcessCommunicator(int numRanks)
    : numRanks_(numRanks), finished_(size_t(numRanks), false) {}

Error InProcessCommunicator::failureError() const {
  return createStringError("stopped because rank %d failed: %s",
                           failure_->first, failure_->second.c_str());
}

bool InProcessCommunicator::isDeadlocked() const {
  size_t running = 0;
  for (bool f : finished_)
    running += !f;
  if (waiters_.size() < running)
    return false;
  for (const auto &[rank, waiter] : waiters_)
    if (waiter.ready())
      return false;
  return true;
}

Error InProcessCommunicator::waitUntil(std::unique_lock<std::mutex> &lock,
                                       int rank, std::string what,
                                       std::function<bool()> ready) {
  waiters_[rank] = Waiter{std::move(what), ready};
  // Others may be waiting for this rank to block before they can tell a
  // deadlock; let them re-check.
  changed_.notify_all();
  while (true) {
    if (ready()) {
      waiters_.erase(rank);
      return Error::success();
    }
    if (failure_) {
      waiters_.erase(rank);
      return failureError();
    }
    if (isDeadlocked()) {
      std::string msg = "deadlock: every running rank is waiting:";
      for (const auto &[r, w] : waiters_)
        msg += " rank " + std::to_string(r) + " in " + w.what + ";";
      for (int r = 0; r < numRanks_; ++r)
        if (finished_[r])
          msg += " rank " + std::to_string(r) + " has finished;";
      msg.pop_back();
      failure_ = {rank, msg};
      waiters_.erase(rank);
      changed_.notify_all();
      return createStringError("%s", msg.c_str());
    }
    changed_.wait(lock);
  }
}

void InProcessCommunicator::fail(int rank, const std::string &message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_)
    failure_ = {rank, message};
  changed_.notify_all();
}

void InProcessCommunicator::finish(int rank) {
  std::lock_guard<std::mutex> lock(mutex_);
  finished_[rank] = true;
  changed_.notify_all();
}

std::optional<std::pair<int, std::string>>
InProcessCommunicator::firstFailure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

Error InProcessCommunicator::checkRank(int rank, llvm::ArrayRef<int> group,
                                       llvm::StringRef kind) const {
  if (rank < 0 || rank >= numRanks_)
    return createStringError("%s: rank %d is not in [0, %d)",
                             kind.str().c_str(), rank, numRanks_);
  for (int r : group)
    if (r < 0 || r >= numRanks_)
      return createStringError("%s: group %s names rank %d of %d",
                               kind.str().c_str(), groupString(group).c_str(),
                               r, numRanks_);
  if (indexIn(group, rank) < 0)
    return createStringError("%s: rank %d is not a member of group %s",
                             kind.str().c_str(), rank,
                             groupString(group).c_str());
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

Expected<std::vector<std::vector<AnyTensor>>>
InProcessCommunicator::exchange(int rank, llvm::ArrayRef<int> group,
                                llvm::StringRef kind,
                                std::vector<AnyTensor> contribution) {
  if (Error e = checkRank(rank, group, kind))
    return std::move(e);
  std::vector<int> members(group.begin(), group.end());
  std::unique_lock<std::mutex> lock(mutex_);
  if (failure_)
    return failureError();
  uint64_t call = callCounts_[{rank, members}]++;
  auto key = std::make_pair(members, call);
  Exchange &ex = exchanges_[key];
  if (ex.contributions.empty()) {
    ex.kind = kind.str();
    ex.contributions.resize(members.size());
  } else if (ex.kind != kind) {
    std::string msg = "rank " + std::to_string(rank) + " calls " + kind.str() +
                      " while another member of group " +
                      groupString(group) + " calls " + ex.kind +
                      " (collective #" + std::to_string(call) + ")";
    failure_ = {rank, msg};
    changed_.notify_all();
    return createStringError("%s", msg.c_str());
  }
  ex.contributions[indexIn(group, rank)] = std::move(contribution);
  ++ex.contributed;
  changed_.notify_all();

  std::string what = kind.str() + " over ranks " + groupString(group);
  size_t size = members.size();
  if (Error e = waitUntil(lock, rank, what,
                          [this, key, size] {
                            auto it = exchanges_.find(key);
                            return it != exchanges_.end() &&
                                   it->second.contributed == size;
                          }))
    return std::move(e);

  Exchange &done = exchanges_[key];
  std::vector<std::vector<AnyTensor>> all;
  all.reserve(size);
  for (const auto &c : done.contributions)
    all.push_back(*c);
  if (++done.collected == size)
    exchanges_.erase(key);
  return all;
}

Error InProcessCommunicator::allReduce(int rank, llvm::ArrayRef<int> group,
                                       Tensor &data, ReduceKind kind) {
  Expected<std::vector<std::vector<AnyTensor>>> all =
      exchange(rank, group, "all_reduce", {AnyTensor(data)});
  if (!all)
    return all.takeError();
  Tensor result;
  for (size_t i = 0; i < all->size(); ++i) {
    const Tensor *t = std::get_if<Tensor>(&(*all)[i].front());
    if (!t)
      return createStringError("all_reduce: rank %d contributed an integer "
                               "tensor",
                               group[i]);
    if (i == 0) {
      result = *t;
      continue;
    }
    if (t->shape != result.shape)
      return createStringError(
          "all_reduce over ranks %s: rank %d has a %s tensor, rank %d a %s "
          "tensor",
          groupString(group).c_str(), group[0],
          shapeString(result.shape).c_str(), group[i],
          shapeString(t->shape).c_str());
    for (size_t j = 0; j < result.data.size(); ++j)
      result.data[j] = reduce(kind, result.data[j], t->data[j]);
  }
  data = std::move(result);
  return Error::success();
}

Expected<std::vector<AnyTensor>>
InProcessCommunicator::allGather(int rank, llvm::ArrayRef<int> group,
                                 AnyTensor data) {
  Expected<std::vector<std::vector<AnyTensor>>> all =
      exchange(rank, group, "all_gather", {std::move(data)});
  if (!all)
    return all.takeError();
  std::vector<AnyTensor> out;
  for (std::vector<AnyTensor> &c : *all)
    out.push_back(std::move(c.front()));
  return out;
}

Expected<std::vector<AnyTensor>>
InProcessCommunicator::allToAll(int rank, llvm::ArrayRef<int> group,
                                std::vector<AnyTensor> pieces) {
  if (pieces.size() != group.size())
    return createStringError("all_to_all: rank %d gives %zu pieces to a group "
                             "of %zu ranks",
                             rank, pieces.size(), group.size());
  Expected<std::vector<std::vector<AnyTensor>>> all =
      exchange(rank, group, "all_to_all", std::move(pieces));
  if (!all)
    return all.takeError();
  int me = indexIn(group, rank);
  std::vector<AnyTensor> out;
  for (std::vector<AnyTensor> &c : *all)
    out.push_back(std::move(c[me]));
  return out;
}

//===----------------------------------------------------------------------===//
// Point to point
//===----------------------------------------------------------------------===//

Error InProcessCommunicator::send(int rank, int to, AnyTensor data) {
  if (Error e = checkRank(rank, {rank, to}, "send"))
    return e;
  std::lock_guard<std::mutex> lock(mutex_);
  if (failure_)
    return failureError();
  mailboxes_[{rank, to}].push_back(std::move(data));
  changed_.notify_all();
  return Error::success();
}

Expected<AnyTensor> InProcessCommunicator::recv(int rank, int from) {
  if (Error e = checkRank(rank, {from, rank}, "recv"))
    return std::move(e);
  std::unique_lock<std::mutex> lock(mutex_);
  std::deque<AnyTensor> &box = mailboxes_[{from, rank}];
  if (Error e = waitUntil(lock, rank,
                          "recv from rank " + std::to_string(from),
                          [&box] { return !box.empty(); }))
    return std::move(e);
  AnyTensor data = std::move(box.front());
  box.pop_front();
  return data;
}

} // namespace llmc::ref
