//===- NcclCommunicator.cpp - one process per GPU over NCCL ---------------===//

#include "runtime/comm/NcclCommunicator.h"

#include "runtime/comm/Bootstrap.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace llmc::rt {

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadlineAfter(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(seconds));
}

ncclDataType_t ncclType(DataType type) {
  switch (type) {
  case DataType::BF16:
    return ncclBfloat16;
  case DataType::F32:
    return ncclFloat32;
  case DataType::I32:
    return ncclInt32;
  case DataType::I64:
    return ncclInt64;
  case DataType::U8:
    return ncclUint8;
  }
  return ncclUint8;
}

/// Every communicator of this process: an error or timeout on one aborts
/// them all, since the peers are stuck on all of them alike.
struct Family {
  std::mutex mutex;
  std::vector<ncclComm_t> comms;
  bool aborted = false;

  void add(ncclComm_t c) {
    std::lock_guard<std::mutex> lock(mutex);
    comms.push_back(c);
  }
  void remove(ncclComm_t c) {
    std::lock_guard<std::mutex> lock(mutex);
    comms.erase(std::remove(comms.begin(), comms.end(), c), comms.end());
  }
  void abortAll() {
    std::lock_guard<std::mutex> lock(mutex);
    if (aborted)
      return;
    aborted = true;
    for (ncclComm_t c : comms)
      ncclCommAbort(c);
  }
  /// The first asynchronous error of any communicator.
  ncclResult_t asyncError(ncclComm_t &which) {
    std::lock_guard<std::mutex> lock(mutex);
    for (ncclComm_t c : comms) {
      ncclResult_t state = ncclSuccess;
      ncclResult_t r = ncclCommGetAsyncError(c, &state);
      if (r != ncclSuccess) {
        which = c;
        return r;
      }
      if (state != ncclSuccess && state != ncclInProgress) {
        which = c;
        return state;
      }
    }
    return ncclSuccess;
  }
};

std::string ncclText(ncclResult_t r, ncclComm_t comm) {
  std::string s = ncclGetErrorString(r);
  const char *last = comm ? ncclGetLastError(comm) : nullptr;
  if (last && *last)
    s += " (" + std::string(last) + ")";
  return s;
}

class NcclCommunicator final : public Communicator {
public:
  NcclCommunicator(ncclComm_t comm, std::shared_ptr<Family> family,
                   int worldRank, std::string name, double timeoutSeconds)
      : comm_(comm), family_(std::move(family)), worldRank_(worldRank),
        name_(std::move(name)), timeoutSeconds_(timeoutSeconds) {
    ncclCommCount(comm_, &size_);
    ncclCommUserRank(comm_, &member_);
    family_->add(comm_);
  }

  ~NcclCommunicator() override {
    if (flag_)
      cudaFree(flag_);
    family_->remove(comm_);
    if (family_->aborted)
      return;
    // Flush, then destroy; a peer that is gone turns this into an abort
    // rather than a hang.
    ncclResult_t r = ncclCommFinalize(comm_);
    if (r == ncclSuccess || r == ncclInProgress)
      r = waitReady(comm_, timeoutSeconds_);
    if (r == ncclSuccess)
      ncclCommDestroy(comm_);
    else
      ncclCommAbort(comm_);
  }

  int size() const override { return size_; }
  int member() const override { return member_; }
  int worldRank() const override { return worldRank_; }
  const std::string &name() const override { return name_; }
  ncclComm_t comm() const { return comm_; }
  const std::shared_ptr<Family> &family() const { return family_; }
  double timeoutSeconds() const { return timeoutSeconds_; }

