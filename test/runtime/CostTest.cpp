//===- CostTest.cpp - llm-model --bench's model cost and report ----------===//
//
// The figures of runtime/model/Cost.h against hand-computed ones for
// Llama-3-8B (test/models/real/llama-3-8b.json: V 128256, H 4096, I 14336,
// 32 layers, 32 query and 8 kv heads of 128), unsharded, tp2 and pp2·tp2,
// built here with the weight names, shapes and slices llm-compile writes;
// tied embeddings (Qwen2.5-0.5B-shaped); the MoE stub; and the report.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Cost.h"

#include "ExampleManifests.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace llmc::rt;

namespace {

struct LlamaShape {
  int64_t vocab, hidden, inter, layers, heads, kvHeads, headDim;
  bool tied = false, qkvBias = false;
};

const LlamaShape kLlama3_8B{128256, 4096, 14336, 32, 32, 8, 128};
const LlamaShape kQwen25_05B{151936, 896, 4864, 24, 14, 2, 64, true, true};

/// The manifest llm-compile writes for a Llama-style model on pp × tp
/// (weights sliced as its tensor-parallel pass does: q/k/v/gate/up, the
/// embedding and lm head by rows, o/down by columns).
Manifest llama(const LlamaShape &c, int64_t pp, int64_t tp) {
  Manifest m;
  m.model.architecture = "LlamaForCausalLM";
  m.model.vocabSize = c.vocab;
  m.model.hiddenSize = c.hidden;
  m.model.numLayers = c.layers;
  m.model.maxPositionEmbeddings = 8192;
  if (pp > 1) {
    m.plan.axes.push_back("pp");
    m.plan.shape.push_back(pp);
  }
  if (tp > 1) {
    m.plan.axes.push_back("tp");
    m.plan.shape.push_back(tp);
  }
  m.plan.spec = tp > 1 && pp > 1
                    ? "tp" + std::to_string(tp) + ",pp" + std::to_string(pp)
                : tp > 1 ? "tp" + std::to_string(tp)
                : pp > 1 ? "pp" + std::to_string(pp)
                         : "";
  m.target = {"sm_90a", "h200"};
  m.limits = {8, 8192, 8192};
  int64_t perStage = c.layers / pp;
  m.kvCache.numSlots = c.layers;
  m.kvCache.kvHeads = c.kvHeads / tp;
  m.kvCache.headDim = c.headDim;
  for (int64_t s = 0; s < pp; ++s)
    m.kvCache.slotsPerStage.push_back({s * perStage, (s + 1) * perStage});
  auto add = [&](const std::string &name, std::vector<int64_t> full,
                 int sliceDim, std::vector<int64_t> stages,
                 WeightRole role = WeightRole::Projection) {
    ManifestWeight w;
    w.name = name;
    w.role = full.size() < 2 ? WeightRole::Vector : role;
    w.fullShape = full;
    w.shape = full;
    if (sliceDim >= 0 && tp > 1) {
      ManifestSlice s;
      s.dim = sliceDim;
      s.size = full[size_t(sliceDim)] / tp;
      s.axis = "tp";
      for (int64_t i = 0; i < tp; ++i)
        s.offsets.push_back(i * s.size);
      w.shape[size_t(sliceDim)] = s.size;
      w.slice = s;
    }
    w.stages = stages;
    m.weights.push_back(w);
  };
  int64_t q = c.heads * c.headDim, kv = c.kvHeads * c.headDim, h = c.hidden;
  std::vector<int64_t> embedStages = {0};
  if (c.tied && pp > 1)
    embedStages.push_back(pp - 1);
  add("model.embed_tokens.weight", {c.vocab, h}, 0, embedStages,
      WeightRole::Embedding);
  for (int64_t l = 0; l < c.layers; ++l) {
    m.attention.push_back({l, c.heads / tp, c.kvHeads / tp, c.headDim});
    std::string p = "model.layers." + std::to_string(l) + ".";
    std::vector<int64_t> st = {l / perStage};
    add(p + "input_layernorm.weight", {h}, -1, st);
    add(p + "self_attn.q_proj.weight", {q, h}, 0, st);
    if (c.qkvBias)
      add(p + "self_attn.q_proj.bias", {q}, 0, st);
    add(p + "self_attn.k_proj.weight", {kv, h}, 0, st);
    if (c.qkvBias)
      add(p + "self_attn.k_proj.bias", {kv}, 0, st);
    add(p + "self_attn.v_proj.weight", {kv, h}, 0, st);
    if (c.qkvBias)
      add(p + "self_attn.v_proj.bias", {kv}, 0, st);
    add(p + "self_attn.o_proj.weight", {h, q}, 1, st);
    add(p + "post_attention_layernorm.weight", {h}, -1, st);
    add(p + "mlp.gate_proj.weight", {c.inter, h}, 0, st);
    add(p + "mlp.up_proj.weight", {c.inter, h}, 0, st);
    add(p + "mlp.down_proj.weight", {h, c.inter}, 1, st);
  }
  add("model.norm.weight", {h}, -1, {pp - 1});
  if (!c.tied)
    add("lm_head.weight", {c.vocab, h}, 0, {pp - 1}, WeightRole::LmHead);
  Status s = validateManifest(m);
  EXPECT_TRUE(s.ok()) << s.message();
  return m;
}

Manifest example(const char *name) {
  return llmc::rt::testing::exampleManifest(name);
}

RunShape shape(int64_t batch, int64_t prompt, int64_t gen) {
  RunShape r;
  r.batch = r.localBatch = batch;
  r.promptLen = prompt;
  r.maxNewTokens = gen;
  return r;
}

// Llama-3-8B, by hand: per layer q 4096², k and v 1024·4096, o 4096², gate,
// up and down 14336·4096: 218,103,808 projection elements; 32 layers:
// 6,979,321,856. Embedding and lm head 128256·4096 = 525,336,576 each;
// norms 2·4096 per layer + 4096. All: 8,030,261,248 elements, 2 bytes each.
constexpr double kLayerParams = 218103808.0;
constexpr double kTokenParams = 6979321856.0;
constexpr double kTable = 525336576.0;
constexpr uint64_t kAllBytes = 16060522496ull;

} // namespace

