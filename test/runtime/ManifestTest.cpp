//===- ManifestTest.cpp - manifest.json reader, validator, writer ---------===//

#include "runtime/model/Manifest.h"

#include "ExampleManifests.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

using namespace llmc::rt;
using json = nlohmann::json;
using llmc::rt::testing::readInput;

namespace {

json example() { return json::parse(readInput("stub-pp2-tp2.json")); }

/// Parses `j` and expects an error whose message contains every piece.
void expectError(const json &j, const std::vector<std::string> &pieces) {
  Expected<Manifest> m = parseManifest(j.dump(), "m.json");
  ASSERT_FALSE(m.ok()) << "accepted: " << j.dump();
  const std::string &msg = m.status().message();
  EXPECT_EQ(msg.rfind("m.json: ", 0), 0u) << msg;
  for (const std::string &p : pieces)
    EXPECT_NE(msg.find(p), std::string::npos)
        << "'" << p << "' not in: " << msg;
}

} // namespace

TEST(Manifest, ReadsTheExample) {
  Expected<Manifest> m = parseManifest(readInput("stub-pp2-tp2.json"));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->format, 2);
  EXPECT_EQ(m->model.architecture, "LlamaForCausalLM");
  EXPECT_EQ(m->model.vocabSize, 64);
  EXPECT_EQ(m->plan.spec, "pp2,tp2");
  EXPECT_EQ(m->plan.numRanks(), 4);
  EXPECT_EQ(m->plan.numStages(), 2);
  EXPECT_EQ(m->target.arch, "sm_90a");
  EXPECT_EQ(m->limits.maxSeq, 64);
  EXPECT_EQ(m->kvCache.slotsPerStage.size(), 2u);
  ASSERT_EQ(m->weights.size(), 5u);
  EXPECT_TRUE(m->weights[0].slice.has_value());
  EXPECT_FALSE(m->weights[3].slice.has_value());
  EXPECT_EQ(m->arenaBytes, uint64_t(1) << 20);
  EXPECT_EQ(manifestSchemaVersion(), "2");
  for (const char *name : {"stub-1.json", "stub-dp2-ep2.json"}) {
    Expected<Manifest> other = parseManifest(readInput(name), name);
    EXPECT_TRUE(other.ok()) << other.status().message();
  }
}

