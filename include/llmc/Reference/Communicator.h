//===- Communicator.h - collectives between rank threads --------*- C++ -*-===//
//
// The reference executor runs every rank of a plan as a thread of one
// process; InProcessCommunicator is their NCCL. Collectives are matched by
// (group, call number): the n-th collective a rank issues on a group meets
// the n-th collective of every other member. Point-to-point messages are
// buffered FIFO queues per (source, destination) pair, so a send never
// blocks.
//
// Results never depend on thread timing: reductions add contributions in
// group order, left to right, and every member computes the same sum.
//
// No call hangs: when a rank fails (fail()), every waiting rank wakes up and
// returns an error naming it; when every rank still running is waiting and
// none can proceed (a mismatched program, or a peer that finished without
// joining), the communicator reports the deadlock instead of blocking.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_COMMUNICATOR_H
#define LLMC_REFERENCE_COMMUNICATOR_H

#include "llmc/Reference/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace llmc::ref {

/// Element-wise reductions of allReduce.
enum class ReduceKind { Sum, Max, Min, Product };

/// Collectives and point-to-point transfers between `numRanks` threads.
/// Every method is called by the rank `rank` for itself; `group` lists the
/// participating ranks in group order and must contain `rank`.
class InProcessCommunicator {
public:
  explicit InProcessCommunicator(int numRanks);

  int numRanks() const { return numRanks_; }

  /// Reduces `data` element-wise over `group`, in group order; every member
  /// gets the same result. Shapes must agree.
  llvm::Error allReduce(int rank, llvm::ArrayRef<int> group, Tensor &data,
                        ReduceKind kind = ReduceKind::Sum);

  /// Every member's tensor, in group order.
  llvm::Expected<std::vector<AnyTensor>>
  allGather(int rank, llvm::ArrayRef<int> group, AnyTensor data);

  /// Member i gives `pieces[j]` to member j and receives, in group order,
  /// the piece each member gave it: result[j] is member j's pieces[i].
  llvm::Expected<std::vector<AnyTensor>>
  allToAll(int rank, llvm::ArrayRef<int> group, std::vector<AnyTensor> pieces);

  /// Queues `data` for `to`; never blocks.
  llvm::Error send(int rank, int to, AnyTensor data);

  /// The oldest message `from` sent to `rank`, waiting for it if needed.
  llvm::Expected<AnyTensor> recv(int rank, int from);

  /// Records that `rank` failed with `message` and wakes every waiting rank,
  /// which then returns an error naming `rank`. The first failure wins.
  void fail(int rank, const std::string &message);

  /// Records that `rank` finished its program; a rank still waiting on it
  /// then gets a deadlock error instead of hanging.
  void finish(int rank);

  /// The first failure: its rank and message.
  std::optional<std::pair<int, std::string>> firstFailure() const;

private:
  /// One collective call in flight: what each member contributed.
  struct Exchange {
    std::string kind;
    std::vector<std::optional<std::vector<AnyTensor>>> contributions;
    size_t contributed = 0;
    size_t collected = 0;
  };
  /// What a blocked rank waits for.
  struct Waiter {
    std::string what;
    std::function<bool()> ready;
  };

  /// Deposits `contribution` as member `rank` of `group` in the next
  /// collective `kind` on that group, waits for every member and returns
  /// all contributions in group order.
  llvm::Expected<std::vector<std::vector<AnyTensor>>>
  exchange(int rank, llvm::ArrayRef<int> group, llvm::StringRef kind,
           std::vector<AnyTensor> contribution);

  /// Blocks until `ready()` holds, a rank fails or a deadlock is detected.
  /// Requires `lock` to hold mutex_.
  llvm::Error waitUntil(std::unique_lock<std::mutex> &lock, int rank,
                        std::string what, std::function<bool()> ready);
  /// True when every running rank waits and none of them can proceed.
  bool isDeadlocked() const;
  llvm::Error failureError() const;
  llvm::Error checkRank(int rank, llvm::ArrayRef<int> group,
                        llvm::StringRef kind) const;

  int numRanks_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::pair<std::vector<int>, uint64_t>, Exchange> exchanges_;
  /// Per (rank, group): how many collectives the rank issued on it.
  std::map<std::pair<int, std::vector<int>>, uint64_t> callCounts_;
  std::map<std::pair<int, int>, std::deque<AnyTensor>> mailboxes_;
  std::map<int, Waiter> waiters_;
  std::vector<bool> finished_;
  std::optional<std::pair<int, std::string>> failure_;
};

/// "{0, 2, 4}", for messages.
std::string groupString(llvm::ArrayRef<int> group);

} // namespace llmc::ref

#endif // LLMC_REFERENCE_COMMUNICATOR_H