TEST(Cost, ReadsRolesAndHeadsFromTheManifestNotNames) {
  // The cost model never parses checkpoint names: renaming every weight
  // changes nothing; the manifest's roles and attention heads decide.
  Manifest m = llama(kLlama3_8B, 2, 2);
  Manifest renamed = m;
  for (size_t i = 0; i < renamed.weights.size(); ++i)
    renamed.weights[i].name = "w" + std::to_string(i);
  for (int64_t r = 0; r < m.plan.numRanks(); ++r) {
    RankCost a = rankCost(m, r), b = rankCost(renamed, r);
    EXPECT_EQ(a.stepWeightBytes, b.stepWeightBytes);
    EXPECT_DOUBLE_EQ(a.tokenParams, b.tokenParams);
    EXPECT_DOUBLE_EQ(a.headParams, b.headParams);
    EXPECT_EQ(a.queryHeads, 16);
    EXPECT_EQ(b.queryHeads, 16);
  }
  // An expert role makes a matrix an expert whatever its name.
  renamed.weights[3].role = WeightRole::Expert;
  EXPECT_TRUE(rankCost(renamed, 0).experts);
  // Without attention entries the query heads fall back to the kv heads.
  renamed.attention.clear();
  EXPECT_EQ(rankCost(renamed, 0).queryHeads, renamed.kvCache.kvHeads);
}

