//===- OptionsTest.cpp - llm-model's flags and request checks -------------===//

#include "runtime/model/Options.h"

#include "ExampleManifests.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

using namespace llmc::rt;

namespace {

Manifest example(const char *name) {
  return llmc::rt::testing::exampleManifest(name);
}

std::string optionError(std::vector<std::string> args) {
  Expected<ModelOptions> o = parseModelOptions(args);
  EXPECT_FALSE(o.ok());
  return o.ok() ? "" : o.status().message();
}

std::string requestError(const Manifest &m, std::vector<std::string> args) {
  Expected<ModelOptions> o = parseModelOptions(args);
  EXPECT_TRUE(o.ok()) << o.status().message();
  if (!o.ok())
    return "";
  Expected<RunShape> r = checkRequest(m, *o);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

bool contains(const std::string &s, const std::string &piece) {
  return s.find(piece) != std::string::npos;
}

} // namespace

TEST(Options, Parses) {
  Expected<ModelOptions> o = parseModelOptions(
      {"--weights=random:7", "--prompt", "1,2,3;4, 5 ,6", "--max-new-tokens=4",
       "--emulate-ranks", "--dump-logits=out.npy", "--bench",
       "--manifest=m.json"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_TRUE(o->weights->random);
  EXPECT_EQ(o->weights->seed, 7u);
  EXPECT_EQ(o->prompts,
            (std::vector<std::vector<int64_t>>{{1, 2, 3}, {4, 5, 6}}));
  EXPECT_EQ(o->maxNewTokens, 4);
  EXPECT_TRUE(o->emulateRanks);
  EXPECT_EQ(o->dumpLogits, "out.npy");
  EXPECT_TRUE(o->bench);
  EXPECT_EQ(o->manifest, "m.json");
  EXPECT_FALSE(o->tuneGemms);
  EXPECT_EQ(o->gemmTuning, "");

  o = parseModelOptions({"--weights=random", "--prompt=9", "--tune-gemms",
                         "--gemm-tuning", "h100.json"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_TRUE(o->tuneGemms);
  EXPECT_EQ(o->gemmTuning, "h100.json");

  o = parseModelOptions({"--weights", "/ckpt", "--prompt=9"});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->weights->random);
  EXPECT_EQ(o->weights->checkpoint, "/ckpt");
  EXPECT_EQ(o->maxNewTokens, 16);
  o = parseModelOptions({"--weights=random", "--prompt=9"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->weights->seed, 0u);
  o = parseModelOptions({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
}

TEST(Options, Refusals) {
  EXPECT_TRUE(contains(optionError({"--prompt=1"}), "--weights"));
  EXPECT_TRUE(contains(optionError({"--weights=random"}), "--prompt"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1,x"}),
                       "'x' in prompt 0 is not a non-negative token id"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1,,2"}),
                       "'' in prompt 0"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1;-2"}),
                       "'-2' in prompt 1"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1,2;3"}),
                       "prompts of a batch must have equal lengths"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--max-new-tokens=0"}),
                       "--max-new-tokens must be a positive integer"));
  EXPECT_TRUE(contains(optionError({"--weights=random:x", "--prompt=1"}),
                       "random:SEED"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--frobnicate"}),
                       "unknown option '--frobnicate'"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--bench=yes"}),
                       "takes no value"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--tune-gemms=1"}),
                       "--tune-gemms takes no value"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--gemm-tuning="}),
                       "--gemm-tuning needs a file name"));
  EXPECT_TRUE(contains(optionError({"--weights"}), "needs a value"));
  EXPECT_TRUE(contains(optionError({"stray"}), "unexpected argument"));
  EXPECT_TRUE(contains(
      optionError({"--weights=random", "--prompt=99999999999999999999"}),
      "not a non-negative token id"));
}

TEST(Options, Requests) {
  Manifest m = example("stub-pp2-tp2.json");
  Expected<ModelOptions> o =
      parseModelOptions({"--weights=random", "--prompt=1,2,3;4,5,6"});
  ASSERT_TRUE(o.ok());
  Expected<RunShape> r = checkRequest(m, *o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->batch, 2);
  EXPECT_EQ(r->promptLen, 3);
  EXPECT_EQ(r->localBatch, 2);

  EXPECT_TRUE(contains(requestError(m, {"--weights=random", "--prompt=1,64"}),
                       "token id 64 in prompt 0 is out of range: the "
                       "vocabulary has 64 tokens"));
  EXPECT_TRUE(contains(requestError(m, {"--weights=random", "--prompt=1,2",
                                        "--max-new-tokens=63"}),
                       "exceeds the binary's maximum sequence length 64"));
  EXPECT_TRUE(contains(
      requestError(m, {"--weights=random", "--prompt=1;2;3;4;5;6;7;8;9"}),
      "exceeds the binary's maximum batch 8"));

  Manifest e = example("stub-dp2-ep2.json");
  EXPECT_TRUE(contains(
      requestError(e, {"--weights=random", "--prompt=1;2;3"}),
      "cannot be split evenly over 4 batch replicas (axes dp, ep)"));
  o = parseModelOptions({"--weights=random", "--prompt=1;2;3;4"});
  r = checkRequest(e, *o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->localBatch, 1);

  Manifest micro = m;
  micro.plan.microbatches = 2;
  EXPECT_TRUE(contains(requestError(micro, {"--weights=random", "--prompt=1"}),
                       "cannot be split into 2 pipeline micro-batches"));
  Manifest small = m;
  small.limits.maxTokensPerStep = 4;
  EXPECT_TRUE(contains(
      requestError(small, {"--weights=random", "--prompt=1,2,3;4,5,6"}),
      "limits.max_tokens_per_step"));
  Manifest sp = m;
  sp.plan.axes = {"pp", "sp"};
  sp.plan.sequenceAxis = "sp";
  for (ManifestWeight &w : sp.weights)
    if (w.slice)
      w.slice->axis = "sp";
  EXPECT_TRUE(contains(requestError(sp, {"--weights=random", "--prompt=1"}),
                       "cannot be split over 2 sequence-parallel ranks"));
}

TEST(Options, ForceTokensAndGraphs) {
  Manifest m = example("stub-pp2-tp2.json");
  Expected<ModelOptions> o = parseModelOptions(
      {"--weights=random", "--prompt=1,2;3,4", "--max-new-tokens=3",
       "--force-tokens=5,6;7,8", "--no-cuda-graphs"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->forceTokens,
            (std::vector<std::vector<int64_t>>{{5, 6}, {7, 8}}));
  EXPECT_FALSE(o->cudaGraphs);
  EXPECT_TRUE(checkRequest(m, *o).ok());
  EXPECT_TRUE(parseModelOptions({"--weights=random", "--prompt=1"})->cudaGraphs);

  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--force-tokens=1,x"}),
                       "--force-tokens: 'x' in prompt 0"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--no-cuda-graphs=1"}),
                       "--no-cuda-graphs takes no value"));
  EXPECT_TRUE(contains(requestError(m, {"--weights=random", "--prompt=1;2",
                                        "--force-tokens=1"}),
                       "--force-tokens has 1 rows but there are 2 prompts"));
  EXPECT_TRUE(contains(requestError(m, {"--weights=random", "--prompt=1",
                                        "--max-new-tokens=4",
                                        "--force-tokens=1,2"}),
                       "--force-tokens rows have 2 ids but 4 new tokens "
                       "need 3"));
  EXPECT_TRUE(contains(requestError(m, {"--weights=random", "--prompt=1",
                                        "--max-new-tokens=2",
                                        "--force-tokens=64"}),
                       "token id 64 in --force-tokens row 0 is out of range"));
}

TEST(Options, BenchSizes) {
  Manifest m = example("stub-pp2-tp2.json");
  // --bench without --prompt: synthetic prompts of --batch x --prompt-len,
  // --gen-len new tokens.
  Expected<ModelOptions> o =
      parseModelOptions({"--weights=random", "--bench", "--batch=4",
                         "--prompt-len", "32", "--gen-len=8"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_TRUE(o->usesSyntheticPrompts());
  EXPECT_TRUE(o->prompts.empty());
  EXPECT_EQ(o->benchBatch, 4);
  EXPECT_EQ(o->benchPromptLen, 32);
  EXPECT_EQ(o->maxNewTokens, 8);
  Expected<RunShape> r = checkRequest(m, *o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->batch, 4);
  EXPECT_EQ(r->promptLen, 32);
  EXPECT_EQ(r->maxNewTokens, 8);
  EXPECT_EQ(r->localBatch, 4);

  // Defaults: one prompt of 128 ids, --max-new-tokens' 16 new tokens.
  o = parseModelOptions({"--weights=random", "--bench"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->benchBatch, kDefaultBenchBatch);
  EXPECT_EQ(o->benchPromptLen, kDefaultBenchPromptLen);
  EXPECT_EQ(kDefaultBenchBatch, 1);
  EXPECT_EQ(kDefaultBenchPromptLen, 128);
  EXPECT_EQ(o->maxNewTokens, 16);
  // The stub's max_seq is 64.
  EXPECT_TRUE(contains(requestError(m, {"--weights=random", "--bench"}),
                       "a prompt of 128 tokens plus 16 new tokens exceeds "
                       "the binary's maximum sequence length 64"));
  // Sizes are checked before any prompt is made.
  EXPECT_TRUE(contains(requestError(m, {"--weights=random", "--bench",
                                        "--batch=1000000000000",
                                        "--prompt-len=8"}),
                       "a batch of 1000000000000 prompts exceeds the "
                       "binary's maximum batch 8"));
  EXPECT_TRUE(contains(
      requestError(example("stub-dp2-ep2.json"),
                   {"--weights=random", "--bench", "--batch=2",
                    "--prompt-len=4"}),
      "cannot be split evenly over 4 batch replicas"));
  EXPECT_TRUE(contains(requestError(m, {"--weights=random", "--bench",
                                        "--batch=2", "--prompt-len=4",
                                        "--force-tokens=1"}),
                       "--force-tokens has 1 rows but there are 2 prompts"));

  // With --prompt, --bench times those prompts; --gen-len still applies.
  o = parseModelOptions(
      {"--weights=random", "--bench", "--prompt=1,2;3,4", "--gen-len=3"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_FALSE(o->usesSyntheticPrompts());
  EXPECT_EQ(o->benchBatch, 0);
  EXPECT_EQ(o->maxNewTokens, 3);
  r = checkRequest(m, *o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batch, 2);
  EXPECT_EQ(r->promptLen, 2);

  // Refusals.
  EXPECT_TRUE(contains(optionError({"--weights=random", "--bench",
                                    "--batch=0"}),
                       "--batch must be a positive integer, got '0'"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--bench",
                                    "--prompt-len=-3"}),
                       "--prompt-len must be a positive integer, got '-3'"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--bench",
                                    "--gen-len=x"}),
                       "--gen-len must be a positive integer, got 'x'"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--bench",
                                    "--batch"}),
                       "--batch needs a value"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--batch=2"}),
                       "--batch sizes the synthetic prompts of a benchmark "
                       "and needs --bench"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt-len=2"}),
                       "--prompt-len sizes the synthetic prompts of a "
                       "benchmark and needs --bench"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--gen-len=2"}),
                       "--gen-len sizes a benchmark and needs --bench; "
                       "without it, use --max-new-tokens"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--bench",
                                    "--prompt=1,2", "--prompt-len=2"}),
                       "--prompt-len sizes the synthetic prompts of --bench "
                       "and cannot be combined with --prompt"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--bench",
                                    "--prompt=1,2", "--batch=2"}),
                       "--batch sizes the synthetic prompts of --bench and "
                       "cannot be combined with --prompt"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--bench",
                                    "--gen-len=4", "--max-new-tokens=4"}),
                       "--gen-len and --max-new-tokens set the same thing"));
  EXPECT_TRUE(contains(optionError({"--weights=random"}),
                       "give the prompt as --prompt=IDS, --text or --chat (or "
                       "--bench"));
  EXPECT_TRUE(contains(modelUsage("llm-model"),
                       "--bench [--batch=B --prompt-len=P --gen-len=G]"));
}

