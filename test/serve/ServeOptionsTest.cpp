//===- ServeOptionsTest.cpp - the serve flags -----------------------------===//

#include "runtime/serve/ServeOptions.h"

#include <gtest/gtest.h>

using namespace llmc::serve;

namespace {

std::string error(std::vector<std::string> args) {
  Expected<ServeOptions> o = extractServeOptions(args);
  return o ? std::string() : o.status().message();
}

ModelFacts facts() {
  ModelFacts f;
  f.name = "m";
  f.vocabSize = 1000;
  f.blockSize = 16;
  f.numBlocks = 1000;
  f.maxModelLen = 4096;
  f.replicas = 2;
  f.maxTokensPerStep = 8192;
  f.maxSeqsPerStep = 128;
  return f;
}

} // namespace

TEST(ServeOptions, TakesItsFlagsAndLeavesTheRest) {
  std::vector<std::string> args = {"--weights=random", "--port", "9000",
                                   "--api-key=k", "--prompt=1",
                                   "--no-enable-prefix-caching",
                                   "--max-num-seqs=64",
                                   "--gpu-memory-utilization=0.5",
                                   "--max-model-len", "2048"};
  Expected<ServeOptions> o = extractServeOptions(args);
  ASSERT_TRUE(o) << o.status().message();
  EXPECT_EQ(args, (std::vector<std::string>{"--weights=random", "--prompt=1"}));
  EXPECT_EQ(o->port, 9000);
  EXPECT_EQ(o->apiKey, "k");
  EXPECT_FALSE(o->prefixCaching);
  EXPECT_EQ(*o->maxNumSeqs, 64);
  EXPECT_DOUBLE_EQ(o->gpuMemoryUtilization, 0.5);
  EXPECT_EQ(*o->maxModelLen, 2048);
  EXPECT_EQ(o->host, "127.0.0.1");
}

TEST(ServeOptions, RefusalsNameTheFlag) {
  EXPECT_NE(error({"--port=x"}).find("--port='x' is not an integer"),
            std::string::npos);
  EXPECT_NE(error({"--port=70000"}).find("[0, 65535]"), std::string::npos);
  EXPECT_NE(error({"--gpu-memory-utilization=1.5"}).find("(0, 1]"),
            std::string::npos);
  EXPECT_NE(error({"--max-num-seqs=0"}).find("at least 1"), std::string::npos);
  EXPECT_NE(error({"--api-key="}).find("--api-key is empty"),
            std::string::npos);
  EXPECT_NE(error({"--step-trace="}).find("--step-trace needs a file path"),
            std::string::npos);
  EXPECT_NE(error({"--host"}).find("--host needs a value"), std::string::npos);
  EXPECT_NE(error({"--no-enable-prefix-caching=1"}).find("takes no value"),
            std::string::npos);
  EXPECT_NE(serveUsage().find("--max-num-batched-tokens"), std::string::npos);
}

TEST(ServeOptions, EngineConfigRespectsTheModel) {
  ServeOptions o;
  Expected<EngineConfig> c = engineConfigFor(o, facts());
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->scheduler.maxModelLen, 4096);
  EXPECT_EQ(c->scheduler.maxNumSeqs, 128); // default 256 lowered
  EXPECT_EQ(c->scheduler.maxNumBatchedTokens, 2048);
  EXPECT_EQ(c->scheduler.decodeStepTokens, 512);
  EXPECT_EQ(c->scheduler.replicas, 2);
  EXPECT_TRUE(c->scheduler.prefixCaching);
  EXPECT_EQ(httpThreadsFor(o, *c), 128 * 2 + 512 + 16);

  o.maxNumSeqs = 256;
  c = engineConfigFor(o, facts());
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("--max-num-seqs is 256 but the binary "
                                      "runs at most 128"),
            std::string::npos);
  o = ServeOptions();
  o.maxModelLen = 5000;
  c = engineConfigFor(o, facts());
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("at most 4096"), std::string::npos);
  o = ServeOptions();
  o.maxNumBatchedTokens = 16;
  o.maxNumSeqs = 32;
  c = engineConfigFor(o, facts());
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("at least --max-num-seqs (32)"),
            std::string::npos);
  o = ServeOptions();
  o.maxNumBatchedTokens = 300;
  c = engineConfigFor(o, facts());
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->scheduler.decodeStepTokens, 300); // the default follows
  o.decodeStepTokens = 301;
  c = engineConfigFor(o, facts());
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("--decode-step-tokens is 301; it must "
                                      "be at most --max-num-batched-tokens "
                                      "(300)"),
            std::string::npos);
  o.decodeStepTokens = 0;
  c = engineConfigFor(o, facts());
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->scheduler.decodeStepTokens, 0);
  ModelFacts small = facts();
  small.numBlocks = 10;
  c = engineConfigFor(ServeOptions(), small);
  ASSERT_FALSE(c);
  EXPECT_NE(c.status().message().find("fewer than one sequence"),
            std::string::npos);
}
