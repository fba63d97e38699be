//===- InProcessCommunicator.cpp - ranks as threads of one process --------===//
//
// One mutex and condition variable per world: an emulated plan has a handful
// of threads, so an easy-to-check protocol matters more than contention.
// Meeting slots are double-buffered by generation parity: a member can only
// reach generation g+2 after every member has arrived at g+1, i.e. after
// every member has copied what generation g collected.
//
//===----------------------------------------------------------------------===//

#include "runtime/comm/InProcessCommunicator.h"

#include "runtime/weights/DType.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace llmc::rt {

std::string memberListString(const std::vector<int> &members) {
  std::string s = "{";
  for (size_t i = 0; i < members.size(); ++i)
    s += (i ? ", " : "") + std::to_string(members[i]);
  return s + "}";
}

//===----------------------------------------------------------------------===//
// Rendezvous
//===----------------------------------------------------------------------===//

struct InProcessWorld::Meeting {
  std::string key;
  int size = 0;
  uint64_t generation = 0;
  int arrived = 0;
  /// Per parity: each member's value and whether it arrived.
  std::vector<const void *> slots[2];
  std::vector<bool> present[2];
  /// World rank of each member, for messages (filled on arrival).
  std::vector<int> ranks;
};

InProcessWorld::InProcessWorld(int worldSize, std::shared_ptr<DeviceOps> ops,
                               double timeoutSeconds)
    : worldSize_(worldSize), ops_(std::move(ops)),
      timeoutSeconds_(timeoutSeconds) {}

InProcessWorld::~InProcessWorld() = default;

InProcessWorld::Meeting &InProcessWorld::meeting(const std::string &key,
                                                 int size) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::unique_ptr<Meeting> &m = meetings_[key];
  if (!m) {
    m = std::make_unique<Meeting>();
    m->key = key;
    m->size = size;
    for (int p = 0; p < 2; ++p) {
      m->slots[p].assign(size_t(size), nullptr);
      m->present[p].assign(size_t(size), false);
    }
    m->ranks.assign(size_t(size), -1);
  }
  return *m;
}

void InProcessWorld::fail(int rank, const std::string &message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_)
    failure_ = {rank, message};
  changed_.notify_all();
}

std::optional<std::pair<int, std::string>> InProcessWorld::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

Status InProcessWorld::failureStatusLocked(int rank) const {
  if (failure_->first == rank)
    return Status::error(failure_->second);
  return Status::error("rank " + std::to_string(rank) +
                       " stopped because rank " +
                       std::to_string(failure_->first) +
                       " failed: " + failure_->second);
}

Status InProcessWorld::failureStatus(int rank) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_)
    return Status::ok();
  return failureStatusLocked(rank);
}

Status InProcessWorld::arrive(Meeting &m, int index, int rank,
                              const void *value,
                              std::vector<const void *> &out,
                              const std::string &what, double timeoutSeconds) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (failure_)
    return failureStatusLocked(rank);
  uint64_t gen = m.generation;
  int parity = int(gen & 1);
  m.slots[parity][size_t(index)] = value;
  m.present[parity][size_t(index)] = true;
  m.ranks[size_t(index)] = rank;
  if (++m.arrived == m.size) {
    m.arrived = 0;
    ++m.generation;
    // Nobody can arrive at the next generation before this point, so its
    // arrival flags are cleared before anyone sets them.
    std::fill(m.present[1 - parity].begin(), m.present[1 - parity].end(),
              false);
    changed_.notify_all();
  } else {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(timeoutSeconds));
    while (m.generation == gen && !failure_) {
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
          m.generation == gen && !failure_) {
        std::string missing;
        for (int i = 0; i < m.size; ++i)
          if (!m.present[parity][size_t(i)])
            missing += (missing.empty() ? "" : ", ") + std::string("member ") +
                       std::to_string(i) +
                       (m.ranks[size_t(i)] >= 0
                            ? " (rank " + std::to_string(m.ranks[size_t(i)]) +
                                  ")"
                            : "");
        std::string msg = "rank " + std::to_string(rank) + " timed out after " +
                          secondsText(timeoutSeconds) + " s in " +
                          what + "; never arrived: " + missing +
                          " (LLMC_COMM_TIMEOUT_S sets the limit)";
        failure_ = {rank, msg};
        changed_.notify_all();
        return Status::error(msg);
      }
    }
    if (m.generation == gen)
      return failureStatusLocked(rank);
  }
  out.assign(m.slots[parity].begin(), m.slots[parity].end());
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// The communicator
//===----------------------------------------------------------------------===//