TEST(Manifest, GridArithmetic) {
  Expected<Manifest> m = parseManifest(readInput("stub-pp2-tp2.json"));
  ASSERT_TRUE(m.ok());
  const ManifestPlan &p = m->plan;
  EXPECT_EQ(p.coordinates(3), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(p.coordinates(2), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(p.rankAt({1, 0}), 2);
  EXPECT_EQ(p.axisGroup(2, 1), (std::vector<int>{2, 3})); // tp
  EXPECT_EQ(p.axisGroup(1, 0), (std::vector<int>{1, 3})); // pp
  EXPECT_EQ(p.stageOf(1), 0);
  EXPECT_EQ(p.stageOf(2), 1);
  EXPECT_EQ(p.coordinateString(3), "pp=1,tp=1");
  EXPECT_EQ(p.numReplicas(), 1);
  // Rank 3 (pp=1, tp=1): o_proj block 1, norm, lm_head block 1.
  EXPECT_FALSE(m->rankLoads(3, 0));
  EXPECT_TRUE(m->rankLoads(3, 2));
  EXPECT_TRUE(m->rankLoads(3, 4));
  std::optional<Slice> s = m->sliceFor(3, 4);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->dim, 0);
  EXPECT_EQ(s->offset, 32);
  EXPECT_EQ(s->size, 32);
  EXPECT_EQ(m->rankWeightBytes(3), uint64_t(8 * 4 + 8 + 32 * 8) * 2);
  EXPECT_EQ(m->slotsOf(3), (std::pair<int64_t, int64_t>{1, 2}));
  EXPECT_EQ(m->cacheBatch(), 8);
  // One slot of K and V: 8 seqs x 1 head x 64 positions x 4 dims, bf16.
  EXPECT_EQ(m->rankCacheBytes(3), uint64_t(2 * 8 * 1 * 64 * 4 * 2));
  // An FP8 cache: one byte per element and an fp32 scale per head vector.
  json fp8 = json::parse(readInput("stub-pp2-tp2.json"));
  fp8["kv_cache"]["dtype"] = "f8e4m3";
  Expected<Manifest> f = parseManifest(fp8.dump());
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_TRUE(f->kvCache.fp8());
  EXPECT_EQ(f->rankCacheBytes(3), uint64_t(2 * 8 * 1 * 64 * (4 + 4)));

  Expected<Manifest> e = parseManifest(readInput("stub-dp2-ep2.json"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->plan.numReplicas(), 4);
  EXPECT_EQ(e->plan.replicaOf(3), 3);
  EXPECT_EQ(e->cacheBatch(), 2);
  EXPECT_TRUE(e->rankLoads(1, 3));  // expert 1 on ep=1
  EXPECT_FALSE(e->rankLoads(1, 2)); // expert 0 on ep=0
}

TEST(Manifest, RoundTrips) {
  Expected<Manifest> m = parseManifest(readInput("stub-dp2-ep2.json"));
  ASSERT_TRUE(m.ok());
  Expected<std::string> text = writeManifest(*m);
  ASSERT_TRUE(text.ok()) << text.status().message();
  Expected<Manifest> again = parseManifest(*text);
  ASSERT_TRUE(again.ok()) << again.status().message();
  Expected<std::string> text2 = writeManifest(*again);
  ASSERT_TRUE(text2.ok());
  EXPECT_EQ(*text, *text2);
  EXPECT_EQ(json::parse(*text), json::parse(readInput("stub-dp2-ep2.json")));
}

TEST(Manifest, ArenaBytesPerSequenceIsOptional) {
  json j = example();
  Expected<Manifest> m = parseManifest(j.dump());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->arenaBytesPerSequence, 0u);
  j["arena_bytes_per_sequence"] = 4096;
  m = parseManifest(j.dump());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->arenaBytesPerSequence, 4096u);
  Expected<std::string> text = writeManifest(*m);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(json::parse(*text)["arena_bytes_per_sequence"], 4096);
}

TEST(Manifest, Fp8WeightsAndScales) {
  // q_proj as FP8 with a per-tensor scale, then per channel; bytes follow
  // the dtypes.
  json j = example();
  j["weights"][1]["dtype"] = "f8e4m3";
  j["weights"][1]["scale"] = "s";
  j["weights"].push_back({{"name", "s"}, {"dtype", "f32"}, {"shape", {1}},
                          {"full_shape", {1}}, {"slice", nullptr},
                          {"owner", nullptr}, {"stages", {0}},
                          {"role", "vector"}});
  Expected<Manifest> m = parseManifest(j.dump());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->weights[1].scale, "s");
  EXPECT_EQ(m->weightBytes(1), 4u * 8u);
  EXPECT_EQ(m->weightBytes(5), 4u);
  EXPECT_EQ(m->weightIndex("s"), 5);
  Expected<std::string> text = writeManifest(*m);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(json::parse(*text)["weights"][1]["scale"], "s");
  j["weights"][5]["shape"] = {4, 1};
  j["weights"][5]["full_shape"] = {8, 1};
  j["weights"][5]["slice"] = {{"dim", 0}, {"size", 4}, {"axis", "tp"},
                              {"offsets", {0, 4}}};
  EXPECT_TRUE(parseManifest(j.dump()).ok());
}

TEST(Manifest, WriterRefusesInvalid) {
  Expected<Manifest> m = parseManifest(readInput("stub-1.json"));
  ASSERT_TRUE(m.ok());
  Manifest bad = *m;
  bad.weights[0].shape = {1, 2};
  Expected<std::string> text = writeManifest(bad);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("weights[0].shape"),
            std::string::npos);
}

TEST(Manifest, NotJson) {
  for (const char *text : {"", "{", "[1,2", "{\"format\": 1,}", "nul"}) {
    Expected<Manifest> m = parseManifest(text, "m.json");
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_NE(m.status().message().find("not valid JSON"), std::string::npos)
        << m.status().message();
  }
  Expected<Manifest> m = parseManifest("[1]", "m.json");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("must be a JSON object"),
            std::string::npos);
  std::string deep(100000, '[');
  m = parseManifest(deep, "m.json");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("nested deeper"), std::string::npos);
  m = readManifestFile("/nonexistent/manifest.json");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("cannot open"), std::string::npos);
}

