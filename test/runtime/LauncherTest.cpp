//===- LauncherTest.cpp - llm-launch with shell scripts as ranks ----------===//

#include "runtime/launch/Launcher.h"

#include "Subprocess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

using namespace llmc::rt;
using namespace llmc::rt::testing;

namespace {

const std::string kLaunch = LLMC_LAUNCH_PATH;

RunResult launch(int n, const std::string &script,
                 std::vector<std::pair<std::string, std::string>> env = {},
                 std::vector<std::string> unset = {}) {
  env.emplace_back("LLMC_LAUNCH_GRACE_S", "1");
  return runProgram({kLaunch, "-n", std::to_string(n), "--", "/bin/sh", "-c",
                     script},
                    env, 60, unset);
}

bool contains(const std::string &s, const std::string &piece) {
  return s.find(piece) != std::string::npos;
}

} // namespace

TEST(Launcher, ParsesArguments) {
  auto o = parseLaunchArgs({"-n", "4", "--", "bin", "--flag"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->numRanks, 4);
  EXPECT_EQ(o->command, (std::vector<std::string>{"bin", "--flag"}));
  o = parseLaunchArgs({"-n2", "bin"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->numRanks, 2);
  o = parseLaunchArgs({"--nproc=8", "bin", "-n", "3"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->numRanks, 8);
  EXPECT_EQ(o->command, (std::vector<std::string>{"bin", "-n", "3"}));
  EXPECT_FALSE(parseLaunchArgs({"bin"}).ok());
  EXPECT_FALSE(parseLaunchArgs({"-n", "0", "bin"}).ok());
  EXPECT_FALSE(parseLaunchArgs({"-n", "x", "bin"}).ok());
  EXPECT_FALSE(parseLaunchArgs({"-n", "2"}).ok());
  EXPECT_FALSE(parseLaunchArgs({"-q", "bin"}).ok());
}

TEST(Launcher, AllRanksSucceed) {
  RunResult r = launch(
      3,
      "echo rank=$LLMC_RANK world=$LLMC_WORLD_SIZE local=$LLMC_LOCAL_RANK "
      "lws=$LLMC_LOCAL_WORLD_SIZE nvls=$NCCL_NVLS_ENABLE foo=$FOO "
      "cvd=${CUDA_VISIBLE_DEVICES-unset} id=$LLMC_NCCL_ID_FILE",
      {{"FOO", "bar baz"}}, {"CUDA_VISIBLE_DEVICES", "NCCL_NVLS_ENABLE"});
  EXPECT_EQ(r.exitCode, 0) << r.output;
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(contains(r.output, "rank=" + std::to_string(i) +
                                       " world=3 local=" + std::to_string(i) +
                                       " lws=3 nvls=0 foo=bar baz cvd=unset "
                                       "id=/"))
        << r.output;
  // One fresh id path shared by all ranks.
  size_t first = r.output.find("id=");
  std::string id = r.output.substr(first, r.output.find('\n', first) - first);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 3);
  size_t at = 0, seen = 0;
  while ((at = r.output.find(id, at)) != std::string::npos) {
    ++seen;
    at += id.size();
  }
  EXPECT_EQ(seen, 3u) << r.output;
}

TEST(Launcher, EnvironmentPassesThroughUnchanged) {
  RunResult r = launch(1,
                       "echo nvls=$NCCL_NVLS_ENABLE cvd=$CUDA_VISIBLE_DEVICES",
                       {{"NCCL_NVLS_ENABLE", "0"},
                        {"CUDA_VISIBLE_DEVICES", "3,2"}});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_TRUE(contains(r.output, "nvls=0 cvd=3,2")) << r.output;
}

TEST(Launcher, OneFailureStopsTheOthers) {
  RunResult r = launch(3, "if [ $LLMC_RANK = 1 ]; then exit 3; fi; "
                          "sleep 30; echo survived");
  EXPECT_EQ(r.exitCode, 3) << r.output;
  EXPECT_TRUE(contains(r.output, "rank 1 (pid")) << r.output;
  EXPECT_TRUE(contains(r.output, "exited with status 3")) << r.output;
  EXPECT_TRUE(contains(r.output, "error: rank 1 of 3 failed")) << r.output;
  EXPECT_FALSE(contains(r.output, "survived")) << r.output;
  EXPECT_LT(r.seconds, 15);
}

TEST(Launcher, SignalDeathAndStubbornRanks) {
  // Rank 0 dies by SIGKILL once rank 1 ignores SIGTERM, so rank 1 needs the
  // SIGKILL after the grace period.
  char dir[] = "/tmp/llmc-launch-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  RunResult r = launch(2,
                       "if [ $LLMC_RANK = 1 ]; then trap '' TERM; "
                       "touch $TESTDIR/ready; sleep 30; fi; "
                       "while [ ! -e $TESTDIR/ready ]; do sleep 0.01; done; "
                       "kill -9 $$",
                       {{"TESTDIR", dir}});
  EXPECT_EQ(r.exitCode, 128 + 9) << r.output;
  EXPECT_TRUE(contains(r.output, "rank 0 (pid")) << r.output;
  EXPECT_TRUE(contains(r.output, "signal 9")) << r.output;
  EXPECT_TRUE(contains(r.output, "rank 1 did not stop within 1 s")) << r.output;
  EXPECT_LT(r.seconds, 15);
  std::remove((std::string(dir) + "/ready").c_str());
  ::rmdir(dir);
}

TEST(Launcher, MissingProgram) {
  RunResult r = runProgram({kLaunch, "-n", "2", "/nonexistent/llm-model"});
  EXPECT_EQ(r.exitCode, 127) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot run '/nonexistent/llm-model'"))
      << r.output;
  r = runProgram({kLaunch, "-n", "2"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_TRUE(contains(r.output, "no program to launch")) << r.output;
}

TEST(Launcher, ForwardsTermination) {
  // The launcher itself is terminated: every rank is stopped.
  RunResult r = runProgram(
      {"/bin/sh", "-c",
       kLaunch + " -n 2 /bin/sh -c 'sleep 30; echo survived' & pid=$!; "
                 "sleep 0.5; kill -TERM $pid; wait $pid; echo status=$?"},
      {{"LLMC_LAUNCH_GRACE_S", "1"}});
  EXPECT_TRUE(contains(r.output, "status=143")) << r.output;
  EXPECT_TRUE(contains(r.output, "stopping every rank")) << r.output;
  EXPECT_FALSE(contains(r.output, "survived")) << r.output;
  EXPECT_LT(r.seconds, 15);
}
