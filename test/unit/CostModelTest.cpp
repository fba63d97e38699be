//===- CostModelTest.cpp - planner formulas against hand-computed values --===//
//
// Each formula of the cost model against numbers worked out by hand, then
// the analysis of real configs (imported with the importer, sharded with the
// real pipeline) against the same formulas: Llama-3.1-70B is 70,553,706,496
// parameters = 141.1 GB in bf16, and its KV cache for 8 sequences of 4096
// positions is 2*8*4096*80*8*128*2 = 10,737,418,240 bytes = 10.7 GB.
//
//===----------------------------------------------------------------------===//

#include "llmc/Plan/CostModel.h"
#include "llmc/Import/Importer.h"
#include "llmc/Passes/Pipelines.h"
#include "llmc/Plan/Hardware.h"
#include "llmc/Plan/Planner.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

using namespace llmc;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

template <typename T> T take(llvm::Expected<T> e) {
  if (!e) {
    ADD_FAILURE() << llvm::toString(e.takeError());
    return T();
  }
  return std::move(*e);
}

std::string message(llvm::Error e) {
  return e ? llvm::toString(std::move(e)) : std::string();
}

/// test/models/real/<name>.json, found through the source tree's absolute
/// path (set by CMake) so the test runs from any build directory, also when
/// a compiler cache makes __FILE__ relative.
std::string realConfig(llvm::StringRef name) {
  std::string path = LLMC_TEST_MODELS_DIR;
  // "tiny/NAME" picks a config of test/models/tiny.
  if (name.contains('/'))
    return path + "/" + name.str() + ".json";
  return path + "/real/" + name.str() + ".json";
}

/// Imports a real config once per test and shards clones of it.
class Model {
public:
  explicit Model(llvm::StringRef name) {
    mlir::DialectRegistry registry;
    registerLlmcDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    ModelConfig config = take(loadModelConfig(realConfig(name)));
    module = buildModelGraph(&context, config, "real");
  }

  mlir::ModuleOp get() { return *module; }

  /// The per-rank program for `spec` ("" for one GPU).
  mlir::OwningOpRef<mlir::ModuleOp> shard(llvm::StringRef spec,
                                          int64_t microbatches = 1) {
    mlir::OwningOpRef<mlir::ModuleOp> clone(module->clone());
    if (spec.empty())
      return clone;
    mlir::PassManager pm(&context);
    ShardingOptions options;
    options.spec = spec.str();
    options.microbatches = microbatches;
    buildShardingPipeline(pm, options);
    EXPECT_TRUE(mlir::succeeded(pm.run(*clone))) << "sharding " << spec.str();
    return clone;
  }