  Status allReduceSum(const void *send, void *recv, size_t count,
                      DataType type, Stream stream) override {
    return check(ncclAllReduce(send, recv, count, ncclType(type), ncclSum,
                               comm_, stream),
                 "ncclAllReduce");
  }
  Status allGather(const void *send, void *recv, size_t count, DataType type,
                   Stream stream) override {
    return check(
        ncclAllGather(send, recv, count, ncclType(type), comm_, stream),
        "ncclAllGather");
  }
  Status broadcast(void *buf, size_t count, DataType type, int root,
                   Stream stream) override {
    return check(ncclBroadcast(buf, buf, count, ncclType(type), root, comm_,
                               stream),
                 "ncclBroadcast");
  }
  Status send(const void *buf, size_t count, DataType type, int peer,
              Stream stream) override {
    return check(ncclSend(buf, count, ncclType(type), peer, comm_, stream),
                 "ncclSend");
  }
  Status recv(void *buf, size_t count, DataType type, int peer,
              Stream stream) override {
    return check(ncclRecv(buf, count, ncclType(type), peer, comm_, stream),
                 "ncclRecv");
  }
  Status allToAllV(const void *send, const size_t *sendCounts,
                   const size_t *sendOffsets, void *recv,
                   const size_t *recvCounts, const size_t *recvOffsets,
                   DataType type, Stream stream) override {
    size_t es = dataTypeSize(type);
    // The part kept locally is a plain copy.
    if (sendCounts[member_] != recvCounts[member_])
      return fail("allToAllV keeps " + std::to_string(sendCounts[member_]) +
                  " elements but expects " +
                  std::to_string(recvCounts[member_]) + " from itself");
    if (size_t bytes = sendCounts[member_] * es)
      if (cudaError_t e = cudaMemcpyAsync(
              static_cast<char *>(recv) + recvOffsets[member_] * es,
              static_cast<const char *>(send) + sendOffsets[member_] * es,
              bytes, cudaMemcpyDeviceToDevice, stream))
        return fail(std::string("cudaMemcpyAsync: ") + cudaGetErrorString(e));
    ncclResult_t r = ncclGroupStart();
    for (int j = 0; j < size_ && r == ncclSuccess; ++j) {
      if (j == member_)
        continue;
      if (sendCounts[j])
        r = ncclSend(static_cast<const char *>(send) + sendOffsets[j] * es,
                     sendCounts[j], ncclType(type), j, comm_, stream);
      if (recvCounts[j] && (r == ncclSuccess || r == ncclInProgress))
        r = ncclRecv(static_cast<char *>(recv) + recvOffsets[j] * es,
                     recvCounts[j], ncclType(type), j, comm_, stream);
      if (r == ncclInProgress)
        r = ncclSuccess;
    }
    ncclResult_t end = ncclGroupEnd();
    if (r != ncclSuccess)
      return check(r, "ncclSend/ncclRecv (allToAllV)");
    return check(end, "ncclGroupEnd (allToAllV)");
  }

  Status barrier(Stream stream, double timeoutSeconds) override {
    if (!flag_)
      if (cudaError_t e = cudaMalloc(&flag_, sizeof(int32_t)))
        return fail(std::string("cudaMalloc: ") + cudaGetErrorString(e));
    if (Status s = allReduceSum(flag_, flag_, 1, DataType::I32, stream); !s)
      return s;
    return synchronize(stream, timeoutSeconds);
  }

