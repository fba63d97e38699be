//===- InProcessCommunicator.h - ranks as threads of a process --*- C++ -*-===//
//
// `--emulate-ranks` runs every rank of a plan as a thread on ONE GPU, each
// with its own stream. A collective is a host-side rendezvous of the group's
// threads: each member records a marker on its stream and deposits a record
// of its buffers; member 0 makes its stream wait for every member's marker,
// enqueues the copies or the reduction over all members' buffers, and
// records a completion marker that every member's stream then waits for.
// Two rendezvous per call keep every record alive while member 0 reads it.
//
// Results do not depend on thread timing: reductions add members left to
// right in fp32 and every member gets the same bits. No call hangs: every
// wait has a deadline, and the first failure (an error, a timeout, a rank
// that calls fail()) wakes every waiting rank with a message naming the rank
// that failed.
//
// The synchronisation is plain C++; device work goes through DeviceOps, so
// the whole protocol is tested on the CPU with host memory.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_COMM_INPROCESSCOMMUNICATOR_H
#define LLMC_RUNTIME_COMM_INPROCESSCOMMUNICATOR_H

#include "runtime/comm/Communicator.h"
#include "runtime/comm/DeviceOps.h"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace llmc::rt {

/// Shared state of all rank threads of one emulated plan.
class InProcessWorld {
public:
  /// `timeoutSeconds` bounds every wait of every communicator.
  InProcessWorld(int worldSize, std::shared_ptr<DeviceOps> ops,
                 double timeoutSeconds);
  ~InProcessWorld();

  int worldSize() const { return worldSize_; }
  DeviceOps &ops() { return *ops_; }
  double timeoutSeconds() const { return timeoutSeconds_; }

  /// The communicator of `rank` over `members` (in member order; must hold
  /// `rank` once). Every member must create one with the same `name` and
  /// member list; `name` ("tp", "world") keeps groups with equal members
  /// apart and appears in messages.
  Expected<std::unique_ptr<Communicator>>
  communicator(int rank, const std::vector<int> &members,
               const std::string &name);

  /// Records that `rank` failed with `message` and wakes every waiting
  /// rank. The first failure wins; later ones are ignored.
  void fail(int rank, const std::string &message);
  /// The first failure: its rank and message.
  std::optional<std::pair<int, std::string>> failure() const;

  /// One rendezvous point: a group of threads that meet repeatedly, each
  /// meeting (generation) collecting one pointer from every member.
  struct Meeting;
  /// The meeting of `key` with `size` members (created on first use).
  Meeting &meeting(const std::string &key, int size);
  /// Deposits `value` as member `index` (world rank `rank`) of the
  /// meeting's current generation and waits until every member has; then
  /// `out` holds every member's value in member order. Fails on the first
  /// failure anywhere or after `timeoutSeconds` (which is then recorded as
  /// this rank's failure, naming the members that never arrived).
  Status arrive(Meeting &m, int index, int rank, const void *value,
                std::vector<const void *> &out, const std::string &what,
                double timeoutSeconds);
  /// A Status describing the recorded failure, as seen by `rank`.
  Status failureStatus(int rank) const;

private:
  Status failureStatusLocked(int rank) const;

  int worldSize_;
  std::shared_ptr<DeviceOps> ops_;
  double timeoutSeconds_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::unique_ptr<Meeting>> meetings_;
  std::optional<std::pair<int, std::string>> failure_;
};

/// The text of a member list, "{0, 2}".
std::string memberListString(const std::vector<int> &members);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_COMM_INPROCESSCOMMUNICATOR_H