  CostReport cost(llvm::StringRef spec, const Workload &workload, int64_t gpus,
                  int64_t microbatches = 1,
                  llvm::StringRef hardware = "h100-sxm") {
    mlir::OwningOpRef<mlir::ModuleOp> sharded = shard(spec, microbatches);
    HardwareSpec hw = take(HardwareDatabase::builtin().lookup(hardware));
    Topology topology = take(makeTopology(hw, gpus, 0));
    return take(analyzeShardedModule(*sharded, hw, topology, workload));
  }

private:
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

Workload workload(int64_t batch, int64_t prompt, int64_t output) {
  Workload w;
  w.batch = batch;
  w.seqLen = prompt;
  w.outputLen = output;
  return w;
}

constexpr double kLlama70BParams = 70553706496.0;

//===----------------------------------------------------------------------===//
// Formulas
//===----------------------------------------------------------------------===//

TEST(CostFormulas, KvCacheOfLlama70B) {
  // 2 * batch 8 * 4096 positions * 80 layers * 8 kv heads * 128 * 2 bytes.
  EXPECT_DOUBLE_EQ(cost::kvCacheBytes(8, 4096, 80, 8, 128, 2), 10737418240.0);
  // The seed's section 3.2 example (batch 8, 2048 positions) is 5.4 GB, not
  // the 52.4 GB it prints.
  EXPECT_DOUBLE_EQ(cost::kvCacheBytes(8, 2048, 80, 8, 128, 2), 5368709120.0);
  // Llama-2-7B (32 kv heads) at 128K positions: 64 GiB.
  EXPECT_DOUBLE_EQ(cost::kvCacheBytes(1, 131072, 32, 32, 128, 2),
                   64.0 * 1073741824.0);
}

TEST(CostFormulas, CollectiveVolumes) {
  // The seed's TP all-reduce for one [8, 4096, 8192] bf16 tensor over 8
  // ranks: 2 * 7/8 * 512 MiB = 896 MiB.
  double m = 8.0 * 4096 * 8192 * 2;
  EXPECT_DOUBLE_EQ(m, 536870912.0);
  EXPECT_DOUBLE_EQ(cost::allReduceBytes(8, m), 939524096.0);
  EXPECT_DOUBLE_EQ(cost::allReduceBytes(4, m), 1.5 * m);
  EXPECT_DOUBLE_EQ(cost::allReduceBytes(1, m), 0.0);
  EXPECT_DOUBLE_EQ(cost::allGatherBytes(4, 1000), 750.0);
  EXPECT_DOUBLE_EQ(cost::reduceScatterBytes(4, 1000), 750.0);
  EXPECT_DOUBLE_EQ(cost::allToAllBytes(8, 800), 700.0);
  EXPECT_DOUBLE_EQ(cost::p2pBytes(123.0), 123.0);
}

TEST(CostFormulas, PipelineBubble) {
  // The seed's examples: pp 4 with 4 and 16 micro-batches.
  EXPECT_DOUBLE_EQ(cost::pipelineBubble(4, 4), 3.0 / 7.0);
  EXPECT_DOUBLE_EQ(cost::pipelineBubble(4, 16), 3.0 / 19.0);
  EXPECT_DOUBLE_EQ(cost::pipelineBubble(1, 8), 0.0);
  EXPECT_DOUBLE_EQ(cost::pipelineBubble(2, 1), 0.5);
}

TEST(CostFormulas, PipelineSeconds) {
  // One micro-batch crosses both stages and the boundary; two more follow
  // at the slowest stage's pace.
  EXPECT_DOUBLE_EQ(cost::pipelineSeconds({1.0, 2.0}, {0.5}, 1), 3.5);
  EXPECT_DOUBLE_EQ(cost::pipelineSeconds({1.0, 2.0}, {0.5}, 3), 7.5);
  // Balanced stages: (m + p - 1) * t = m * t / (1 - bubble).
  EXPECT_DOUBLE_EQ(cost::pipelineSeconds({1, 1, 1, 1}, {0, 0, 0}, 4),
                   4.0 / (1 - cost::pipelineBubble(4, 4)));
}

TEST(CostFormulas, Flops) {
  EXPECT_DOUBLE_EQ(cost::linearFlops(10, 4096, 1024), 2.0 * 10 * 4096 * 1024);
  EXPECT_DOUBLE_EQ(cost::attentionFlops(1, 4096, 64, 128),
                   4.0 * 4096 * 64 * 128);
  // Causal prefill of 4 tokens: queries see 1, 2, 3, 4 keys.
  EXPECT_DOUBLE_EQ(cost::causalPrefillContext(4, std::nullopt), 2.5);
  // With a 2-token window: 1, 2, 2, 2.
  EXPECT_DOUBLE_EQ(cost::causalPrefillContext(4, 2), 7.0 / 4.0);
}

TEST(CostFormulas, ExpertsTouched) {
  // One token reaches exactly its top-2 experts; many reach all of them.
  EXPECT_DOUBLE_EQ(cost::expectedExpertsTouched(8, 2, 1), 2.0);
  EXPECT_DOUBLE_EQ(cost::expectedExpertsTouched(8, 2, 0), 0.0);
  EXPECT_NEAR(cost::expectedExpertsTouched(8, 2, 256), 8.0, 1e-9);
  // Two tokens: 8 * (1 - 0.75^2) = 3.5.
  EXPECT_DOUBLE_EQ(cost::expectedExpertsTouched(8, 2, 2), 3.5);
}

/// The GEMM seconds (weight stream + FLOPs, as priced) of `rows` rows
/// through a 4096 x 4096 bf16 weight.
double gemmTime(const HardwareSpec &hw, double rows) {
  GemmGroup g{rows, false, 4096.0 * 4096 * 2, 2.0 * rows * 4096 * 4096};
  auto [w, f] = cost::gemmSeconds(hw, 2, g);
  return w + f;
}

TEST(CostFormulas, GemmAtSmallRowsAddsItsFlopsAndAtManyRowsHidesThem) {
  HardwareSpec hw = take(HardwareDatabase::builtin().lookup("h100"));
  hw.gemmOverlapRows = 64;
  double w = 4096.0 * 4096 * 2 / hw.achievableHbm();
  auto flops = [&](double rows) {
    return 2.0 * rows * 4096 * 4096 / hw.achievableFlops(2);
  };
  // Few rows: the FLOPs add R / (rows + R) of themselves to the stream.
  EXPECT_DOUBLE_EQ(gemmTime(hw, 1), w + flops(1) * 64 / 65);
  // Many rows: compute-bound, the stream mostly hidden.
  EXPECT_NEAR(gemmTime(hw, 65536), flops(65536), 0.001 * flops(65536));
  // The plain roofline without overlap rows.
  hw.gemmOverlapRows = 0;
  EXPECT_DOUBLE_EQ(gemmTime(hw, 8), w);
  EXPECT_DOUBLE_EQ(gemmTime(hw, 65536), flops(65536));
}

TEST(CostFormulas, GemmTimeIsMonotoneAndContinuousAcrossTheRidge) {
  HardwareSpec hw = take(HardwareDatabase::builtin().lookup("h100"));
  for (double overlap : {0.0, 16.0, 64.0, 512.0}) {
    hw.gemmOverlapRows = overlap;
    // Where the FLOPs overtake the weight stream (the ridge).
    double ridge = hw.achievableFlops(2) / hw.achievableHbm();
    double last = 0;
    for (double rows = 1; rows <= 16384; rows *= 1.25) {
      double t = gemmTime(hw, rows);
      EXPECT_GE(t, last) << "rows " << rows << ", overlap " << overlap;
      last = t;
    }
    // No jump at the ridge: both sides agree to first order.
    double below = gemmTime(hw, ridge * (1 - 1e-9));
    double above = gemmTime(hw, ridge * (1 + 1e-9));
    EXPECT_NEAR(below, above, 1e-6 * above) << "overlap " << overlap;
  }
}

TEST(CostFormulas, LaunchTermScalesWithLaunchesAndHowTheyAreLaunched) {
  HardwareSpec hw = take(HardwareDatabase::builtin().lookup("h100"));
  hw.kernelLaunchSeconds = 2e-6;
  hw.eagerLaunchSeconds = 5e-6;
  PhaseWork work;
  work.launches = 100;
  EXPECT_DOUBLE_EQ(cost::phaseTerms(hw, 2, work).launch, 100 * 2e-6);
  work.launches = 200;
  EXPECT_DOUBLE_EQ(cost::phaseTerms(hw, 2, work).launch, 200 * 2e-6);
  work.eager = true;
  EXPECT_DOUBLE_EQ(cost::phaseTerms(hw, 2, work).launch, 200 * 5e-6);
}

TEST(CostFormulas, SiblingLinearsLaunchAsTheBinaryGroupsThem) {
  // q|k|v: one launch up to 16 rows (GEMV, streaming tensor-core GEMM),
  // GEMM + split up to 512, one GEMM each beyond.
  EXPECT_EQ(cost::siblingLaunches(3, 1, false), 1);
  EXPECT_EQ(cost::siblingLaunches(3, 16, false), 1);
  EXPECT_EQ(cost::siblingLaunches(3, 17, false), 2);
  EXPECT_EQ(cost::siblingLaunches(3, 512, false), 2);
  EXPECT_EQ(cost::siblingLaunches(3, 513, false), 3);
  EXPECT_EQ(cost::siblingLaunches(1, 4096, false), 1);
  // q|k|v into column views of one buffer: one GEMM, no split, any rows.
  EXPECT_EQ(cost::siblingLaunches(3, 17, true), 1);
  EXPECT_EQ(cost::siblingLaunches(3, 4096, true), 1);
}

TEST(CostModel, DecodeLaunchesAreTheBinarys) {
  // `llm-compile --explain` of the ~1B Llama shape: 118 kernels per decode
  // step at batch 1-16 (7 per layer), 134 beyond (8: q|k|v one GEMM into
  // column views, gate|up's SwiGLU after its GEMM); a prefill launches rope
  // and the cache write on their own.
  Model model("llama-3.2-1b");
  CostReport small = model.cost("", workload(16, 128, 32), 1);
  CostReport large = model.cost("", workload(32, 128, 32), 1);
  EXPECT_EQ(small.kernels, 118);
  EXPECT_EQ(large.kernels, 134);
  EXPECT_EQ(small.decodeWork.launches, 118);
  EXPECT_FALSE(small.decodeWork.eager);
  EXPECT_TRUE(small.prefillWork.eager);
  // 2048 prompt rows: q, k, v, gate, up and the SwiGLU each launch.
  EXPECT_GT(large.prefillWork.launches, large.decodeWork.launches);
  // The decode GEMMs: projections at the batch's rows, and the tied lm
  // head at one row per sequence too.
  ASSERT_EQ(large.decodeWork.gemms.size(), 1u);
  EXPECT_DOUBLE_EQ(large.decodeWork.gemms[0].rows, 32);
  EXPECT_DOUBLE_EQ(large.decodeWork.gemms[0].weightBytes,
                   large.weightBytesPerGpu -
                       16 * 2 * 2048.0 * 2 - 2048 * 2); // norms
  // Prefill: projections at 32 x 128 rows and the lm head at 32.
  ASSERT_EQ(large.prefillWork.gemms.size(), 2u);
  EXPECT_DOUBLE_EQ(large.prefillWork.gemms[0].rows, 32 * 128);
  EXPECT_DOUBLE_EQ(large.prefillWork.gemms[1].rows, 32);
}

//===----------------------------------------------------------------------===//
// Hardware database
//===----------------------------------------------------------------------===//

TEST(HardwareDatabase, BuiltinEntries) {
  HardwareDatabase db = HardwareDatabase::builtin();
  for (const char *name :
       {"a100-40g", "a100-80g", "h100-sxm", "h100-pcie", "h200"})
    EXPECT_FALSE(message(db.lookup(name).takeError()).size()) << name;
  HardwareSpec h100 = take(db.lookup("H100"));
  EXPECT_EQ(h100.name, "h100-sxm");
  EXPECT_EQ(h100.gpusPerNode, 8);
  EXPECT_DOUBLE_EQ(h100.hbmBytesPerSecond, 3350e9);
  EXPECT_DOUBLE_EQ(h100.bf16FlopsPerSecond, 989e12);
  EXPECT_DOUBLE_EQ(h100.intraNode.bytesPerSecond, 450e9);
  EXPECT_DOUBLE_EQ(h100.interNode.bytesPerSecond, 50e9);
  EXPECT_DOUBLE_EQ(take(db.lookup("a100-40g")).memoryBytes, 40 * 1073741824.0);
  // A100 has no fp8: fp8 weights run at the bf16 rate.
  HardwareSpec a100 = take(db.lookup("a100-80g"));
  EXPECT_DOUBLE_EQ(a100.achievableFlops(1), a100.achievableFlops(2));
}

TEST(HardwareDatabase, UnknownNameListsKnownOnes) {
  std::string error =
      message(HardwareDatabase::builtin().lookup("b200").takeError());
  EXPECT_NE(error.find("unknown hardware 'b200'"), std::string::npos) << error;
  EXPECT_NE(error.find("h100-sxm"), std::string::npos) << error;
  EXPECT_NE(error.find("a100-40g"), std::string::npos) << error;
}

constexpr const char *kCustom = R"({"hardware": [{
  "name": "h100-sxm", "aliases": ["my-h100"], "memory_gib": 80,
  "memory_utilization": 0.95, "hbm_gb_per_s": 3000, "bf16_tflops": 900,
  "fp8_tflops": 1800, "gpus_per_node": 4,
  "intra_node": {"link": "NVLink", "gb_per_s": 400, "latency_us": 5},
  "inter_node": {"link": "RoCE", "gb_per_s": 25, "latency_us": 30},
  "efficiency": {"compute": 0.5, "hbm": 0.9, "intra_node": 0.8,
                 "inter_node": 0.7}
}]})";