  Status synchronize(Stream stream, double timeoutSeconds) override {
    auto deadline = deadlineAfter(timeoutSeconds);
    auto pause = std::chrono::microseconds(20);
    while (true) {
      cudaError_t e = cudaStreamQuery(stream);
      if (e == cudaSuccess)
        return Status::ok();
      if (e != cudaErrorNotReady)
        return fail(std::string("CUDA error while waiting on the stream: ") +
                    cudaGetErrorString(e));
      ncclComm_t which = nullptr;
      if (ncclResult_t r = family_->asyncError(which); r != ncclSuccess)
        return fail("NCCL error: " + ncclText(r, which) +
                    " (a peer rank may have failed)");
      if (Clock::now() > deadline)
        return fail("timed out after " + secondsText(timeoutSeconds) +
                    " s waiting for GPU work and communication over " + name_ +
                    " to finish (a peer rank may have failed or stopped; "
                    "LLMC_COMM_TIMEOUT_S sets the limit)");
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }

  void abort() override { family_->abortAll(); }

  /// Waits until a non-blocking call on `comm` has completed.
  static ncclResult_t waitReady(ncclComm_t comm, double timeoutSeconds) {
    auto deadline = deadlineAfter(timeoutSeconds);
    while (true) {
      ncclResult_t state = ncclInProgress;
      ncclResult_t r = ncclCommGetAsyncError(comm, &state);
      if (r != ncclSuccess)
        return r;
      if (state != ncclInProgress)
        return state;
      if (Clock::now() > deadline)
        return ncclInProgress;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

private:
  Status fail(const std::string &msg) {
    family_->abortAll();
    return Status::error("rank " + std::to_string(worldRank_) + ": " + name_ +
                         ": " + msg);
  }

  Status check(ncclResult_t r, const char *what) {
    if (r == ncclInProgress)
      r = waitReady(comm_, timeoutSeconds_);
    if (r == ncclSuccess)
      return Status::ok();
    if (r == ncclInProgress)
      return fail(std::string(what) + " did not complete its launch within " +
                  secondsText(timeoutSeconds_) + " s");
    return fail(std::string(what) + " failed: " + ncclText(r, comm_));
  }

  ncclComm_t comm_;
  std::shared_ptr<Family> family_;
  int worldRank_;
  std::string name_;
  double timeoutSeconds_;
  int size_ = 0, member_ = 0;
  int32_t *flag_ = nullptr;
};

ncclConfig_t nonBlockingConfig(const char *name) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  config.commName = name;
  return config;
}

} // namespace

Status ensureNvlsDisabled() {
  const char *v = std::getenv("NCCL_NVLS_ENABLE");
  if (!v) {
    ::setenv("NCCL_NVLS_ENABLE", "0", 0);
    return Status::ok();
  }
  if (std::strcmp(v, "0") != 0)
    return Status::error(std::string("NCCL_NVLS_ENABLE=") + v +
                         ": NVLink multicast must stay off (it can put shared "
                         "GPUs out of service); unset it or set it to 0");
  return Status::ok();
}

Expected<std::unique_ptr<Communicator>>
createNcclWorld(int rank, int worldSize, const EnvLookup &env,
                double timeoutSeconds) {
  using E = Expected<std::unique_ptr<Communicator>>;
  if (Status s = ensureNvlsDisabled(); !s)
    return E::fromError(Status::error("rank " + std::to_string(rank) + ": " +
                                      s.message()));
  std::string failure;
  Expected<IdBytes> id = shareId(
      env, rank, worldSize, sizeof(ncclUniqueId),
      [&]() {
        ncclUniqueId u;
        if (ncclResult_t r = ncclGetUniqueId(&u); r != ncclSuccess) {
          failure = ncclText(r, nullptr);
          return IdBytes();
        }
        const uint8_t *p = reinterpret_cast<const uint8_t *>(&u);
        return IdBytes(p, p + sizeof(u));
      },
      timeoutSeconds);
  if (!id)
    return E::fromError(Status::error(
        failure.empty() ? id.status().message()
                        : "rank " + std::to_string(rank) +
                              ": ncclGetUniqueId failed: " + failure));
  ncclUniqueId u;
  std::memcpy(&u, id->data(), sizeof(u));
  ncclConfig_t config = nonBlockingConfig("world");
  ncclComm_t comm = nullptr;
  ncclResult_t r = ncclCommInitRankConfig(&comm, worldSize, u, rank, &config);
  if (r == ncclSuccess || r == ncclInProgress) {
    // As for splits, the handle may appear only later.
    auto deadline = deadlineAfter(timeoutSeconds);
    while (!__atomic_load_n(&comm, __ATOMIC_ACQUIRE)) {
      if (Clock::now() > deadline) {
        r = ncclInProgress;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (comm)
      r = NcclCommunicator::waitReady(comm, timeoutSeconds);
  }
  if (r != ncclSuccess || !comm) {
    std::string why = r == ncclInProgress
                          ? "timed out after " +
                                secondsText(timeoutSeconds) +
                                " s (are all " + std::to_string(worldSize) +
                                " ranks running?)"
                          : ncclText(r, comm);
    if (comm)
      ncclCommAbort(comm);
    return E::fromError(Status::error("rank " + std::to_string(rank) +
                                      ": NCCL initialisation of a world of " +
                                      std::to_string(worldSize) +
                                      " failed: " + why));
  }
  return std::unique_ptr<Communicator>(std::make_unique<NcclCommunicator>(
      comm, std::make_shared<Family>(), rank, "world", timeoutSeconds));
}

Expected<std::unique_ptr<Communicator>>
splitNcclCommunicator(Communicator &parentBase, int color, int key,
                      const std::string &name) {
  using E = Expected<std::unique_ptr<Communicator>>;
  auto *parent = dynamic_cast<NcclCommunicator *>(&parentBase);
  if (!parent)
    return E::fromError(
        Status::error("splitNcclCommunicator needs an NCCL communicator"));
  ncclConfig_t config = nonBlockingConfig(name.c_str());
  double timeout = parent->timeoutSeconds();
  // Non-blocking: NCCL may publish the child's handle from its init thread
  // only when the split completes, so the handle is polled (atomically)
  // before its own state is.
  ncclComm_t comm = nullptr;
  ncclResult_t r = ncclCommSplit(parent->comm(), color, key, &comm, &config);
  if (r == ncclSuccess || r == ncclInProgress) {
    auto deadline = deadlineAfter(timeout);
    r = NcclCommunicator::waitReady(parent->comm(), timeout);
    while (r == ncclSuccess && !__atomic_load_n(&comm, __ATOMIC_ACQUIRE)) {
      if (Clock::now() > deadline) {
        r = ncclInProgress;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (r == ncclSuccess)
      r = NcclCommunicator::waitReady(__atomic_load_n(&comm, __ATOMIC_ACQUIRE),
                                      timeout);
  }
  comm = __atomic_load_n(&comm, __ATOMIC_ACQUIRE);
  if (r != ncclSuccess || !comm) {
    std::string why = r == ncclInProgress
                          ? "timed out after " + secondsText(timeout) + " s"
                          : ncclText(r, comm ? comm : parent->comm());
    if (comm)
      ncclCommAbort(comm);
    parent->abort();
    return E::fromError(Status::error(
        "rank " + std::to_string(parent->worldRank()) +
        ": ncclCommSplit for the " + name + " group failed: " + why));
  }
  return std::unique_ptr<Communicator>(std::make_unique<NcclCommunicator>(
      comm, parent->family(), parent->worldRank(), name,
      parent->timeoutSeconds()));
}

} // namespace llmc::rt