TEST(Cost, Llama3_8B_Unsharded) {
  Manifest m = llama(kLlama3_8B, 1, 1);
  RankCost c = rankCost(m, 0);
  EXPECT_EQ(c.weightBytes, kAllBytes); // ≈ 16.06e9
  EXPECT_EQ(c.weightBytes, m.rankWeightBytes(0));
  // A decode step reads all but the embedding table, of which one row.
  EXPECT_EQ(c.stepWeightBytes, kAllBytes - uint64_t(kTable) * 2);
  EXPECT_EQ(c.stepWeightBytes, 15009849344ull);
  EXPECT_EQ(c.lookupRowBytes, 4096u * 2);
  EXPECT_DOUBLE_EQ(c.tokenParams, kTokenParams);
  EXPECT_DOUBLE_EQ(c.tokenParams, 32 * kLayerParams);
  EXPECT_DOUBLE_EQ(c.headParams, kTable);
  EXPECT_DOUBLE_EQ(c.expertParams, 0);
  EXPECT_EQ(c.layers, 32);
  EXPECT_EQ(c.queryHeads, 32);
  EXPECT_FALSE(c.experts);
  // K and V: 2 · 32 layers · 8 heads · 128 · 2 bytes = 128 KiB a position.
  EXPECT_DOUBLE_EQ(kvBytesPerPosition(c), 131072);
  EXPECT_DOUBLE_EQ(decodeStepBytes(c, 1, 1024),
                   15009849344.0 + 8192 + 131072.0 * 1024);
  EXPECT_DOUBLE_EQ(decodeStepBytes(c, 4, 100, 2),
                   2 * 15009849344.0 + 4 * 8192 + 4 * 100 * 131072.0);
  // An FP8 cache: one byte per element plus each head vector's fp32 scale.
  Manifest fp8Kv = m;
  fp8Kv.kvCache.dtype = "f8e4m3";
  EXPECT_DOUBLE_EQ(kvBytesPerPosition(rankCost(fp8Kv, 0)),
                   2.0 * 32 * 8 * (128 + 4));
  // Prefill of 2048 tokens: 2·params·S, the lm head on the last row, and
  // causal attention 4·32 layers·32 heads·128·S(S+1)/2.
  double attention = 4.0 * 32 * 32 * 128 * (2048.0 * 2049 / 2);
  EXPECT_DOUBLE_EQ(attention, 1100048498688.0);
  EXPECT_DOUBLE_EQ(prefillFlops(c, 1, 0, 2048),
                   2 * kTokenParams * 2048 + 2 * kTable + attention);
  EXPECT_DOUBLE_EQ(prefillFlops(c, 1, 0, 2048), 29688401494016.0);
  EXPECT_DOUBLE_EQ(prefillFlops(c, 3, 0, 2048), 3 * 29688401494016.0);
  // A block [start, start + len): queries see start + 1 .. start + len keys.
  EXPECT_DOUBLE_EQ(prefillFlops(c, 1, 10, 2) - prefillFlops(c, 1, 10, 0),
                   2 * kTokenParams * 2 + 4.0 * 32 * 32 * 128 * 23);

  // Decode: one row through every projection and the lm head, attention
  // over the context.
  EXPECT_DOUBLE_EQ(decodeStepFlops(c, 2, 1000),
                   2 * (kTokenParams + kTable) * 2 +
                       4.0 * 32 * 32 * 128 * 2 * 1000);

  RunCost run = runCost(m, shape(1, 2048, 65), false);
  EXPECT_DOUBLE_EQ(run.decodeFlops, decodeStepFlops(c, 1, 2048 + 32.5));
  EXPECT_DOUBLE_EQ(run.criticalDecodeFlops, run.decodeFlops);
  // Mean decode context: 2048 + 65/2.
  EXPECT_DOUBLE_EQ(run.decodeBytes,
                   15009849344.0 + 8192 + 131072.0 * (2048 + 32.5));
  EXPECT_DOUBLE_EQ(run.criticalDecodeBytes, run.decodeBytes);
  EXPECT_DOUBLE_EQ(run.prefillFlops, 29688401494016.0);
  EXPECT_EQ(run.gpus, 1);
  EXPECT_FALSE(run.expertsDense);
  // No decode step: the one that would follow the prompt.
  EXPECT_DOUBLE_EQ(runCost(m, shape(1, 16, 1), false).decodeBytes,
                   15009849344.0 + 8192 + 131072.0 * 17);

  // cuBLASLt GEMMs of the prefill: q and o share a shape.
  std::vector<GemmShape> g = run.gemms;
  ASSERT_EQ(g.size(), 5u);
  auto find = [&](int64_t mm, int64_t n, int64_t k) -> const GemmShape * {
    for (const GemmShape &s : g)
      if (s.m == mm && s.n == n && s.k == k)
        return &s;
    return nullptr;
  };
  ASSERT_TRUE(find(2048, 4096, 4096));
  EXPECT_EQ(find(2048, 4096, 4096)->count, 64);
  ASSERT_TRUE(find(2048, 1024, 4096));
  EXPECT_EQ(find(2048, 1024, 4096)->count, 64);
  ASSERT_TRUE(find(2048, 14336, 4096));
  EXPECT_EQ(find(2048, 14336, 4096)->count, 64);
  ASSERT_TRUE(find(2048, 4096, 14336));
  EXPECT_EQ(find(2048, 4096, 14336)->count, 32);
  ASSERT_TRUE(find(1, 128256, 4096));
  EXPECT_TRUE(find(1, 128256, 4096)->f32Out);
  EXPECT_EQ(find(1, 128256, 4096)->count, 1);
  double flops = 0;
  for (const GemmShape &s : g) {
    EXPECT_EQ(s.f32Out, s.n == 128256);
    flops += double(s.count) * s.flops();
  }
  // The GEMMs are the prefill minus attention.
  EXPECT_DOUBLE_EQ(flops, 29688401494016.0 - attention);
}