TEST(HardwareDatabase, FileEntriesOverrideBuiltins) {
  HardwareDatabase db = HardwareDatabase::builtin();
  size_t before = db.entries().size();
  EXPECT_EQ(message(db.addText(kCustom, "custom.json")), "");
  EXPECT_EQ(db.entries().size(), before);
  HardwareSpec spec = take(db.lookup("my-h100"));
  EXPECT_EQ(spec.gpusPerNode, 4);
  EXPECT_DOUBLE_EQ(spec.usableBytes(), 0.95 * 80 * 1073741824.0);
  EXPECT_DOUBLE_EQ(spec.interNode.latencySeconds, 30e-6);
  EXPECT_DOUBLE_EQ(spec.interNode.efficiency, 0.7);
  EXPECT_EQ(take(db.lookup("h100-sxm")).gpusPerNode, 4);
}

TEST(HardwareDatabase, MalformedFilesAreDiagnosed) {
  auto error = [](llvm::StringRef text) {
    HardwareDatabase db;
    return message(db.addText(text, "bad.json"));
  };
  EXPECT_NE(error("{").find("bad.json: not valid JSON"), std::string::npos);
  EXPECT_NE(error("[]").find("\"hardware\" array"), std::string::npos);
  std::string missing = error(R"({"hardware": [{"name": "x"}]})");
  EXPECT_NE(missing.find("hardware[0] ('x')"), std::string::npos) << missing;
  EXPECT_NE(missing.find("missing field"), std::string::npos) << missing;
  std::string typo = error(llvm::StringRef(kCustom).str().replace(
      std::string(kCustom).find("hbm_gb_per_s"), 12, "hbm_gbps"));
  EXPECT_NE(typo.find("unknown field 'hbm_gbps'"), std::string::npos) << typo;
  std::string negative = error(llvm::StringRef(kCustom).str().replace(
      std::string(kCustom).find("3000"), 4, "-3"));
  EXPECT_NE(negative.find("field 'hbm_gb_per_s' must be > 0"),
            std::string::npos)
      << negative;
  auto withKnob = [](llvm::StringRef field, llvm::StringRef in) {
    std::string text = kCustom;
    size_t at = text.find(in.str() == "efficiency" ? "\"compute\""
                                                   : "\"intra_node\"");
    return text.insert(at, field.str() + ", ");
  };
  std::string zero =
      error(withKnob("\"attention_compute\": 0", "efficiency"));
  EXPECT_NE(zero.find("field 'attention_compute' must be > 0, got 0"),
            std::string::npos)
      << zero;
  std::string rows = error(withKnob("\"gemm_overlap_rows\": -3", "entry"));
  EXPECT_NE(rows.find("field 'gemm_overlap_rows' must be >= 0, got -3"),
            std::string::npos)
      << rows;
  // The defaults of the new knobs: compute's rate, the graph launch, none.
  HardwareDatabase db;
  ASSERT_FALSE(message(db.addText(
      withKnob("\"kernel_launch_us\": 2", "entry"), "ok.json")).size());
  HardwareSpec spec = db.entries().front();
  EXPECT_DOUBLE_EQ(spec.attentionComputeEfficiency, 0.5);
  EXPECT_DOUBLE_EQ(spec.eagerLaunchSeconds, 2e-6);
  EXPECT_DOUBLE_EQ(spec.gemmOverlapRows, 0);
}

