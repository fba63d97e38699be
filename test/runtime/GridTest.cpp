//===- GridTest.cpp - rt::Grid: ranks, groups, replicas, rules ------------===//

#include "runtime/plan/Grid.h"

#include <gtest/gtest.h>

using namespace llmc::rt;

namespace {

/// dp2 x pp2 x tp4: 16 ranks, tp fastest.
Grid dpPpTp() {
  Grid g;
  g.axes = {"dp", "pp", "tp"};
  g.shape = {2, 2, 4};
  g.batchAxes = {"dp"};
  return g;
}

TEST(Grid, OfDegreesKeepsGridOrderAndDropsDegreeOne) {
  // Degrees indexed like kGridAxes: dp, pp, ep, sp, tp.
  Grid g = Grid::ofDegrees({2, 1, 3, 1, 4});
  EXPECT_EQ(g.axes, (std::vector<std::string>{"dp", "ep", "tp"}));
  EXPECT_EQ(g.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(g.specText(), "tp4,ep3,dp2");
  EXPECT_EQ(Grid::ofDegrees({1, 1, 1, 1, 1}).specText(), "");
  EXPECT_EQ(Grid::ofDegrees({1, 1, 1, 1, 1}).numRanks(), 1);
  EXPECT_FALSE(g.check());
}

TEST(Grid, CoordinatesAndRankAtAreInverse) {
  Grid g = dpPpTp();
  EXPECT_EQ(g.numRanks(), 16);
  EXPECT_EQ(g.coordinates(13), (std::vector<int64_t>{1, 1, 1}));
  for (int64_t r = 0; r < g.numRanks(); ++r)
    EXPECT_EQ(g.rankAt(g.coordinates(r)), r);
  EXPECT_EQ(g.coordinate(13, "pp"), 1);
  EXPECT_EQ(g.coordinate(13, "ep"), 0); // absent axis
  EXPECT_EQ(g.degree("tp"), 4);
  EXPECT_EQ(g.degree("sp"), 1);
  EXPECT_EQ(g.axisIndex("pp"), 1);
  EXPECT_EQ(g.axisIndex("sp"), -1);
  EXPECT_EQ(g.coordinateString(13), "dp=1,pp=1,tp=1");
}

TEST(Grid, GroupsAlongAxes) {
  Grid g = dpPpTp();
  // tp group of rank 13: same dp and pp, every tp coordinate in order.
  EXPECT_EQ(g.axisGroup(13, 2), (std::vector<int>{12, 13, 14, 15}));
  // pp group: stride 4.
  EXPECT_EQ(g.axisGroup(13, 1), (std::vector<int>{9, 13}));
  // Two axes, the first listed most significant.
  EXPECT_EQ(g.group(1, {0, 1}), (std::vector<int>{1, 5, 9, 13}));
  EXPECT_EQ(g.group(1, {1, 0}), (std::vector<int>{1, 9, 5, 13}));
  EXPECT_EQ(g.group(7, {}), (std::vector<int>{7}));
}

TEST(Grid, StagesAndReplicas) {
  Grid g = dpPpTp();
  EXPECT_EQ(g.pipelineAxis(), 1);
  EXPECT_EQ(g.numStages(), 2);
  EXPECT_EQ(g.stageOf(5), 1);
  EXPECT_EQ(g.numReplicas(), 2);
  EXPECT_EQ(g.replicaOf(3), 0);
  EXPECT_EQ(g.replicaOf(8), 1);
  // dp then ep: replica index linearised with dp outermost.
  Grid moe;
  moe.axes = {"dp", "ep", "tp"};
  moe.shape = {2, 3, 2};
  moe.batchAxes = {"dp", "ep"};
  EXPECT_EQ(moe.numReplicas(), 6);
  EXPECT_EQ(moe.replicaOf(moe.rankAt({1, 2, 1})), 5);
  EXPECT_EQ(moe.replicaOf(moe.rankAt({0, 1, 0})), 1);
}

TEST(Grid, SequenceBlocks) {
  // 10 tokens over 4 ranks: 3, 3, 2, 2.
  EXPECT_EQ(sequenceBlock(10, 4, 0), (std::pair<int64_t, int64_t>{0, 3}));
  EXPECT_EQ(sequenceBlock(10, 4, 1), (std::pair<int64_t, int64_t>{3, 3}));
  EXPECT_EQ(sequenceBlock(10, 4, 2), (std::pair<int64_t, int64_t>{6, 2}));
  EXPECT_EQ(sequenceBlock(10, 4, 3), (std::pair<int64_t, int64_t>{8, 2}));
  Grid g;
  g.axes = {"sp"};
  g.shape = {4};
  EXPECT_EQ(g.sequenceDegree(), 1);
  g.sequenceAxis = "sp";
  EXPECT_EQ(g.sequenceDegree(), 4);
}

TEST(Grid, RulesNameTheFieldAndTheValue) {
  struct Case {
    void (*edit)(Grid &);
    const char *field;
    const char *message;
  };
  const Case cases[] = {
      {[](Grid &g) { g.shape.pop_back(); }, "shape", "2 degrees but axes"},
      {[](Grid &g) { g.axes[1] = ""; }, "axes[1]", "must not be empty"},
      {[](Grid &g) { g.axes[2] = "pp"; }, "axes[2]", "'pp' is named twice"},
      {[](Grid &g) { g.axes[0] = "xp"; }, "axes[0]", "'xp' is not a grid axis"},
      {[](Grid &g) { std::swap(g.axes[1], g.axes[2]); },
       "axes[2]",
       "'pp' comes after 'tp'"},
      {[](Grid &g) { g.shape[1] = 0; }, "shape[1]", "degree 0 of axis 'pp'"},
      {[](Grid &g) { g.shape = {1024, 1024, 4}; }, "shape", "more than"},
      {[](Grid &g) { g.microbatches = 0; }, "microbatches", ">= 1, got 0"},
      {[](Grid &g) { g.batchAxes = {"ep"}; },
       "batch_axes[0]",
       "'ep' is not an axis"},
      {[](Grid &g) { g.batchAxes = {"dp", "dp"}; },
       "batch_axes[1]",
       "listed twice"},
      {[](Grid &g) { g.batchAxes = {"pp"}; }, "batch_axes[0]", "pipeline"},
      {[](Grid &g) { g.sequenceAxis = "sp"; },
       "sequence_axis",
       "'sp' is not an axis"},
      {[](Grid &g) { g.sequenceAxis = "dp"; },
       "sequence_axis",
       "also splits the batch"},
  };
  ASSERT_FALSE(dpPpTp().check());
  for (const Case &c : cases) {
    Grid g = dpPpTp();
    c.edit(g);
    std::optional<GridProblem> problem = g.check();
    ASSERT_TRUE(problem) << c.field;
    EXPECT_EQ(problem->field, c.field);
    EXPECT_NE(problem->message.find(c.message), std::string::npos)
        << problem->message;
  }
}

} // namespace