TEST(Cost, Llama3_8B_Sharded) {
  Manifest tp2 = llama(kLlama3_8B, 1, 2);
  for (int64_t r = 0; r < 2; ++r) {
    RankCost c = rankCost(tp2, r);
    EXPECT_EQ(c.weightBytes, 8030527488ull);
    EXPECT_EQ(c.stepWeightBytes, 8030527488ull - uint64_t(kTable));
    EXPECT_EQ(c.queryHeads, 16);
    EXPECT_EQ(c.kvHeads, 4);
    EXPECT_DOUBLE_EQ(kvBytesPerPosition(c), 65536);
    EXPECT_DOUBLE_EQ(c.tokenParams, kTokenParams / 2);
  }
  RunCost one = runCost(llama(kLlama3_8B, 1, 1), shape(2, 512, 9), false);
  RunCost t = runCost(tp2, shape(2, 512, 9), false);
  // Two GPUs: the same work (norms aside: every rank reads them), and a
  // step is bound by the busier rank.
  EXPECT_EQ(t.gpus, 2);
  EXPECT_NEAR(t.decodeBytes, one.decodeBytes + 532480 + 8192 * 2, 1);
  EXPECT_DOUBLE_EQ(t.criticalDecodeBytes, t.decodeBytes / 2);
  EXPECT_DOUBLE_EQ(t.prefillFlops, one.prefillFlops);
  // Emulated on one GPU: everything counts.
  EXPECT_DOUBLE_EQ(runCost(tp2, shape(2, 512, 9), true).criticalDecodeBytes,
                   t.decodeBytes);
  EXPECT_EQ(runCost(tp2, shape(2, 512, 9), true).gpus, 1);

  // pp2·tp2: stage 0 holds the embedding and layers 0-15, stage 1 layers
  // 16-31, the final norm and the lm head; stages run one after the other.
  Manifest pt = llama(kLlama3_8B, 2, 2);
  RankCost s0 = rankCost(pt, 0), s1 = rankCost(pt, 3);
  EXPECT_EQ(s0.weightBytes, 4015259648ull);
  EXPECT_EQ(s1.weightBytes, 4015267840ull);
  EXPECT_EQ(s0.stepWeightBytes, 4015259648ull - uint64_t(kTable));
  EXPECT_EQ(s1.stepWeightBytes, 4015267840ull);
  EXPECT_EQ(s0.lookupRowBytes, 8192u);
  EXPECT_EQ(s1.lookupRowBytes, 0u);
  EXPECT_EQ(s0.layers, 16);
  EXPECT_DOUBLE_EQ(s0.headParams, 0);
  EXPECT_DOUBLE_EQ(s1.headParams, kTable / 2);
  RunCost p = runCost(pt, shape(1, 100, 3), false);
  double d0 = decodeStepBytes(s0, 1, 101.5), d1 = decodeStepBytes(s1, 1, 101.5);
  EXPECT_DOUBLE_EQ(p.decodeBytes, 2 * d0 + 2 * d1);
  EXPECT_DOUBLE_EQ(p.criticalDecodeBytes, d0 + d1);
  EXPECT_DOUBLE_EQ(p.criticalDecodeFlops, decodeStepFlops(s0, 1, 101.5) +
                                              decodeStepFlops(s1, 1, 101.5));
  EXPECT_EQ(p.gpus, 4);
  // Merged over the four ranks (16 layers each): q [2048, 4096], o [4096,
  // 2048] and down 64 times, k/v and gate/up 128, the lm head twice.
  int64_t calls = 0;
  for (const GemmShape &g : p.gemms) {
    calls += g.count;
    bool pair = (g.n == 512 || g.n == 7168) && g.k == 4096;
    EXPECT_EQ(g.count, g.n == 64128 ? 2 : pair ? 128 : 64) << g.n << "x" << g.k;
    EXPECT_EQ(g.m, g.n == 64128 ? 1 : 100);
  }
  EXPECT_EQ(p.gemms.size(), 6u);
  EXPECT_EQ(calls, 4 * 16 * 7 + 2);
}