//===----------------------------------------------------------------------===//
// Grid layout on nodes
//===----------------------------------------------------------------------===//

TEST(GridLayout, GroupsOnNodes) {
  Topology two{16, 8};
  ShardSpec tp16 = take(parseShardSpec("tp16"));
  EXPECT_EQ(GridLayout(tp16).nodesSpanned({0}, two), 2);
  ShardSpec tp8dp2 = take(parseShardSpec("tp8,dp2"));
  GridLayout layout(tp8dp2);
  EXPECT_EQ(layout.nodesSpanned({layout.axisIndex("tp")}, two), 1);
  // ep8 x tp2: an ep group is every other rank, four on each node.
  ShardSpec ep8tp2 = take(parseShardSpec("tp2,ep8"));
  GridLayout ep(ep8tp2);
  EXPECT_EQ(ep.nodesSpanned({ep.axisIndex("ep")}, two), 2);
  EXPECT_EQ(ep.minGroupMembersOnNode({ep.axisIndex("ep")}, two), 4);
  // pp2 x tp8: the stage boundary crosses the nodes.
  GridLayout pp(take(parseShardSpec("tp8,pp2")));
  EXPECT_EQ(pp.p2pNodesSpanned(pp.axisIndex("pp"), 0, 1, two), 2);
}