namespace {

/// The markers of one meeting point. Each group and each point-to-point
/// channel has its own: a member re-records them only at its next call on
/// the same group or channel, which cannot pass the first rendezvous before
/// every other member has waited on the previous record.
struct Markers {
  DeviceOps::Marker ready = nullptr, done = nullptr;
};

/// What one member contributes to a collective.
struct OpRecord {
  const char *kind = "";
  DataType type = DataType::U8;
  size_t count = 0;
  int root = 0;
  const void *send = nullptr;
  void *recv = nullptr;
  const size_t *sendCounts = nullptr, *sendOffsets = nullptr;
  const size_t *recvCounts = nullptr, *recvOffsets = nullptr;
  DeviceOps::Marker ready = nullptr;
  int rank = 0;
};

Expected<Markers> createMarkers(DeviceOps &ops) {
  Expected<DeviceOps::Marker> ready = ops.createMarker();
  if (!ready)
    return Expected<Markers>::fromError(ready.status());
  Expected<DeviceOps::Marker> done = ops.createMarker();
  if (!done) {
    ops.destroyMarker(*ready);
    return Expected<Markers>::fromError(done.status());
  }
  return Markers{*ready, *done};
}

class InProcessCommunicator final : public Communicator {
public:
  InProcessCommunicator(InProcessWorld &world, int rank,
                        std::vector<int> members, int member, std::string name,
                        Markers markers)
      : world_(world), rank_(rank), members_(std::move(members)),
        member_(member), name_(std::move(name)), markers_(markers) {
    group_ = &world_.meeting(groupKey(), int(members_.size()));
  }
  ~InProcessCommunicator() override {
    destroy(markers_);
    for (auto &[key, m] : channels_)
      destroy(m);
  }

  int size() const override { return int(members_.size()); }
  int member() const override { return member_; }
  int worldRank() const override { return rank_; }
  const std::string &name() const override { return name_; }

  Status allReduceSum(const void *send, void *recv, size_t count,
                      DataType type, Stream stream) override {
    OpRecord rec;
    rec.kind = "allReduce";
    rec.type = type;
    rec.count = count;
    rec.send = send;
    rec.recv = recv;
    return collective(rec, stream, [&](const std::vector<const OpRecord *> &all) {
      std::vector<void *> dsts;
      std::vector<const void *> srcs;
      for (const OpRecord *r : all) {
        dsts.push_back(r->recv);
        srcs.push_back(r->send);
      }
      return world_.ops().sum(dsts.data(), srcs.data(), int(all.size()),
                              count, type, stream);
    });
  }

  Status allGather(const void *send, void *recv, size_t count, DataType type,
                   Stream stream) override {
    OpRecord rec;
    rec.kind = "allGather";
    rec.type = type;
    rec.count = count;
    rec.send = send;
    rec.recv = recv;
    size_t bytes = count * dataTypeSize(type);
    return collective(rec, stream, [&](const std::vector<const OpRecord *> &all) {
      for (const OpRecord *dst : all)
        for (size_t k = 0; k < all.size(); ++k) {
          char *to = static_cast<char *>(dst->recv) + k * bytes;
          if (to == all[k]->send || bytes == 0)
            continue;
          if (Status s = world_.ops().copy(to, all[k]->send, bytes, stream); !s)
            return s;
        }
      return Status::ok();
    });
  }

  Status broadcast(void *buf, size_t count, DataType type, int root,
                   Stream stream) override {
    if (root < 0 || root >= size())
      return error("broadcast root " + std::to_string(root) +
                   " is not a member");
    OpRecord rec;
    rec.kind = "broadcast";
    rec.type = type;
    rec.count = count;
    rec.root = root;
    rec.send = buf;
    rec.recv = buf;
    size_t bytes = count * dataTypeSize(type);
    return collective(rec, stream, [&](const std::vector<const OpRecord *> &all) {
      for (size_t k = 0; k < all.size(); ++k)
        if (int(k) != root && bytes)
          if (Status s = world_.ops().copy(all[k]->recv, all[size_t(root)]->send,
                                           bytes, stream);
              !s)
            return s;
      return Status::ok();
    });
  }

