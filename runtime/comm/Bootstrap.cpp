//===- Bootstrap.cpp - share rank 0's NCCL id with every process ----------===//

#include "runtime/comm/Bootstrap.h"
#include "runtime/comm/Communicator.h"

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace llmc::rt {

namespace {

/// Written before the id so a reader can tell an id file from anything else.
constexpr char kMagic[8] = {'L', 'L', 'M', 'C', 'I', 'D', '1', '\n'};

using Clock = std::chrono::steady_clock;

Clock::time_point deadlineAfter(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(seconds));
}

std::string rankPrefix(int rank) { return "rank " + std::to_string(rank) + ": "; }

std::string errnoText() { return std::strerror(errno); }

/// Writes all of `data`; false on error.
bool writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= size_t(n);
  }
  return true;
}

/// Reads exactly `size` bytes before `deadline`.
Status readAll(int fd, void *data, size_t size, Clock::time_point deadline,
               const std::string &what) {
  char *p = static_cast<char *>(data);
  while (size) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                       deadline - Clock::now())
                       .count());
    if (left <= 0)
      return Status::error("timed out reading " + what);
    pollfd pfd{fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      continue;
    ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return Status::error("connection closed while reading " + what);
    p += n;
    size -= size_t(n);
  }
  return Status::ok();
}

} // namespace

//===----------------------------------------------------------------------===//
// File
//===----------------------------------------------------------------------===//