//===----------------------------------------------------------------------===//
// Real configs
//===----------------------------------------------------------------------===//

TEST(CostModel, Llama70BWeightsAndKvOnOneGpu) {
  Model model("llama-3.1-70b");
  // 3584 prompt + 512 output tokens: the cache holds 4096 positions.
  CostReport cost = model.cost("", workload(8, 3584, 512), 1);
  EXPECT_DOUBLE_EQ(cost.weightBytesPerGpu, kLlama70BParams * 2);
  EXPECT_NEAR(cost.weightBytesPerGpu / 1e9, 141.1, 0.05);
  EXPECT_DOUBLE_EQ(cost.kvCacheBytesPerGpu, 10737418240.0);
  EXPECT_NEAR(cost.kvCacheBytesPerGpu / 1e9, 10.7, 0.05);
  EXPECT_TRUE(cost.collectives.empty());
  EXPECT_DOUBLE_EQ(cost.bubble, 0.0);
}

TEST(CostModel, Llama70BTensorParallel8) {
  Model model("llama-3.1-70b");
  CostReport cost = model.cost("tp8", workload(8, 3584, 512), 8);
  // Everything is split 8 ways except the 161 RMSNorm vectors.
  double norms = 161.0 * 8192;
  EXPECT_DOUBLE_EQ(cost.weightBytesPerGpu,
                   ((kLlama70BParams - norms) / 8 + norms) * 2);
  EXPECT_DOUBLE_EQ(cost.kvCacheBytesPerGpu, 10737418240.0 / 8);
  // Per decode step: 161 all-reduces (embedding + 2 per layer) of an
  // [8, 1, 8192] bf16 tensor and the lm_head's all-gather of [8, 1, 128256].
  double allReduce = cost::allReduceBytes(8, 8.0 * 8192 * 2);
  double allGather = cost::allGatherBytes(8, 8.0 * 128256 * 2);
  EXPECT_DOUBLE_EQ(cost.commBytesPerToken, 161 * allReduce + allGather);
  // Per prefill the all-reduces carry the 3584-token prompt.
  EXPECT_DOUBLE_EQ(cost.commBytesPerPrefill,
                   161 * cost::allReduceBytes(8, 8.0 * 3584 * 8192 * 2) +
                       allGather);
  int64_t allReduces = 0;
  for (const CollectiveCost &c : cost.collectives)
    if (c.kind == CollectiveKind::AllReduce) {
      allReduces += c.count;
      EXPECT_EQ(c.axes, "tp");
      EXPECT_EQ(c.groupSize, 8);
      EXPECT_FALSE(c.interNode());
    }
  EXPECT_EQ(allReduces, 161);
}