  Status send(const void *buf, size_t count, DataType type, int peer,
              Stream stream) override {
    return pointToPoint(/*sending=*/true, const_cast<void *>(buf), count, type,
                        peer, stream);
  }

  Status recv(void *buf, size_t count, DataType type, int peer,
              Stream stream) override {
    return pointToPoint(/*sending=*/false, buf, count, type, peer, stream);
  }

  Status allToAllV(const void *send, const size_t *sendCounts,
                   const size_t *sendOffsets, void *recv,
                   const size_t *recvCounts, const size_t *recvOffsets,
                   DataType type, Stream stream) override {
    OpRecord rec;
    rec.kind = "allToAllV";
    rec.type = type;
    rec.send = send;
    rec.recv = recv;
    rec.sendCounts = sendCounts;
    rec.sendOffsets = sendOffsets;
    rec.recvCounts = recvCounts;
    rec.recvOffsets = recvOffsets;
    size_t es = dataTypeSize(type);
    return collective(rec, stream, [&](const std::vector<const OpRecord *> &all) {
      size_t n = all.size();
      for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j)
          if (all[i]->sendCounts[j] != all[j]->recvCounts[i])
            return Status::error(
                "allToAllV over " + name_ + " " +
                memberListString(members_) + ": rank " +
                std::to_string(all[i]->rank) + " sends " +
                std::to_string(all[i]->sendCounts[j]) + " elements to rank " +
                std::to_string(all[j]->rank) + ", which expects " +
                std::to_string(all[j]->recvCounts[i]));
      for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j) {
          size_t bytes = all[i]->sendCounts[j] * es;
          if (!bytes)
            continue;
          const char *from =
              static_cast<const char *>(all[i]->send) + all[i]->sendOffsets[j] * es;
          char *to = static_cast<char *>(all[j]->recv) + all[j]->recvOffsets[i] * es;
          if (Status s = world_.ops().copy(to, from, bytes, stream); !s)
            return s;
        }
      return Status::ok();
    });
  }

  Status barrier(Stream stream, double timeoutSeconds) override {
    if (Status s = synchronize(stream, timeoutSeconds); !s)
      return s;
    // A collective with nothing to move, so that a member calling another
    // operation meanwhile is reported like any mismatch.
    OpRecord rec;
    rec.kind = "barrier";
    return run(*group_, markers_, member_, rec, stream, describe(),
               [](const std::vector<const OpRecord *> &) {
                 return Status::ok();
               },
               timeoutSeconds);
  }

  Status synchronize(Stream stream, double timeoutSeconds) override {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(timeoutSeconds));
    auto pause = std::chrono::microseconds(20);
    while (true) {
      if (Status s = world_.failureStatus(rank_); !s)
        return s;
      Expected<bool> done = world_.ops().query(stream);
      if (!done)
        return fail(done.status().message());
      if (*done)
        return Status::ok();
      if (std::chrono::steady_clock::now() > deadline)
        return fail("rank " + std::to_string(rank_) + " timed out after " +
                    secondsText(timeoutSeconds) +
                    " s waiting for its stream (" + name_ + ")");
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }

  void abort() override {
    world_.fail(rank_, "rank " + std::to_string(rank_) + " aborted");
  }