Expected<IdBytes> shareIdThroughFile(const std::string &path, int rank,
                                     size_t size,
                                     const std::function<IdBytes()> &makeId,
                                     double timeoutSeconds) {
  using E = Expected<IdBytes>;
  if (rank == 0) {
    IdBytes id = makeId();
    if (id.size() != size)
      return E::fromError(Status::error(rankPrefix(rank) + "made an id of " +
                                        std::to_string(id.size()) +
                                        " bytes, expected " +
                                        std::to_string(size)));
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
      return E::fromError(Status::error(rankPrefix(rank) + "cannot create " +
                                        tmp + ": " + errnoText() +
                                        " (LLMC_NCCL_ID_FILE)"));
    bool ok = writeAll(fd, kMagic, sizeof(kMagic)) &&
              writeAll(fd, id.data(), id.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
      std::string why = errnoText();
      ::unlink(tmp.c_str());
      return E::fromError(Status::error(rankPrefix(rank) + "cannot write " +
                                        path + ": " + why +
                                        " (LLMC_NCCL_ID_FILE)"));
    }
    return id;
  }
  auto deadline = deadlineAfter(timeoutSeconds);
  while (true) {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::vector<char> data(sizeof(kMagic) + size);
      in.read(data.data(), std::streamsize(data.size()));
      if (in.gcount() == std::streamsize(data.size()) &&
          std::memcmp(data.data(), kMagic, sizeof(kMagic)) == 0)
        return IdBytes(data.begin() + sizeof(kMagic), data.end());
      return E::fromError(Status::error(
          rankPrefix(rank) + path +
          " is not an id file written by rank 0 (LLMC_NCCL_ID_FILE must "
          "name a fresh path for each run)"));
    }
    if (Clock::now() > deadline)
      return E::fromError(Status::error(
          rankPrefix(rank) + "timed out after " +
          secondsText(timeoutSeconds) + " s waiting for rank 0 to " +
          "write the NCCL id to " + path +
          " (is rank 0 running with the same LLMC_NCCL_ID_FILE?)"));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

//===----------------------------------------------------------------------===//
// TCP
//===----------------------------------------------------------------------===//

Expected<IdBytes> shareIdThroughTcp(const std::string &host, int port,
                                    int rank, int worldSize, size_t size,
                                    const std::function<IdBytes()> &makeId,
                                    double timeoutSeconds) {
  using E = Expected<IdBytes>;
  auto deadline = deadlineAfter(timeoutSeconds);
  std::string where = host + ":" + std::to_string(port);
  if (rank == 0) {
    IdBytes id = makeId();
    if (id.size() != size)
      return E::fromError(Status::error(rankPrefix(rank) + "made an id of " +
                                        std::to_string(id.size()) +
                                        " bytes, expected " +
                                        std::to_string(size)));
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool v6 = fd >= 0;
    if (!v6)
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return E::fromError(
          Status::error(rankPrefix(rank) + "socket: " + errnoText()));
    int one = 1, zero = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int bound;
    if (v6) {
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_addr = in6addr_any;
      addr.sin6_port = htons(uint16_t(port));
      bound = ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_ANY);
      addr.sin_port = htons(uint16_t(port));
      bound = ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    }
    if (bound != 0 || ::listen(fd, 128) != 0) {
      std::string why = errnoText();
      ::close(fd);
      return E::fromError(Status::error(
          rankPrefix(rank) + "cannot listen on port " + std::to_string(port) +
          ": " + why + " (LLMC_MASTER_PORT)"));
    }
    for (int served = 0; served < worldSize - 1;) {
      int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                         deadline - Clock::now())
                         .count());
      if (left <= 0) {
        ::close(fd);
        return E::fromError(Status::error(
            rankPrefix(rank) + "timed out after " +
            secondsText(timeoutSeconds) + " s: only " +
            std::to_string(served) + " of " + std::to_string(worldSize - 1) +
            " ranks connected to " + where + " for the NCCL id"));
      }
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, left) <= 0)
        continue;
      int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      bool ok = writeAll(c, kMagic, sizeof(kMagic)) &&
                writeAll(c, id.data(), id.size());
      ::close(c);
      served += ok;
    }
    ::close(fd);
    return id;
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string portText = std::to_string(port);
  while (true) {
    addrinfo *res = nullptr;
    int gai = ::getaddrinfo(host.c_str(), portText.c_str(), &hints, &res);
    if (gai == 0) {
      for (addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                          ai->ai_protocol);
        if (fd < 0)
          continue;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
          ::freeaddrinfo(res);
          std::vector<uint8_t> data(sizeof(kMagic) + size);
          Status s = readAll(fd, data.data(), data.size(), deadline,
                             "the NCCL id from " + where);
          ::close(fd);
          if (!s)
            return E::fromError(Status::error(rankPrefix(rank) + s.message()));
          if (std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0)
            return E::fromError(Status::error(
                rankPrefix(rank) + where +
                " did not answer with an llmc NCCL id (LLMC_MASTER_ADDR/PORT "
                "names another service?)"));
          return IdBytes(data.begin() + sizeof(kMagic), data.end());
        }
        ::close(fd);
      }
      ::freeaddrinfo(res);
    }
    if (Clock::now() > deadline)
      return E::fromError(Status::error(
          rankPrefix(rank) + "timed out after " +
          secondsText(timeoutSeconds) + " s connecting to rank 0 at " +
          where + " (LLMC_MASTER_ADDR/LLMC_MASTER_PORT)" +
          (gai ? std::string(": ") + ::gai_strerror(gai) : "")));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Expected<IdBytes> shareId(const EnvLookup &env, int rank, int worldSize,
                          size_t size, const std::function<IdBytes()> &makeId,
                          double timeoutSeconds) {
  using E = Expected<IdBytes>;
  if (worldSize == 1)
    return makeId();
  if (const char *path = env("LLMC_NCCL_ID_FILE"); path && *path)
    return shareIdThroughFile(path, rank, size, makeId, timeoutSeconds);
  const char *addr = env("LLMC_MASTER_ADDR");
  const char *port = env("LLMC_MASTER_PORT");
  if (addr && *addr && port && *port) {
    char *end = nullptr;
    long p = std::strtol(port, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535)
      return E::fromError(Status::error(rankPrefix(rank) +
                                        "LLMC_MASTER_PORT='" + port +
                                        "' is not a port number"));
    return shareIdThroughTcp(addr, int(p), rank, worldSize, size, makeId,
                             timeoutSeconds);
  }
  return E::fromError(Status::error(
      rankPrefix(rank) + "a world of " + std::to_string(worldSize) +
      " processes needs LLMC_NCCL_ID_FILE (set by llm-launch) or "
      "LLMC_MASTER_ADDR and LLMC_MASTER_PORT (rank 0's host and a free port) "
      "to share the NCCL id"));
}

} // namespace llmc::rt