TEST(CostModel, Llama70BPipelineStages) {
  Model model("llama-3.1-70b");
  CostReport cost = model.cost("pp4", workload(8, 1024, 128), 4, 4);
  ASSERT_EQ(cost.stages.size(), 4u);
  // The cost-balanced split of docs/sharding.md.
  EXPECT_EQ(cost.stages[0].firstLayer, 0);
  EXPECT_EQ(cost.stages[0].endLayer, 19);
  EXPECT_EQ(cost.stages[3].firstLayer, 61);
  EXPECT_EQ(cost.stages[3].endLayer, 80);
  EXPECT_EQ(cost.microbatches, 4);
  EXPECT_EQ(cost.sequencesPerMicrobatch, 2);
  EXPECT_DOUBLE_EQ(cost.bubble, 3.0 / 7.0);
  // The KV cache of the largest stage (21 layers) at all 8 sequences.
  EXPECT_DOUBLE_EQ(cost.kvCacheBytesPerGpu,
                   cost::kvCacheBytes(8, 1152, 21, 8, 128, 2));
  // A stage boundary sends a micro-batch's hidden state point to point.
  double transfer = 0;
  for (const CollectiveCost &c : cost.collectives)
    if (c.op == "dist.transfer" && c.stage == 0)
      transfer += c.decodeBytes;
  EXPECT_DOUBLE_EQ(transfer, 4 * cost::p2pBytes(2.0 * 1 * 8192 * 2));
}

TEST(CostModel, MixtralExpertParallel) {
  Model model("mixtral-8x7b");
  CostReport cost = model.cost("tp2,ep8", workload(256, 1024, 256), 16);
  // Experts: 32 layers x 8 x 3 x 4096 x 14336, each GPU holds 1/8 of them
  // (ep) and half of each (tp). Attention, embedding and lm_head are split
  // by tp; norms and router gates are replicated.
  double experts = 32.0 * 8 * 3 * 4096 * 14336;
  double split =
      32.0 * (4096.0 * 4096 * 2 + 1024.0 * 4096 * 2) + 2 * 32000.0 * 4096;
  double replicated = 65.0 * 4096 + 32.0 * 8 * 4096;
  EXPECT_DOUBLE_EQ(cost.weightBytesPerGpu,
                   (experts / 16 + split / 2 + replicated) * 2);
  // ep splits the batch like dp: 256 / 8 sequences per rank.
  EXPECT_EQ(cost.sequencesPerRank, 32);
  // Two all-to-alls per MoE layer, each of 32 tokens x top-2 rows.
  int64_t allToAlls = 0;
  for (const CollectiveCost &c : cost.collectives)
    if (c.kind == CollectiveKind::AllToAll) {
      allToAlls += c.count;
      EXPECT_EQ(c.axes, "ep");
      EXPECT_EQ(c.groupSize, 8);
      EXPECT_TRUE(c.interNode());
      // Four of the seven peers are on the other node.
      EXPECT_DOUBLE_EQ(c.interNodeFraction, 4.0 / 7.0);
      EXPECT_DOUBLE_EQ(c.decodeBytes,
                       c.count * cost::allToAllBytes(8, 32.0 * 2 * 4096 * 2));
    }
  EXPECT_EQ(allToAlls, 64);
}

//===----------------------------------------------------------------------===//
// Planner
//===----------------------------------------------------------------------===//

TEST(Planner, EnumeratesEveryFactorisation) {
  EXPECT_EQ(enumerateSpecs(1).size(), 1u);
  EXPECT_EQ(enumerateSpecs(1).front().str(), "");
  // Ordered factorisations of 2^3 into 5 factors: C(3 + 4, 4) = 35.
  EXPECT_EQ(enumerateSpecs(8).size(), 35u);
  for (const ShardSpec &spec : enumerateSpecs(12))
    EXPECT_EQ(spec.numRanks(), 12);
  EXPECT_TRUE(enumerateSpecs(0).empty());
}

TEST(Planner, Topology) {
  HardwareSpec h100 = take(HardwareDatabase::builtin().lookup("h100"));
  EXPECT_EQ(take(makeTopology(h100, 16, 0)).nodes(), 2);
  EXPECT_EQ(take(makeTopology(h100, 8, 2)).gpusPerNode, 4);
  EXPECT_NE(message(makeTopology(h100, 0, 0).takeError()).find("--gpus"),
            std::string::npos);
  EXPECT_NE(message(makeTopology(h100, 8, 3).takeError()).find("evenly"),
            std::string::npos);
  EXPECT_NE(message(makeTopology(h100, 32, 2).takeError()).find("--nodes=4"),
            std::string::npos);
}

