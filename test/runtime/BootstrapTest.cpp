//===- BootstrapTest.cpp - sharing rank 0's NCCL id -----------------------===//

#include "runtime/comm/Bootstrap.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace llmc::rt;

namespace {

IdBytes makeId() {
  IdBytes id(128);
  for (size_t i = 0; i < id.size(); ++i)
    id[i] = uint8_t(i * 7 + 3);
  return id;
}

std::string tempPath(const char *name) {
  char dir[] = "/tmp/llmc-bootstrap-XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  return std::string(dir) + "/" + name;
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

} // namespace

TEST(Bootstrap, ThroughAFile) {
  std::string path = tempPath("nccl-id");
  std::vector<IdBytes> got(4);
  std::vector<std::thread> ranks;
  // Readers start first: they must wait for rank 0.
  for (int r = 3; r >= 0; --r)
    ranks.emplace_back([&, r] {
      if (r == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto id = shareIdThroughFile(path, r, 128, makeId, 10);
      ASSERT_TRUE(id.ok()) << id.status().message();
      got[size_t(r)] = *id;
    });
  for (std::thread &t : ranks)
    t.join();
  for (const IdBytes &id : got)
    EXPECT_EQ(id, makeId());
}

TEST(Bootstrap, FileTimeoutNamesTheRank) {
  std::string path = tempPath("never-written");
  auto id = shareIdThroughFile(path, 2, 128, makeId, 0.2);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("rank 2: timed out"),
            std::string::npos)
      << id.status().message();
  EXPECT_NE(id.status().message().find(path), std::string::npos);
}

TEST(Bootstrap, FileThatIsNotAnId) {
  std::string path = tempPath("garbage");
  FILE *f = std::fopen(path.c_str(), "w");
  std::fputs("hello", f);
  std::fclose(f);
  auto id = shareIdThroughFile(path, 1, 128, makeId, 1);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("fresh path"), std::string::npos);
}

TEST(Bootstrap, ThroughTcp) {
  int port = freePort();
  std::vector<IdBytes> got(3);
  std::vector<std::thread> ranks;
  for (int r = 2; r >= 0; --r)
    ranks.emplace_back([&, r] {
      if (r == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto id = shareIdThroughTcp("127.0.0.1", port, r, 3, 128, makeId, 10);
      ASSERT_TRUE(id.ok()) << id.status().message();
      got[size_t(r)] = *id;
    });
  for (std::thread &t : ranks)
    t.join();
  for (const IdBytes &id : got)
    EXPECT_EQ(id, makeId());
}

TEST(Bootstrap, TcpTimeouts) {
  int port = freePort();
  auto id = shareIdThroughTcp("127.0.0.1", port, 1, 2, 128, makeId, 0.3);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("rank 1: timed out"),
            std::string::npos)
      << id.status().message();
  id = shareIdThroughTcp("127.0.0.1", port, 0, 3, 128, makeId, 0.3);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("only 0 of 2 ranks connected"),
            std::string::npos)
      << id.status().message();
}

TEST(Bootstrap, PicksTheTransport) {
  std::map<std::string, std::string> vars;
  EnvLookup env = [&](const char *name) -> const char * {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  auto id = shareId(env, 0, 1, 128, makeId, 1);
  ASSERT_TRUE(id.ok());
  id = shareId(env, 1, 2, 128, makeId, 1);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("LLMC_NCCL_ID_FILE"),
            std::string::npos);
  vars["LLMC_MASTER_ADDR"] = "127.0.0.1";
  vars["LLMC_MASTER_PORT"] = "99999";
  id = shareId(env, 1, 2, 128, makeId, 1);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("not a port number"),
            std::string::npos);
  vars["LLMC_NCCL_ID_FILE"] = tempPath("id");
  id = shareId(env, 0, 2, 128, makeId, 1);
  ASSERT_TRUE(id.ok()) << id.status().message();
  id = shareId(env, 1, 2, 128, makeId, 1);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, makeId());
}
