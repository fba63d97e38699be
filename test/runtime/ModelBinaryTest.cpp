//===- ModelBinaryTest.cpp - refusals of a binary linking the runtime -----===//
//
// Runs llmc-stub-model (the host runtime with a stub llmc_forward) the way
// users run llm-model, on a machine without a usable GPU: every refusal
// that needs no GPU must come first with a clear message and a non-zero
// exit, and a valid request must stop at "no CUDA device".
//
//===----------------------------------------------------------------------===//

#include "Subprocess.h"

#include <gtest/gtest.h>

using namespace llmc::rt::testing;

namespace {

const std::string kModel = LLMC_STUB_MODEL_PATH;
const std::string kInputs = LLMC_RUNTIME_TEST_INPUTS;

/// Runs the stub with no visible GPU and no launcher variables.
RunResult model(std::vector<std::string> args,
                std::vector<std::pair<std::string, std::string>> env = {}) {
  args.insert(args.begin(), kModel);
  env.emplace_back("CUDA_VISIBLE_DEVICES", "");
  return runProgram(args, env, 60,
                    {"LLMC_RANK", "LLMC_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
                     "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE",
                     "SLURM_PROCID", "SLURM_NTASKS", "NCCL_NVLS_ENABLE"});
}

std::string manifest(const char *name) {
  return "--manifest=" + kInputs + "/" + name;
}

bool contains(const std::string &s, const std::string &piece) {
  return s.find(piece) != std::string::npos;
}

} // namespace

TEST(ModelBinary, NoGpu) {
  RunResult r = model({manifest("stub-1.json"), "--weights=random",
                       "--prompt=1,2,3", "--max-new-tokens=4"});
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "llm-model: error: no CUDA device")) << r.output;
  // Emulating a sharded plan needs the GPU as well.
  r = model({manifest("stub-pp2-tp2.json"), "--weights=random", "--prompt=1",
             "--emulate-ranks"});
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no CUDA device")) << r.output;
}

TEST(ModelBinary, WorldSizeMustMatchThePlan) {
  RunResult r = model({manifest("stub-pp2-tp2.json"), "--weights=random",
                       "--prompt=1"},
                      {{"LLMC_RANK", "0"}, {"LLMC_WORLD_SIZE", "2"}});
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "the plan 'pp2,tp2' has 4 ranks but "
                                 "llm-launch started 2 processes; run it with "
                                 "llm-launch -n 4"))
      << r.output;
  r = model({manifest("stub-pp2-tp2.json"), "--weights=random", "--prompt=1"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "this is a single process")) << r.output;
  EXPECT_TRUE(contains(r.output, "--emulate-ranks")) << r.output;
  r = model({manifest("stub-1.json"), "--weights=random", "--prompt=1"},
            {{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "Slurm started 2 processes")) << r.output;
  r = model({manifest("stub-pp2-tp2.json"), "--weights=random", "--prompt=1",
             "--emulate-ranks"},
            {{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "4"}});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "--emulate-ranks runs all 4 ranks in one "
                                 "process, but Open MPI started 4 processes"))
      << r.output;
}

TEST(ModelBinary, BadRequests) {
  RunResult r = model({manifest("stub-1.json"), "--weights=random",
                       "--prompt=1,a"});
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "'a' in prompt 0")) << r.output;
  r = model({manifest("stub-1.json"), "--weights=random", "--prompt=1,64"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "token id 64 in prompt 0 is out of range"))
      << r.output;
  r = model({manifest("stub-1.json"), "--weights=random", "--prompt=1,2",
             "--max-new-tokens=100"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "maximum sequence length 64")) << r.output;
  r = model({manifest("stub-1.json"), "--weights=/nonexistent/ckpt",
             "--prompt=1"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "--weights=/nonexistent/ckpt")) << r.output;
  r = model({"--manifest=/nonexistent/manifest.json", "--weights=random",
             "--prompt=1"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "cannot open the manifest")) << r.output;
  // Default: manifest.json next to the executable (absent for the stub).
  r = model({"--weights=random", "--prompt=1"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "/manifest.json: cannot open")) << r.output;
  r = model({"--help"});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_TRUE(contains(r.output, "--emulate-ranks")) << r.output;
  EXPECT_TRUE(contains(r.output, "--prompt-len=P")) << r.output;
}

TEST(ModelBinary, BenchSizes) {
  // --bench without --prompt: the sizes are checked against the manifest,
  // then (a valid request) the run stops at the missing GPU.
  RunResult r = model({manifest("stub-1.json"), "--weights=random", "--bench",
                       "--batch=2", "--prompt-len=8", "--gen-len=4"});
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no CUDA device")) << r.output;
  r = model({manifest("stub-1.json"), "--weights=random", "--bench"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "a prompt of 128 tokens plus 16 new tokens "
                                 "exceeds the binary's maximum sequence "
                                 "length 64"))
      << r.output;
  r = model({manifest("stub-1.json"), "--weights=random", "--bench",
             "--batch=9", "--prompt-len=4"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_TRUE(contains(r.output, "exceeds the binary's maximum batch 8"))
      << r.output;
  r = model({manifest("stub-1.json"), "--weights=random", "--prompt=1",
             "--batch=2"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_TRUE(contains(r.output, "--batch sizes the synthetic prompts of a "
                                 "benchmark and needs --bench"))
      << r.output;
}