TEST(Planner, Llama70BOn8H100) {
  Model model("llama-3.1-70b");
  HardwareSpec h100 = take(HardwareDatabase::builtin().lookup("h100"));
  PlannerOptions options;
  options.gpus = 8;
  options.workload = workload(8, 3584, 512);
  auto start = std::chrono::steady_clock::now();
  PlanResult result = take(planSharding(model.get(), h100, options));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_LT(seconds, 3.0) << "planning 70B over 8 GPUs took " << seconds;
  ASSERT_NE(result.best(), nullptr);
  EXPECT_EQ(result.best()->spec.str(), "tp8");
  EXPECT_EQ(result.plans.size(), 35u);
  bool sawMemory = false, sawNoExperts = false;
  for (const PlanCandidate &plan : result.plans) {
    if (plan.spec.str() == "dp8") {
      EXPECT_FALSE(plan.fits);
      sawMemory = plan.reason.find("out of memory") != std::string::npos;
    }
    if (plan.spec.str() == "ep8")
      sawNoExperts =
          plan.reason.find("mixture-of-experts") != std::string::npos;
  }
  EXPECT_TRUE(sawMemory);
  EXPECT_TRUE(sawNoExperts);
}

TEST(Planner, CrossNodeTensorParallelismIsRejected) {
  Model model("llama-3.1-70b");
  HardwareSpec h100 = take(HardwareDatabase::builtin().lookup("h100"));
  PlannerOptions options;
  options.gpus = 16;
  options.workload = workload(16, 1024, 128);
  PlanResult result = take(planSharding(model.get(), h100, options));
  bool found = false;
  for (const PlanCandidate &plan : result.plans)
    if (plan.spec.str() == "tp16") {
      found = true;
      EXPECT_FALSE(plan.fits);
      EXPECT_NE(plan.reason.find("spans 2 nodes"), std::string::npos)
          << plan.reason;
    }
  EXPECT_TRUE(found);
  ASSERT_NE(result.best(), nullptr);
  EXPECT_EQ(result.best()->spec.degree(Axis::tp), 8);
}

TEST(Planner, NothingFits) {
  Model model("llama-3.1-70b");
  HardwareSpec a100 = take(HardwareDatabase::builtin().lookup("a100-40g"));
  PlannerOptions options;
  options.gpus = 2;
  PlanResult result = take(planSharding(model.get(), a100, options));
  EXPECT_EQ(result.best(), nullptr);
  EXPECT_NE(summarizeNoFit(result).find("no plan for 2 x a100-40g fits"),
            std::string::npos)
      << summarizeNoFit(result);
}

TEST(Planner, HugeGpuCountsNeitherOverflowNorHang) {
  // Issue 15, item 1: tp*pp*ep*sp overflowed to 0 for 2^16 GPUs (SIGFPE).
  // Ordered factorisations of 2^16 into 5 factors: C(16 + 4, 4) = 4845.
  EXPECT_EQ(enumerateSpecs(65536).size(), 4845u);
  for (const ShardSpec &spec : enumerateSpecs(65536))
    ASSERT_EQ(spec.numRanks(), 65536);
  HardwareSpec h100 = take(HardwareDatabase::builtin().lookup("h100"));
  EXPECT_EQ(take(makeTopology(h100, kMaxPlannerGpus, 0)).nodes(), 8192);
  std::string refusal =
      message(makeTopology(h100, int64_t(1) << 32, 0).takeError());
  EXPECT_NE(refusal.find("at most 65536 GPUs"), std::string::npos) << refusal;
}

TEST(Planner, ContextBeyondMaxPositionsIsRefused) {
  // Issue 15, item 9: llm-run and llm-compile refuse such lengths.
  Model model("llama-3.2-1b"); // 131072 positions
  HardwareSpec h100 = take(HardwareDatabase::builtin().lookup("h100"));
  PlannerOptions options;
  options.gpus = 1;
  options.workload = workload(1, 200000, 256);
  std::string refusal =
      message(planSharding(model.get(), h100, options).takeError());
  EXPECT_NE(refusal.find("needs 200256 positions, but the model has 131072 "
                         "(max_position_embeddings)"),
            std::string::npos)
      << refusal;
  // The default workload shrinks its prompt for a short model.
  Model tiny("tiny/tiny-mistral"); // 512 positions
  Workload w = defaultWorkload(tiny.get());
  EXPECT_EQ(w.context(), 512);
  EXPECT_EQ(w.outputLen, 64);
}

TEST(CostModel, SlidingWindowLayersCacheOnlyTheWindow) {
  // tiny-mistral: 4 layers, 2 kv heads of 8, window 16. A context of 40
  // positions caches 16 per layer, not 40.
  Model model("tiny/tiny-mistral");
  CostReport cost = model.cost("", workload(2, 32, 8), 1);
  EXPECT_DOUBLE_EQ(cost.kvCacheBytesPerGpu,
                   cost::kvCacheBytes(2, 16, 4, 2, 8, 2));
  // Within the window the whole context is cached.
  CostReport shortCost = model.cost("", workload(2, 8, 4), 1);
  EXPECT_DOUBLE_EQ(shortCost.kvCacheBytesPerGpu,
                   cost::kvCacheBytes(2, 12, 4, 2, 8, 2));
}