private:
  std::string groupKey() const {
    return name_ + " " + memberListString(members_);
  }
  std::string describe() const {
    return name_ + " ranks " + memberListString(members_);
  }
  Status error(const std::string &msg) {
    return fail("rank " + std::to_string(rank_) + ": " + name_ + ": " + msg);
  }
  /// Records `msg` as this rank's failure (waking the others).
  Status fail(const std::string &msg) {
    world_.fail(rank_, msg);
    return world_.failureStatus(rank_);
  }

  /// Runs one collective: both rendezvous, with member 0 checking that
  /// every member called the same operation and running `execute`.
  template <class Execute>
  Status collective(OpRecord &rec, Stream stream, Execute &&execute) {
    return run(*group_, markers_, member_, rec, stream, describe(), execute);
  }

  void destroy(Markers &m) {
    world_.ops().destroyMarker(m.ready);
    world_.ops().destroyMarker(m.done);
  }

  template <class Execute>
  Status run(InProcessWorld::Meeting &meeting, Markers &markers, int member,
             OpRecord &rec, Stream stream, const std::string &where,
             Execute &&execute, double timeoutSeconds = 0) {
    if (timeoutSeconds <= 0)
      timeoutSeconds = world_.timeoutSeconds();
    DeviceOps &ops = world_.ops();
    rec.rank = rank_;
    rec.ready = markers.ready;
    if (Status s = world_.failureStatus(rank_); !s)
      return s;
    if (Status s = ops.record(markers.ready, stream); !s)
      return fail("rank " + std::to_string(rank_) + ": " + s.message());
    std::vector<const void *> raw;
    std::string what = std::string(rec.kind) + " over " + where;
    if (Status s = world_.arrive(meeting, member, rank_, &rec, raw, what,
                                 timeoutSeconds);
        !s)
      return s;
    std::vector<const OpRecord *> all;
    for (const void *p : raw)
      all.push_back(static_cast<const OpRecord *>(p));
    const void *done = nullptr;
    if (member == 0) {
      Status result = check(all, where);
      for (size_t k = 1; result && k < all.size(); ++k)
        result = ops.wait(stream, all[k]->ready);
      if (result)
        result = execute(all);
      if (result)
        result = ops.record(markers.done, stream);
      if (!result)
        return fail(result.message().rfind("rank ", 0) == 0
                        ? result.message()
                        : "rank " + std::to_string(rank_) + ": " +
                              result.message());
      done = markers.done;
    }
    std::vector<const void *> second;
    if (Status s = world_.arrive(meeting, member, rank_, done, second,
                                 what + " (completion)", timeoutSeconds);
        !s)
      return s;
    if (member != 0)
      if (Status s = ops.wait(stream, const_cast<void *>(second[0])); !s)
        return fail("rank " + std::to_string(rank_) + ": " + s.message());
    return Status::ok();
  }

  /// Every member must call the same operation with matching sizes.
  Status check(const std::vector<const OpRecord *> &all,
               const std::string &where) const {
    const OpRecord &first = *all[0];
    for (size_t k = 1; k < all.size(); ++k) {
      const OpRecord &r = *all[k];
      std::string who = "rank " + std::to_string(r.rank) + " calls " + r.kind +
                        " while rank " + std::to_string(first.rank) +
                        " calls " + first.kind + " over " + where;
      if (std::strcmp(r.kind, first.kind) != 0)
        return Status::error(who);
      if (r.type != first.type)
        return Status::error(who + " (element types " +
                             dataTypeName(r.type) + " and " +
                             dataTypeName(first.type) + ")");
      if (std::strcmp(first.kind, "allToAllV") != 0 && r.count != first.count)
        return Status::error(who + " (counts " + std::to_string(r.count) +
                             " and " + std::to_string(first.count) + ")");
      if (r.root != first.root)
        return Status::error(who + " (roots " + std::to_string(r.root) +
                             " and " + std::to_string(first.root) + ")");
    }
    return Status::ok();
  }

  Status pointToPoint(bool sending, void *buf, size_t count, DataType type,
                      int peer, Stream stream) {
    const char *kind = sending ? "send" : "recv";
    if (peer < 0 || peer >= size() || peer == member_)
      return error(std::string(kind) + " to member " + std::to_string(peer) +
                   " of a group of " + std::to_string(size()));
    int from = sending ? member_ : peer, to = sending ? peer : member_;
    // One channel per direction, the sender is member 0 and does the copy.
    std::string key = "p2p " + name_ + " " + memberListString(members_) + " " +
                      std::to_string(from) + "->" + std::to_string(to);
    InProcessWorld::Meeting &channel = world_.meeting(key, 2);
    auto it = channels_.find(key);
    if (it == channels_.end()) {
      Expected<Markers> m = createMarkers(world_.ops());
      if (!m)
        return fail("rank " + std::to_string(rank_) + ": " +
                    m.status().message());
      it = channels_.emplace(key, *m).first;
    }
    OpRecord rec;
    rec.kind = "send/recv";
    rec.type = type;
    rec.count = count;
    rec.send = buf;
    rec.recv = buf;
    size_t bytes = count * dataTypeSize(type);
    std::string where = name_ + " rank " +
                        std::to_string(members_[size_t(from)]) + " -> rank " +
                        std::to_string(members_[size_t(to)]);
    return run(channel, it->second, sending ? 0 : 1, rec, stream, where,
               [&](const std::vector<const OpRecord *> &all) {
                 if (!bytes)
                   return Status::ok();
                 return world_.ops().copy(all[1]->recv, all[0]->send, bytes,
                                          stream);
               });
  }

  InProcessWorld &world_;
  int rank_;
  std::vector<int> members_;
  int member_;
  std::string name_;
  Markers markers_;
  std::map<std::string, Markers> channels_;
  InProcessWorld::Meeting *group_ = nullptr;
};

} // namespace