TEST(Options, SyntheticPrompts) {
  std::vector<std::vector<int64_t>> p = syntheticPrompts(3, 50, 64);
  ASSERT_EQ(p.size(), 3u);
  std::vector<bool> seen(64);
  for (const std::vector<int64_t> &row : p) {
    ASSERT_EQ(row.size(), 50u);
    for (int64_t id : row) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, 64);
      seen[size_t(id)] = true;
    }
  }
  // Deterministic, different rows, spread over the vocabulary.
  EXPECT_EQ(p, syntheticPrompts(3, 50, 64));
  EXPECT_NE(p[0], p[1]);
  EXPECT_GT(std::count(seen.begin(), seen.end(), true), 40);
  // A prefix of a longer batch is the same run of ids.
  EXPECT_EQ(syntheticPrompts(1, 50, 64)[0], p[0]);
  EXPECT_EQ(syntheticPrompts(2, 3, 1),
            (std::vector<std::vector<int64_t>>{{0, 0, 0}, {0, 0, 0}}));
  // Real vocabularies: ids above 2^16 occur.
  std::vector<std::vector<int64_t>> big = syntheticPrompts(1, 64, 128256);
  EXPECT_TRUE(std::any_of(big[0].begin(), big[0].end(),
                          [](int64_t id) { return id >= 65536; }));
  EXPECT_TRUE(std::all_of(big[0].begin(), big[0].end(),
                          [](int64_t id) { return id < 128256; }));
}