TEST(Manifest, EveryFieldIsChecked) {
  struct Case {
    std::function<void(json &)> mutate;
    std::vector<std::string> pieces;
  };
  std::vector<Case> cases = {
      {[](json &j) { j.erase("format"); }, {"format: missing"}},
      {[](json &j) { j["format"] = 1; }, {"format", "not supported"}},
      {[](json &j) { j["format"] = "1"; }, {"format", "must be an integer"}},
      {[](json &j) { j["format"] = 1.5; }, {"format", "floating-point"}},
      {[](json &j) { j.erase("model"); }, {"model: missing"}},
      {[](json &j) { j["model"] = 3; }, {"model", "must be an object"}},
      {[](json &j) { j["model"].erase("architecture"); },
       {"model.architecture: missing"}},
      {[](json &j) { j["model"]["architecture"] = ""; },
       {"model.architecture", "empty"}},
      {[](json &j) { j["model"]["vocab_size"] = 0; },
       {"model.vocab_size", ">= 1"}},
      {[](json &j) { j["model"]["vocab_size"] = -5; }, {"model.vocab_size"}},
      {[](json &j) { j["model"]["hidden_size"] = "8"; },
       {"model.hidden_size", "integer"}},
      {[](json &j) { j["model"]["num_layers"] = -1; }, {"model.num_layers"}},
      {[](json &j) { j["model"]["eos_token_ids"] = 2; },
       {"model.eos_token_ids", "array"}},
      {[](json &j) { j["model"]["eos_token_ids"] = {2, "x"}; },
       {"model.eos_token_ids[1]"}},
      {[](json &j) { j["model"]["eos_token_ids"] = {64}; },
       {"model.eos_token_ids[0]", "outside the vocabulary"}},
      {[](json &j) { j["model"]["max_position_embeddings"] = 0; },
       {"model.max_position_embeddings"}},
      {[](json &j) { j.erase("plan"); }, {"plan: missing"}},
      {[](json &j) { j["plan"]["spec"] = 1; }, {"plan.spec", "string"}},
      {[](json &j) { j["plan"]["axes"] = "pp"; }, {"plan.axes", "array"}},
      {[](json &j) { j["plan"]["axes"] = {"pp", 3}; }, {"plan.axes[1]"}},
      {[](json &j) { j["plan"]["axes"] = {"pp", "pp"}; },
       {"plan.axes[1]", "named twice"}},
      {[](json &j) { j["plan"]["axes"] = {"pp", ""}; }, {"plan.axes[1]"}},
      {[](json &j) { j["plan"]["shape"] = {2}; },
       {"plan.shape", "2 axes"}},
      {[](json &j) { j["plan"]["shape"] = {2, 0}; }, {"plan.shape[1]"}},
      {[](json &j) { j["plan"]["shape"] = {1 << 20, 2}; },
       {"plan.shape", "ranks"}},
      {[](json &j) { j["plan"]["microbatches"] = 0; },
       {"plan.microbatches"}},
      {[](json &j) { j["plan"]["batch_axes"] = {"dp"}; },
       {"plan.batch_axes[0]", "'dp' is not an axis"}},
      {[](json &j) { j["plan"]["batch_axes"] = {"pp"}; },
       {"plan.batch_axes[0]", "pipeline"}},
      {[](json &j) { j["plan"]["batch_axes"] = {"tp", "tp"}; },
       {"plan.batch_axes[1]", "twice"}},
      {[](json &j) { j["plan"].erase("sequence_axis"); },
       {"plan.sequence_axis: missing"}},
      {[](json &j) { j["plan"]["sequence_axis"] = "sp"; },
       {"plan.sequence_axis", "'sp' is not an axis"}},
      {[](json &j) { j["plan"]["sequence_axis"] = 0; },
       {"plan.sequence_axis", "string"}},
      {[](json &j) { j["target"].erase("arch"); }, {"target.arch: missing"}},
      {[](json &j) { j["target"]["name"] = ""; }, {"target.name"}},
      {[](json &j) { j["limits"]["max_batch"] = 0; }, {"limits.max_batch"}},
      {[](json &j) { j["limits"]["max_seq"] = 129; },
       {"limits.max_seq", "max_position_embeddings"}},
      {[](json &j) { j["limits"].erase("max_tokens_per_step"); },
       {"limits.max_tokens_per_step: missing"}},
      {[](json &j) { j["kv_cache"]["num_slots"] = -1; },
       {"kv_cache.num_slots"}},
      {[](json &j) { j["kv_cache"]["kv_heads"] = 0; }, {"kv_cache.kv_heads"}},
      {[](json &j) { j["kv_cache"]["head_dim"] = 0; }, {"kv_cache.head_dim"}},
      {[](json &j) { j["kv_cache"]["dtype"] = "fp8"; },
       {"kv_cache.dtype", "not supported"}},
      {[](json &j) { j["kv_cache"]["slots_per_stage"] = {{0, 2}}; },
       {"kv_cache.slots_per_stage", "2 pipeline stages"}},
      {[](json &j) { j["kv_cache"]["slots_per_stage"][1] = {1, 3}; },
       {"kv_cache.slots_per_stage[1]", "[1, 3)"}},
      {[](json &j) { j["kv_cache"]["slots_per_stage"][1] = {2, 1}; },
       {"kv_cache.slots_per_stage[1]"}},
      {[](json &j) { j["kv_cache"]["slots_per_stage"][0] = {0}; },
       {"kv_cache.slots_per_stage[0]", "[first, end)"}},
      {[](json &j) { j["kv_cache"]["max_batch"] = 1; j["kv_cache"]["kv_heads"] = int64_t(1) << 40; j["limits"]["max_seq"] = 128; j["kv_cache"]["head_dim"] = int64_t(1) << 30; },
       {"kv_cache", "overflows"}},
      {[](json &j) { j["weights"] = json::object(); },
       {"weights", "must be an array"}},
      {[](json &j) { j["weights"][1] = 5; }, {"weights[1]", "object"}},
      {[](json &j) { j["weights"][1].erase("name"); },
       {"weights[1].name: missing"}},
      {[](json &j) { j["weights"][1]["name"] = j["weights"][0]["name"]; },
       {"weights[1].name", "listed twice"}},
      {[](json &j) { j["weights"][1]["dtype"] = "f16"; },
       {"weights[1].dtype", "not supported"}},
      // FP8: an f8e4m3 matrix names an f32 scale of one element or [rows, 1].
      {[](json &j) { j["weights"][1]["dtype"] = "f8e4m3"; },
       {"weights[1].scale", "not a weight of the manifest"}},
      {[](json &j) { j["weights"][1]["dtype"] = "f8e4m3"; j["weights"][1]["scale"] = "model.norm.weight"; },
       {"weights[1].scale", "must be f32 of one element or [4, 1]"}},
      {[](json &j) { j["weights"][3]["dtype"] = "f8e4m3"; },
       {"weights[3].shape", "must be a matrix"}},
      {[](json &j) { j["weights"][1]["scale"] = "model.norm.weight"; },
       {"weights[1].scale", "only f8e4m3 weights have a scale"}},
      {[](json &j) { j["weights"][3]["shape"] = {8, 1}; },
       {"weights[3].full_shape", "different ranks"}},
      {[](json &j) { j["weights"][3]["shape"] = {-8}; },
       {"weights[3].shape[0]"}},
      {[](json &j) { j["weights"][3]["shape"] = {4}; },
       {"weights[3].shape", "no slice"}},
      {[](json &j) { j["weights"][3]["full_shape"] = {int64_t(1) << 62}; j["weights"][3]["shape"] = {int64_t(1) << 62}; },
       {"weights[3].full_shape", "too many elements"}},
      {[](json &j) { j["weights"][0]["slice"] = 1; },
       {"weights[0].slice", "object"}},
      {[](json &j) { j["weights"][0]["slice"]["dim"] = 2; },
       {"weights[0].slice.dim", "not a dim"}},
      {[](json &j) { j["weights"][0]["slice"]["dim"] = 99; },
       {"weights[0].slice.dim"}},
      {[](json &j) { j["weights"][0]["slice"]["axis"] = "ep"; },
       {"weights[0].slice.axis", "'ep' is not an axis"}},
      {[](json &j) { j["weights"][0]["slice"]["size"] = 16; },
       {"weights[0].slice.size", "differs from shape[0]"}},
      {[](json &j) { j["weights"][0]["slice"]["offsets"] = {0}; },
       {"weights[0].slice.offsets", "degree 2"}},
      {[](json &j) { j["weights"][0]["slice"]["offsets"] = {0, 40}; },
       {"weights[0].slice.offsets[1]", "outside dim 0"}},
      {[](json &j) { j["weights"][0]["slice"]["offsets"] = {0, -1}; },
       {"weights[0].slice.offsets[1]"}},
      {[](json &j) { j["weights"][0]["shape"] = {32, 4}; j["weights"][0]["full_shape"] = {64, 8}; },
       {"weights[0].shape", "outside the sliced dim"}},
      {[](json &j) { j["weights"][0].erase("slice"); },
       {"weights[0].slice: missing"}},
      {[](json &j) { j["weights"][0]["owner"] = {{"axis", "tp"}}; },
       {"weights[0].owner.coord: missing"}},
      {[](json &j) { j["weights"][0]["owner"] = {{"axis", "ep"}, {"coord", 0}}; },
       {"weights[0].owner.axis", "'ep'"}},
      {[](json &j) { j["weights"][0]["owner"] = {{"axis", "tp"}, {"coord", 2}}; },
       {"weights[0].owner.coord", "degree 2"}},
      {[](json &j) { j["weights"][0]["stages"] = json::array(); },
       {"weights[0].stages", "at least one"}},
      {[](json &j) { j["weights"][0]["stages"] = {2}; },
       {"weights[0].stages[0]", "does not exist"}},
      {[](json &j) { j["weights"][0]["stages"] = {0, 0}; },
       {"weights[0].stages[1]", "twice"}},
      {[](json &j) { j["weights"][0]["stages"] = {"0"}; },
       {"weights[0].stages[0]", "integer"}},
      {[](json &j) { j["decode"] = 1; }, {"decode", "must be an object"}},
      {[](json &j) { j["decode"] = {{"pdl", true}}; },
       {"decode.stream_max_rows: missing"}},
      {[](json &j) { j["decode"] = {{"stream_max_rows", 33}, {"pdl", true}}; },
       {"decode.stream_max_rows", "[0, 32]"}},
      {[](json &j) { j["decode"] = {{"stream_max_rows", 8}, {"pdl", 1}}; },
       {"decode.pdl", "true or false"}},
      {[](json &j) {
         j["decode"] = {{"stream_max_rows", 8},
                        {"pdl", true},
                        {"attention_blocks_per_sm", 0}};
       },
       {"decode.attention_blocks_per_sm", "[1, 64]"}},
      {[](json &j) { j.erase("arena_bytes"); }, {"arena_bytes: missing"}},
      {[](json &j) { j["arena_bytes"] = -1; }, {"arena_bytes"}},
      {[](json &j) { j["arena_bytes_per_sequence"] = -1; },
       {"arena_bytes_per_sequence"}},
      {[](json &j) { j["arena_bytes_per_sequence"] = (1 << 20) + 1; },
       {"arena_bytes_per_sequence", "more than arena_bytes 1048576"}},
      {[](json &j) { j["model"].erase("moe_top_k"); },
       {"model.moe_top_k: missing"}},
      {[](json &j) { j["model"]["moe_top_k"] = -1; }, {"model.moe_top_k"}},
      {[](json &j) { j.erase("attention"); }, {"attention: missing"}},
      {[](json &j) { j["attention"] = 1; }, {"attention", "array"}},
      {[](json &j) { j["attention"][0].erase("heads"); },
       {"attention[0].heads: missing"}},
      {[](json &j) { j["attention"][1]["cache_slot"] = 2; },
       {"attention[1].cache_slot", "outside the 2 slots"}},
      {[](json &j) { j["attention"][1]["cache_slot"] = 0; },
       {"attention[1].cache_slot", "listed twice"}},
      {[](json &j) { j["attention"][0]["heads"] = 3; j["attention"][0]["kv_heads"] = 2; },
       {"attention[0]", "3 query heads do not form groups over 2"}},
      {[](json &j) { j["attention"][0]["head_dim"] = 0; },
       {"attention[0].head_dim"}},
      {[](json &j) { j["weights"][1].erase("role"); },
       {"weights[1].role: missing"}},
      {[](json &j) { j["weights"][1]["role"] = "q_proj"; },
       {"weights[1].role", "'q_proj' is not a weight role"}},
      {[](json &j) { j["arena_bytes"] = uint64_t(1) << 63; },
       {"arena_bytes", "fits in 64 bits"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    json j = example();
    cases[i].mutate(j);
    expectError(j, cases[i].pieces);
  }
}

TEST(Manifest, CarriesWhatTheCompilerKnows) {
  // Roles, head counts and the MoE top-k come from the compiler's IR, so
  // the runtime reads them instead of interpreting checkpoint names.
  Expected<Manifest> m = parseManifest(readInput("stub-dp2-ep2.json"));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->model.moeTopK, 2);
  ASSERT_FALSE(m->attention.empty());
  EXPECT_EQ(m->attention[0].cacheSlot, 0);
  EXPECT_EQ(m->attentionOfSlot(0), &m->attention[0]);
  EXPECT_EQ(m->attentionOfSlot(99), nullptr);
  std::map<WeightRole, int> roles;
  for (const ManifestWeight &w : m->weights)
    ++roles[w.role];
  EXPECT_GT(roles[WeightRole::Expert], 0);
  EXPECT_GT(roles[WeightRole::Router], 0);
  EXPECT_EQ(roles[WeightRole::Embedding], 1);
  // Every role reads back as written.
  for (WeightRole r : {WeightRole::Embedding, WeightRole::LmHead,
                       WeightRole::Router, WeightRole::Expert,
                       WeightRole::Projection, WeightRole::Vector})
    EXPECT_EQ(parseWeightRole(weightRoleName(r)), r);
  EXPECT_FALSE(parseWeightRole("q_proj"));
  Expected<std::string> text = writeManifest(*m);
  ASSERT_TRUE(text.ok());
  Expected<Manifest> back = parseManifest(*text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->attention.size(), m->attention.size());
  EXPECT_EQ(back->attention[0].heads, m->attention[0].heads);
  EXPECT_EQ(back->weights.back().role, m->weights.back().role);
}

TEST(Manifest, DecodePlanIsOptional) {
  // Written before "decode" existed: the defaults (16 rows, PDL on).
  json j = example();
  j.erase("decode");
  Expected<Manifest> m = parseManifest(j.dump());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->decode.streamMaxRows, 16);
  EXPECT_TRUE(m->decode.pdl);
  Expected<Manifest> dp = parseManifest(readInput("stub-dp2-ep2.json"));
  ASSERT_TRUE(dp.ok());
  EXPECT_EQ(dp->decode.streamMaxRows, 8);
  EXPECT_FALSE(dp->decode.pdl);
  // Written before the attention split rule was recorded: 2 blocks per SM.
  EXPECT_EQ(m->decode.attentionBlocksPerSm, 2);
  j = example();
  j["decode"] = {{"stream_max_rows", 8}, {"pdl", true}};
  m = parseManifest(j.dump());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->decode.attentionBlocksPerSm, 2);
  j["decode"]["attention_blocks_per_sm"] = 5;
  m = parseManifest(j.dump());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->decode.attentionBlocksPerSm, 5);
  Expected<std::string> text = writeManifest(*m);
  ASSERT_TRUE(text.ok()) << text.status().message();
  Expected<Manifest> back = parseManifest(*text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->decode.attentionBlocksPerSm, 5);
}

TEST(Manifest, UnknownKeysAreIgnored) {
  json j = example();
  j["comment"] = "written by a newer llm-compile";
  j["model"]["num_attention_heads"] = 4;
  EXPECT_TRUE(parseManifest(j.dump()).ok());
}