TEST(CostModel, PerGpuFiguresAreTheBusiestStagesParts) {
  // Issue 15, item 10: the weights, KV and activation columns come from
  // one stage, so they add up to the total.
  Model model("llama-3.1-70b");
  CostReport cost = model.cost("pp4", workload(8, 2048, 256), 4);
  EXPECT_DOUBLE_EQ(cost.weightBytesPerGpu + cost.kvCacheBytesPerGpu +
                       cost.activationBytesPerGpu,
                   cost.totalBytesPerGpu);
  double largest = 0;
  for (const StageCost &stage : cost.stages)
    largest = std::max(largest, stage.totalBytes());
  EXPECT_DOUBLE_EQ(cost.totalBytesPerGpu, largest);
}

TEST(CostModel, PipelineStagesBalancedByExpertLocalBytes) {
  // Issue 15, item 5: a 24-layer, 60-expert Qwen2-MoE at ep4,pp4 got
  // stages of 2.80/2.18/2.18/2.80 GB when the split counted every expert on
  // every rank; by ep-local bytes the largest stage is at most 2.54 GB.
  Model model("qwen1.5-moe-a2.7b");
  CostReport cost = model.cost("ep4,pp4", workload(4, 128, 16), 16);
  ASSERT_EQ(cost.stages.size(), 4u);
  double largest = 0;
  for (const StageCost &stage : cost.stages)
    largest = std::max(largest, stage.weightBytes);
  EXPECT_LE(largest, 2.54e9);
}

/// One planning problem of docs/planner.md or of the tests above.
struct PlanCase {
  const char *model;
  const char *hardware;
  int64_t gpus, nodes, batch, prompt, output;
  Objective objective;
};

TEST(Planner, AnalyticSearchChoosesTheExhaustivePlan) {
  // Issue 15, item 2: the analytic search shards only the best few
  // candidates by estimate; its choice must be the exhaustive search's.
  const PlanCase cases[] = {
      // docs/planner.md's three case studies.
      {"llama-3.1-70b", "h100", 8, 0, 8, 3584, 512, Objective::Latency},
      {"mixtral-8x7b", "h100", 16, 2, 256, 1024, 256, Objective::Throughput},
      {"small/llama-2-7b-128k", "a100-40g", 4, 0, 1, 129024, 2048,
       Objective::Latency},
      // The planner tests above.
      {"llama-3.1-70b", "h100", 16, 0, 16, 1024, 128, Objective::Latency},
      {"llama-3.1-70b", "a100-40g", 2, 0, 1, 2048, 256, Objective::Latency},
      // MoE with many experts, tied embeddings, throughput with pp.
      {"qwen2-57b-a14b", "h100", 8, 0, 64, 1024, 128, Objective::Throughput},
      {"qwen1.5-moe-a2.7b", "h100", 16, 0, 32, 512, 64, Objective::Latency},
      {"llama-3.2-1b", "h100", 4, 0, 1, 2048, 256, Objective::Latency},
      {"mixtral-8x7b", "h100", 8, 0, 1, 2048, 256, Objective::Latency},
  };
  for (const PlanCase &c : cases) {
    SCOPED_TRACE(
        llvm::formatv("{0} on {1} x {2}", c.model, c.gpus, c.hardware).str());
    Model model(c.model);
    HardwareSpec hw = take(HardwareDatabase::builtin().lookup(c.hardware));
    PlannerOptions options;
    options.gpus = c.gpus;
    options.nodes = c.nodes;
    options.workload = workload(c.batch, c.prompt, c.output);
    options.objective = c.objective;
    PlanResult analytic = take(planSharding(model.get(), hw, options));
    options.exhaustive = true;
    PlanResult exhaustive = take(planSharding(model.get(), hw, options));
    ASSERT_EQ(analytic.plans.size(), exhaustive.plans.size());
    ASSERT_EQ(analytic.best() == nullptr, exhaustive.best() == nullptr);
    if (!exhaustive.best())
      continue;
    EXPECT_EQ(analytic.best()->spec.str(), exhaustive.best()->spec.str());
    EXPECT_FALSE(analytic.best()->estimated);
    EXPECT_DOUBLE_EQ(analytic.best()->cost->endToEndSeconds,
                     exhaustive.best()->cost->endToEndSeconds);
    size_t sharded = 0;
    for (const PlanCandidate &plan : analytic.plans)
      sharded += plan.cost && !plan.estimated;
    EXPECT_LT(sharded, analytic.plans.size());
  }
}

} // namespace