TEST(Options, SequenceBlocks) {
  EXPECT_EQ(sequenceBlock(7, 3, 0), (std::pair<int64_t, int64_t>{0, 3}));
  EXPECT_EQ(sequenceBlock(7, 3, 1), (std::pair<int64_t, int64_t>{3, 2}));
  EXPECT_EQ(sequenceBlock(7, 3, 2), (std::pair<int64_t, int64_t>{5, 2}));
  EXPECT_EQ(sequenceBlock(4, 1, 0), (std::pair<int64_t, int64_t>{0, 4}));
}

TEST(Options, Serve) {
  Expected<ModelOptions> o = parseModelOptions(
      {"serve", "--weights=random:3", "--emulate-ranks", "--tokenizer", "tok"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_TRUE(o->serve);
  EXPECT_TRUE(o->emulateRanks);
  EXPECT_EQ(o->tokenizer, "tok");
  EXPECT_TRUE(o->prompts.empty()); // no --prompt needed
  // Generation flags are refused by name; `serve` counts only first.
  for (const char *flag : {"--prompt=1,2", "--max-new-tokens=3", "--bench",
                           "--dump-logits=x.npy", "--force-tokens=1",
                           "--text=hi", "--chat=[]", "--temperature=1",
                           "--seed=2"})
    EXPECT_TRUE(contains(optionError({"serve", "--weights=random", flag}),
                         std::string(flag).substr(0, std::string(flag).find(
                                                            '=')) +
                             " sets up one generation"))
        << flag;
  EXPECT_TRUE(contains(optionError({"--weights=random", "serve"}),
                       "unexpected argument 'serve'"));
  EXPECT_TRUE(contains(
      optionError({"--weights=random", "--prompt=1", "--tokenizer=t"}),
      "--tokenizer reads the text of --text, --chat and llm-model serve; "
      "--prompt takes token ids"));
  EXPECT_TRUE(contains(optionError({"serve"}), "--weights"));
}

// --text / --chat (issue 16): the prompt as text; the tokenizer is read
// and the prompt encoded by the binary (runtime/serve/TextGeneration.h).
TEST(Options, Text) {
  Expected<ModelOptions> o = parseModelOptions(
      {"--weights=random", "--text", "Hello there", "--temperature=0.7",
       "--seed=5", "--tokenizer=tok"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_TRUE(o->textMode());
  EXPECT_EQ(*o->text, "Hello there");
  EXPECT_FALSE(o->chat);
  EXPECT_DOUBLE_EQ(o->temperature, 0.7);
  EXPECT_EQ(o->seed, 5u);
  EXPECT_EQ(o->tokenizer, "tok");
  EXPECT_FALSE(o->haveMaxNewTokens);
  EXPECT_TRUE(o->prompts.empty());
  o = parseModelOptions({"--weights=random", "--chat=@m.json",
                         "--max-new-tokens=4", "--emulate-ranks"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(*o->chat, "@m.json");
  EXPECT_TRUE(o->haveMaxNewTokens);
  EXPECT_EQ(o->maxNewTokens, 4);

  EXPECT_TRUE(contains(optionError({"--weights=random", "--text=a",
                                    "--chat=[]"}),
                       "--text and --chat exclude each other"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--text=a",
                                    "--prompt=1"}),
                       "--prompt excludes --text and --chat"));
  for (const char *flag : {"--bench", "--force-tokens=1", "--dump-logits=x",
                           "--gen-len=2"})
    EXPECT_TRUE(contains(optionError({"--weights=random", "--text=a", flag}),
                         "works on token ids (--prompt); it cannot be "
                         "combined with --text or --chat"))
        << flag;
  EXPECT_TRUE(contains(optionError({"--weights=random", "--chat="}),
                       "--chat needs a JSON array of messages or @FILE"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--text=a",
                                    "--temperature=warm"}),
                       "--temperature must be a number in [0, 2], got "
                       "'warm'"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--text=a",
                                    "--seed=-1"}),
                       "--seed must be a non-negative integer, got '-1'"));
  EXPECT_TRUE(contains(optionError({"--weights=random", "--prompt=1",
                                    "--temperature=1"}),
                       "--temperature and --seed sample --text/--chat "
                       "generations; --prompt generation is greedy"));
  EXPECT_TRUE(contains(modelUsage("llm-model"),
                       "--text=TEXT|--chat=JSON|@FILE"));
}
