//===- Grid.h - the device grid of a plan, shared by compiler and runtime -===//
//
// One description of a plan's device grid for everything that numbers ranks:
// the manifest the runtime reads, the CPU reference executor, the planner's
// cost model and (through the dist dialect's #dist.plan attribute, whose one
// conversion produces this type) the sharding passes. Ranks are numbered
// row-major over `shape` (last axis fastest); axes go outermost first in the
// order of kGridAxes, so tensor parallelism is innermost (NVLink
// neighbours) and the pipeline outermost but for data parallelism.
//
// Plain C++17, no dependencies: the bottom layer of the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_PLAN_GRID_H
#define LLMC_RUNTIME_PLAN_GRID_H

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmc::rt {

/// Number of kinds of parallelism a plan may use.
constexpr int kNumGridAxes = 5;

/// The axes a plan may use, in grid order (outermost first): data,
/// pipeline, expert, sequence, tensor parallelism. The one place this order
/// is written; the compiler's `Axis` enum indexes it.
inline constexpr std::array<const char *, kNumGridAxes> kGridAxes = {
    "dp", "pp", "ep", "sp", "tp"};

/// Name of the pipeline axis: its coordinate is a rank's stage.
inline constexpr const char *kPipelineAxis = "pp";

/// Upper bound on the ranks of a grid, far above any real cluster (and low
/// enough that products of degrees never overflow).
constexpr int64_t kMaxGridRanks = int64_t(1) << 20;

/// A rule a grid breaks: the field (e.g. "batch_axes[1]") and the message.
struct GridProblem {
  std::string field;
  std::string message;
};

/// The device grid of a plan and how it splits the batch and the sequence.
struct Grid {
  std::vector<std::string> axes;           ///< outermost first; empty: 1 rank
  std::vector<int64_t> shape;              ///< one degree per axis
  int64_t microbatches = 1;                ///< pipeline micro-batches
  std::vector<std::string> batchAxes;      ///< axes that split the batch rows
  std::optional<std::string> sequenceAxis; ///< axis that splits the sequence

  /// The grid of a plan given one degree per kGridAxes entry: the axes of
  /// degree > 1, in grid order.
  static Grid ofDegrees(const std::array<int64_t, kNumGridAxes> &degrees);

  /// Canonical spec text, innermost axis first ("tp4,pp2"; "" for 1 rank),
  /// as `--shard` prints it.
  std::string specText() const;
  /// Product of the degrees (1 for an empty grid).
  int64_t numRanks() const;
  /// Index of the axis called `name`, or -1.
  int axisIndex(std::string_view name) const;
  /// Degree of the named axis (1 when the grid lacks it).
  int64_t degree(std::string_view name) const;
  /// Coordinates of `rank`, one per axis.
  std::vector<int64_t> coordinates(int64_t rank) const;
  /// Coordinate of `rank` along the named axis (0 when absent).
  int64_t coordinate(int64_t rank, std::string_view name) const;
  /// The rank at `coords`.
  int64_t rankAt(const std::vector<int64_t> &coords) const;
  /// The ranks that differ from `rank` only along axis index `axis`,
  /// ordered by their coordinate on it (so member index == coordinate).
  std::vector<int> axisGroup(int64_t rank, int axis) const;
  /// The ranks that differ from `rank` only along the axis indices `axes`,
  /// ordered by their coordinates on them (the first listed most
  /// significant).
  std::vector<int> group(int64_t rank, const std::vector<int64_t> &axes) const;
  /// Number of batch replicas: product of the batch axes' degrees.
  int64_t numReplicas() const;
  /// `rank`'s replica: its batch-axis coordinates, first axis outermost.
  int64_t replicaOf(int64_t rank) const;
  /// Degree of the sequence axis (1 without one).
  int64_t sequenceDegree() const;
  /// Index of the pipeline axis, or -1.
  int pipelineAxis() const { return axisIndex(kPipelineAxis); }
  /// Number of pipeline stages (the pp degree, 1 without one).
  int64_t numStages() const { return degree(kPipelineAxis); }
  /// `rank`'s pipeline stage.
  int64_t stageOf(int64_t rank) const {
    return coordinate(rank, kPipelineAxis);
  }
  /// "pp=1,tp=0" for messages ("" for an empty grid).
  std::string coordinateString(int64_t rank) const;

  /// The first rule the grid breaks, or nullopt: axes named once each from
  /// kGridAxes in grid order, one degree in [1, kMaxGridRanks] per axis and
  /// at most kMaxGridRanks ranks, microbatches >= 1, batch axes distinct axes
  /// of the grid other than the pipeline axis, the sequence axis an axis of
  /// the grid that does not split the batch.
  std::optional<GridProblem> check() const;
};

/// The tokens of the sequence-parallel block `coord` of `len` prompt tokens
/// over `degree` ranks: [start, start + count). The first len % degree
/// ranks take one more token. The one statement of this rule: the runtime
/// and the CPU reference executor both split prompts with it.
std::pair<int64_t, int64_t> sequenceBlock(int64_t len, int64_t degree,
                                          int64_t coord);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_PLAN_GRID_H
