//===- GemmTuningTest.cpp - the GEMM tuning table's file ------------------===//
//
// gemm::loadTuning / saveTuning (llm-model --gemm-tuning=FILE) on a machine
// without a GPU: a written table reads back, and every malformed or foreign
// table is refused with a message naming the file and the rule. (Choosing
// and timing algorithms needs a GPU: llmc-gpu-kernel-tests --only=linear.)
//
//===----------------------------------------------------------------------===//

#include "runtime/gemm/Gemm.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace llmc::rt;

namespace {

/// A file of this process: ctest runs each test as its own process, in
/// parallel, and two tests writing one path (the origin probe) read each
/// other's half-renamed files.
std::string tempPath(const char *name) {
  return testing::TempDir() + "/llmc-gemm-tuning-" +
         std::to_string(getpid()) + "-" + name + ".json";
}

void write(const std::string &path, const std::string &text) {
  std::ofstream(path) << text;
}

bool contains(const std::string &s, const std::string &piece) {
  return s.find(piece) != std::string::npos;
}

/// The origin this machine writes (device and cuBLASLt version).
std::string origin() {
  std::string path = tempPath("origin");
  EXPECT_EQ(gemm::saveTuning(path), "");
  nlohmann::json j = nlohmann::json::parse(std::ifstream(path));
  std::remove(path.c_str());
  return j.at("origin").get<std::string>();
}

} // namespace

TEST(GemmTuning, RoundTrip) {
  std::string path = tempPath("roundtrip");
  nlohmann::json j = {{"origin", origin()},
                      {"entries",
                       {{{"shape", "bf16>bf16 m64 n4096 k4096 test"},
                         {"rank", 5},
                         {"algo", 66},
                         {"tile", 13},
                         {"split_k", 1},
                         {"first_us", 46.1},
                         {"best_us", 43.1}}}}};
  write(path, j.dump());
  ASSERT_EQ(gemm::loadTuning(path), "");
  bool found = false;
  for (const gemm::TuningEntry &e : gemm::tuningEntries())
    if (e.shape == "bf16>bf16 m64 n4096 k4096 test") {
      found = true;
      EXPECT_EQ(e.rank, 5);
      EXPECT_EQ(e.algoId, 66);
      EXPECT_EQ(e.tileId, 13);
      EXPECT_EQ(e.splitK, 1);
    }
  EXPECT_TRUE(found);
  // Written back with the entry.
  ASSERT_EQ(gemm::saveTuning(path), "");
  nlohmann::json back = nlohmann::json::parse(std::ifstream(path));
  EXPECT_EQ(back.at("origin"), j.at("origin"));
  bool written = false;
  for (const auto &e : back.at("entries"))
    written |= e.at("shape") == "bf16>bf16 m64 n4096 k4096 test" &&
               e.at("rank") == 5;
  EXPECT_TRUE(written);
  std::remove(path.c_str());
}

TEST(GemmTuning, Refusals) {
  std::string path = tempPath("bad");
  EXPECT_TRUE(contains(gemm::saveTuning("/nonexistent-dir/t.json"),
                       "cannot write the GEMM tuning table "
                       "'/nonexistent-dir/t.json'"));
  EXPECT_TRUE(contains(gemm::loadTuning(path + ".missing"),
                       "cannot read the GEMM tuning table"));
  write(path, "{not json");
  EXPECT_TRUE(contains(gemm::loadTuning(path), "is not JSON"));
  write(path, R"({"entries": []})");
  EXPECT_TRUE(contains(gemm::loadTuning(path), "needs an \"origin\" string"));
  write(path, R"({"origin": "Some GPU, cuBLASLt 1", "entries": []})");
  std::string e = gemm::loadTuning(path);
  EXPECT_TRUE(contains(e, "was tuned on Some GPU, cuBLASLt 1, this is ")) << e;
  EXPECT_TRUE(contains(e, "tune again with --tune-gemms")) << e;
  nlohmann::json j = {{"origin", origin()},
                      {"entries", {{{"shape", "x"}, {"rank", 1}}}}};
  write(path, j.dump());
  e = gemm::loadTuning(path);
  EXPECT_TRUE(contains(e, "entry 0 needs shape, rank, algo, tile and split_k"))
      << e;
  j["entries"] = {{{"shape", "x"},
                   {"rank", 8},
                   {"algo", 1},
                   {"tile", 1},
                   {"split_k", 1}}};
  write(path, j.dump());
  e = gemm::loadTuning(path);
  EXPECT_TRUE(contains(e, "entry 0 has rank 8, outside [0, 8)")) << e;
  std::remove(path.c_str());
}