Expected<std::unique_ptr<Communicator>>
InProcessWorld::communicator(int rank, const std::vector<int> &members,
                             const std::string &name) {
  using E = Expected<std::unique_ptr<Communicator>>;
  int member = -1;
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i] < 0 || members[i] >= worldSize_)
      return E::fromError(Status::error(
          name + " group " + memberListString(members) + " names rank " +
          std::to_string(members[i]) + " of a world of " +
          std::to_string(worldSize_)));
    if (members[i] == rank) {
      if (member >= 0)
        return E::fromError(Status::error(name + " group " +
                                          memberListString(members) +
                                          " lists rank " +
                                          std::to_string(rank) + " twice"));
      member = int(i);
    }
  }
  if (member < 0)
    return E::fromError(Status::error("rank " + std::to_string(rank) +
                                      " is not a member of " + name +
                                      " group " + memberListString(members)));
  Expected<Markers> markers = createMarkers(*ops_);
  if (!markers)
    return E::fromError(markers.status());
  return std::unique_ptr<Communicator>(std::make_unique<InProcessCommunicator>(
      *this, rank, members, member, name, *markers));
}

//===----------------------------------------------------------------------===//
// Host memory DeviceOps
//===----------------------------------------------------------------------===//

namespace {

class HostDeviceOps final : public DeviceOps {
public:
  Expected<Marker> createMarker() override { return Marker(nullptr); }
  void destroyMarker(Marker) override {}
  Status record(Marker, Stream) override { return Status::ok(); }
  Status wait(Stream, Marker) override { return Status::ok(); }
  Status copy(void *dst, const void *src, size_t bytes, Stream) override {
    std::memmove(dst, src, bytes);
    return Status::ok();
  }
  Status sum(void *const *dsts, const void *const *srcs, int n, size_t count,
             DataType type, Stream) override {
    for (size_t i = 0; i < count; ++i) {
      switch (type) {
      case DataType::BF16: {
        float acc = 0.f;
        for (int j = 0; j < n; ++j)
          acc += bf16ToFloat(static_cast<const uint16_t *>(srcs[j])[i]);
        uint16_t v = floatToBf16(acc);
        for (int j = 0; j < n; ++j)
          static_cast<uint16_t *>(dsts[j])[i] = v;
        break;
      }
      case DataType::F32: {
        float acc = 0.f;
        for (int j = 0; j < n; ++j)
          acc += static_cast<const float *>(srcs[j])[i];
        for (int j = 0; j < n; ++j)
          static_cast<float *>(dsts[j])[i] = acc;
        break;
      }
      case DataType::I32: {
        int32_t acc = 0;
        for (int j = 0; j < n; ++j)
          acc += static_cast<const int32_t *>(srcs[j])[i];
        for (int j = 0; j < n; ++j)
          static_cast<int32_t *>(dsts[j])[i] = acc;
        break;
      }
      case DataType::I64: {
        int64_t acc = 0;
        for (int j = 0; j < n; ++j)
          acc += static_cast<const int64_t *>(srcs[j])[i];
        for (int j = 0; j < n; ++j)
          static_cast<int64_t *>(dsts[j])[i] = acc;
        break;
      }
      case DataType::U8: {
        uint8_t acc = 0;
        for (int j = 0; j < n; ++j)
          acc = uint8_t(acc + static_cast<const uint8_t *>(srcs[j])[i]);
        for (int j = 0; j < n; ++j)
          static_cast<uint8_t *>(dsts[j])[i] = acc;
        break;
      }
      }
    }
    return Status::ok();
  }
  Expected<bool> query(Stream) override { return true; }
};

} // namespace

std::shared_ptr<DeviceOps> makeHostDeviceOps() {
  return std::make_shared<HostDeviceOps>();
}

} // namespace llmc::rt