TEST(Cost, TiedEmbeddings) {
  // Qwen2.5-0.5B: the lm head reads the embedding table; biases are vectors.
  Manifest m = llama(kQwen25_05B, 1, 1);
  RankCost c = rankCost(m, 0);
  double table = 151936.0 * 896;
  EXPECT_EQ(c.stepWeightBytes, c.weightBytes);
  EXPECT_DOUBLE_EQ(c.headParams, table);
  EXPECT_EQ(c.lookupRowBytes, 896u * 2);
  EXPECT_EQ(c.queryHeads, 14);
  std::vector<GemmShape> g = prefillGemms(m, shape(1, 8, 2), {0});
  bool head = false;
  for (const GemmShape &s : g)
    if (s.n == 151936) {
      head = true;
      EXPECT_EQ(s.m, 1);
      EXPECT_TRUE(s.f32Out);
    }
  EXPECT_TRUE(head);
  // pp2: stage 0 only looks rows up; stage 1 reads the whole table.
  Manifest pp = llama(kQwen25_05B, 2, 1);
  RankCost s0 = rankCost(pp, 0), s1 = rankCost(pp, 1);
  EXPECT_EQ(s0.weightBytes - s0.stepWeightBytes, uint64_t(table * 2));
  EXPECT_EQ(s1.stepWeightBytes, s1.weightBytes);
  EXPECT_DOUBLE_EQ(s0.headParams, 0);
  EXPECT_DOUBLE_EQ(s1.headParams, table);
  EXPECT_EQ(s0.lookupRowBytes, 896u * 2);
  EXPECT_EQ(s1.lookupRowBytes, 0u);
}

TEST(Cost, Experts) {
  // The dp2·ep2 stub: 4 experts of [8, 8], two per ep rank; a router.
  Manifest m = example("stub-dp2-ep2.json");
  RankCost c = rankCost(m, 0);
  EXPECT_TRUE(c.experts);
  EXPECT_DOUBLE_EQ(c.expertParams, 2 * 64);
  EXPECT_DOUBLE_EQ(c.tokenParams, 4 * 8); // the router
  EXPECT_DOUBLE_EQ(c.headParams, 64 * 8);
  RunShape s = shape(4, 5, 2);
  s.replicas = 4;
  s.localBatch = 1;
  RunCost run = runCost(m, s, true);
  EXPECT_TRUE(run.expertsDense);
  // Experts are not cuBLASLt GEMMs; the router writes fp32.
  ASSERT_EQ(run.gemms.size(), 2u);
  EXPECT_EQ(run.gemms[0].m, 1);
  EXPECT_EQ(run.gemms[0].n, 64);
  EXPECT_EQ(run.gemms[0].count, 4);
  EXPECT_EQ(run.gemms[1].m, 5);
  EXPECT_EQ(run.gemms[1].n, 4);
  EXPECT_TRUE(run.gemms[1].f32Out);
  EXPECT_EQ(run.gemms[1].count, 4);
}

TEST(Cost, GemmAggregate) {
  GemmShape a{1000, 1000, 1000, false, 3}, b{10, 1000, 1000, false, 1};
  // 3 · 2e9 FLOP in 3 ms and 2e7 in 1 ms: 6.02e9 / 4 ms.
  EXPECT_DOUBLE_EQ(gemmAggregateTflops({a, b}, {1.0, 1.0}),
                   6.02e9 / 4e-3 / 1e12);
  EXPECT_TRUE(std::isnan(gemmAggregateTflops({a, b}, {1.0, NAN})));
  EXPECT_TRUE(std::isnan(gemmAggregateTflops({}, {})));
}

