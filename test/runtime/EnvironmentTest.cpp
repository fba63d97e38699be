//===- EnvironmentTest.cpp - rank and world size from each launcher -------===//

#include "runtime/launch/Environment.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace llmc::rt;

namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(
      std::move(vars));
  return [shared](const char *name) -> const char * {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

LaunchInfo detect(std::map<std::string, std::string> vars) {
  Expected<LaunchInfo> info = detectLaunch(fakeEnv(std::move(vars)));
  EXPECT_TRUE(info.ok()) << info.status().message();
  return info.ok() ? *info : LaunchInfo{};
}

std::string refusal(std::map<std::string, std::string> vars) {
  Expected<LaunchInfo> info = detectLaunch(fakeEnv(std::move(vars)));
  EXPECT_FALSE(info.ok());
  return info.ok() ? "" : info.status().message();
}

} // namespace

TEST(Environment, SingleProcess) {
  LaunchInfo i = detect({});
  EXPECT_EQ(i.rank, 0);
  EXPECT_EQ(i.worldSize, 1);
  EXPECT_EQ(i.localRank, 0);
  EXPECT_EQ(i.launcher, "none");
}

TEST(Environment, EachLauncher) {
  LaunchInfo i = detect({{"LLMC_RANK", "3"}, {"LLMC_WORLD_SIZE", "4"},
                         {"LLMC_LOCAL_RANK", "3"}});
  EXPECT_EQ(i.launcher, "llm-launch");
  EXPECT_EQ(i.rank, 3);
  EXPECT_EQ(i.worldSize, 4);
  EXPECT_EQ(i.localRank, 3);

  i = detect({{"OMPI_COMM_WORLD_RANK", "9"}, {"OMPI_COMM_WORLD_SIZE", "16"},
              {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(i.launcher, "Open MPI");
  EXPECT_EQ(i.rank, 9);
  EXPECT_EQ(i.worldSize, 16);
  EXPECT_EQ(i.localRank, 1);

  i = detect({{"PMI_RANK", "5"}, {"PMI_SIZE", "8"}, {"MPI_LOCALRANKID", "5"}});
  EXPECT_EQ(i.launcher, "PMI");
  EXPECT_EQ(i.rank, 5);
  EXPECT_EQ(i.localRank, 5);

  i = detect({{"SLURM_PROCID", "12"}, {"SLURM_NTASKS", "16"},
              {"SLURM_LOCALID", "4"}});
  EXPECT_EQ(i.launcher, "Slurm");
  EXPECT_EQ(i.rank, 12);
  EXPECT_EQ(i.worldSize, 16);
  EXPECT_EQ(i.localRank, 4);
}

TEST(Environment, Precedence) {
  // srun with PMI sets both; llm-launch inside an allocation wins over all.
  LaunchInfo i = detect({{"PMI_RANK", "1"}, {"PMI_SIZE", "2"},
                         {"SLURM_PROCID", "7"}, {"SLURM_NTASKS", "8"}});
  EXPECT_EQ(i.launcher, "PMI");
  EXPECT_EQ(i.rank, 1);
  i = detect({{"LLMC_RANK", "0"}, {"LLMC_WORLD_SIZE", "2"},
              {"SLURM_PROCID", "7"}, {"SLURM_NTASKS", "8"},
              {"SLURM_LOCALID", "3"}});
  EXPECT_EQ(i.launcher, "llm-launch");
  EXPECT_EQ(i.worldSize, 2);
  EXPECT_EQ(i.localRank, 3); // no LLMC_LOCAL_RANK: the next variable
  // Without a local rank variable the local rank is the rank (one node).
  i = detect({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"}});
  EXPECT_EQ(i.localRank, 2);
}

TEST(Environment, Refusals) {
  EXPECT_NE(refusal({{"LLMC_RANK", "1"}}).find("LLMC_WORLD_SIZE is not"),
            std::string::npos);
  EXPECT_NE(refusal({{"SLURM_NTASKS", "4"}}).find("SLURM_PROCID"),
            std::string::npos);
  EXPECT_NE(refusal({{"LLMC_RANK", "x"}, {"LLMC_WORLD_SIZE", "2"}})
                .find("LLMC_RANK='x' is not a non-negative integer"),
            std::string::npos);
  EXPECT_NE(refusal({{"LLMC_RANK", "-1"}, {"LLMC_WORLD_SIZE", "2"}})
                .find("LLMC_RANK"),
            std::string::npos);
  EXPECT_NE(refusal({{"LLMC_RANK", "2"}, {"LLMC_WORLD_SIZE", "2"}})
                .find("is not below"),
            std::string::npos);
  EXPECT_NE(refusal({{"PMI_RANK", "0"}, {"PMI_SIZE", "0"}}).find(">= 1"),
            std::string::npos);
  EXPECT_NE(refusal({{"LLMC_LOCAL_RANK", "a"}}).find("LLMC_LOCAL_RANK"),
            std::string::npos);
  EXPECT_NE(refusal({{"LLMC_RANK", "99999999999"}, {"LLMC_WORLD_SIZE", "2"}})
                .find("LLMC_RANK"),
            std::string::npos);
}