TEST(Cost, BenchReport) {
  Manifest m = llama(kLlama3_8B, 1, 1);
  RunShape s = shape(1, 2048, 5);
  RunCost cost = runCost(m, s, false);
  // 5 steps: TTFT 40 ms, then 4 decode steps of 6 ms.
  BenchFigures f =
      benchFigures({40, 6, 6, 6, 6}, s, cost, m, /*emulated=*/false,
                   /*graphs=*/true);
  EXPECT_DOUBLE_EQ(f.ttftMs, 40);
  EXPECT_DOUBLE_EQ(f.tpotMs, 6);
  EXPECT_DOUBLE_EQ(f.tokensPerS, 5 / 0.064);
  EXPECT_TRUE(std::isnan(f.rooflineTpotMs()));
  f.copyGBs = 3000;
  f.gemmPeakTflops = 700;
  f.gemmBestTflops = 800;
  f.wallS = 1.5;
  EXPECT_DOUBLE_EQ(f.decodeGBs(), cost.decodeBytes / 6e-3 / 1e9);
  EXPECT_DOUBLE_EQ(f.rooflineTpotMs(), cost.decodeBytes / 3e12 * 1e3);
  EXPECT_DOUBLE_EQ(f.prefillTflops(), cost.prefillFlops / 40e-3 / 1e12);
  // Batch 1: bandwidth-bound, so the ratio is the bandwidth roofline's.
  EXPECT_DOUBLE_EQ(f.rooflineComputeTpotMs(), cost.decodeFlops / 700e12 * 1e3);
  EXPECT_LT(f.rooflineComputeTpotMs(), f.rooflineTpotMs());
  EXPECT_DOUBLE_EQ(f.tpotRooflineRatio(), f.rooflineTpotMs() / 6);
  BenchFigures fast = f;
  fast.gemmPeakTflops = 1e-3; // a GEMM peak so low that compute binds
  EXPECT_DOUBLE_EQ(fast.tpotRooflineRatio(), fast.rooflineComputeTpotMs() / 6);

  std::string line = benchJson(f);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(line);
  for (const char *key : {"ttft_ms",
                          "tpot_ms",
                          "tokens_per_s",
                          "decode_gb_s",
                          "copy_gb_s",
                          "copy_gb_s_after",
                          "decode_bw_ratio",
                          "roofline_tpot_ms",
                          "prefill_tflops",
                          "gemm_peak_tflops",
                          "prefill_gemm_ratio",
                          "batch",
                          "prompt_len",
                          "gen_len",
                          "ranks",
                          "emulated",
                          "plan",
                          "graph",
                          "roofline_tpot_compute_ms",
                          "decode_flops_per_step",
                          "tpot_roofline_ratio"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_DOUBLE_EQ(j["ttft_ms"].get<double>(), 40);
  EXPECT_NEAR(j["decode_gb_s"].get<double>(), f.decodeGBs(),
              f.decodeGBs() * 1e-5);
  EXPECT_NEAR(j["decode_bw_ratio"].get<double>(), f.decodeGBs() / 3000, 1e-5);
  EXPECT_NEAR(j["prefill_gemm_ratio"].get<double>(), f.prefillTflops() / 700,
              1e-5);
  EXPECT_EQ(j["batch"].get<int64_t>(), 1);
  EXPECT_EQ(j["prompt_len"].get<int64_t>(), 2048);
  EXPECT_EQ(j["gen_len"].get<int64_t>(), 5);
  EXPECT_EQ(j["ranks"].get<int64_t>(), 1);
  EXPECT_EQ(j["emulated"].get<bool>(), false);
  EXPECT_EQ(j["graph"].get<bool>(), true);
  EXPECT_EQ(j["plan"].get<std::string>(), "");
  EXPECT_EQ(j["decode_bytes_per_step"].get<double>(), cost.decodeBytes);

  // Not measured, no decode step: nulls, still one valid object.
  BenchFigures none = benchFigures({12}, shape(1, 4, 1), cost, m, true, false);
  j = nlohmann::json::parse(benchJson(none));
  EXPECT_TRUE(j["tpot_ms"].is_null());
  EXPECT_TRUE(j["decode_gb_s"].is_null());
  EXPECT_TRUE(j["copy_gb_s"].is_null());
  EXPECT_TRUE(j["copy_gb_s_after"].is_null());
  EXPECT_TRUE(j["prefill_gemm_ratio"].is_null());
  EXPECT_EQ(j["emulated"].get<bool>(), true);

  std::string summary = benchSummary(f);
  EXPECT_NE(summary.find("TTFT 40.000 ms"), std::string::npos) << summary;
  EXPECT_NE(summary.find("TPOT 6.000 ms"), std::string::npos) << summary;
  EXPECT_NE(summary.find("of D2D copy (3000 GB/s"), std::string::npos)
      << summary;
  EXPECT_EQ(summary.find("bench:"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("after the run"), std::string::npos) << summary;
  BenchFigures after = f;
  after.copyGBsAfter = 2600;
  EXPECT_NE(benchSummary(after).find("(3000 GB/s read+write, 2600 after the "
                                     "run)"),
            std::string::npos)
      << benchSummary(after);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(benchJson(after))["copy_gb_s_after"]
                       .get<double>(),
                   2600);
  EXPECT_NE(benchSummary(none).find("n/a"), std::string::npos);
}
