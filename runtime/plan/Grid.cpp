//===- Grid.cpp - the device grid of a plan
//--------------------------------===//

#include "runtime/plan/Grid.h"

#include <algorithm>
#include <set>

namespace llmc::rt {

namespace {

/// Position of `name` in kGridAxes, or -1.
int gridOrder(const std::string &name) {
  for (int i = 0; i < kNumGridAxes; ++i)
    if (name == kGridAxes[size_t(i)])
      return i;
  return -1;
}

std::string indexed(const char *field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

std::string axisList() {
  std::string s;
  for (const char *axis : kGridAxes)
    s += (s.empty() ? "" : ", ") + std::string(axis);
  return s;
}

} // namespace

Grid Grid::ofDegrees(const std::array<int64_t, kNumGridAxes> &degrees) {
  Grid grid;
  for (int i = 0; i < kNumGridAxes; ++i)
    if (degrees[size_t(i)] > 1) {
      grid.axes.push_back(kGridAxes[size_t(i)]);
      grid.shape.push_back(degrees[size_t(i)]);
    }
  return grid;
}

std::string Grid::specText() const {
  std::string s;
  for (size_t i = axes.size(); i-- > 0;)
    if (shape[i] != 1)
      s += (s.empty() ? "" : ",") + axes[i] + std::to_string(shape[i]);
  return s;
}

int64_t Grid::numRanks() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int Grid::axisIndex(std::string_view name) const {
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] == name)
      return int(i);
  return -1;
}

int64_t Grid::degree(std::string_view name) const {
  int i = axisIndex(name);
  return i < 0 ? 1 : shape[size_t(i)];
}

std::vector<int64_t> Grid::coordinates(int64_t rank) const {
  std::vector<int64_t> coords(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    coords[i] = rank % shape[i];
    rank /= shape[i];
  }
  return coords;
}

int64_t Grid::coordinate(int64_t rank, std::string_view name) const {
  int i = axisIndex(name);
  return i < 0 ? 0 : coordinates(rank)[size_t(i)];
}

int64_t Grid::rankAt(const std::vector<int64_t> &coords) const {
  int64_t rank = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    rank = rank * shape[i] + coords[i];
  return rank;
}

std::vector<int> Grid::axisGroup(int64_t rank, int axis) const {
  return group(rank, {axis});
}

std::vector<int> Grid::group(int64_t rank,
                             const std::vector<int64_t> &groupAxes) const {
  std::vector<int64_t> coords = coordinates(rank);
  int64_t size = 1;
  for (int64_t a : groupAxes)
    size *= shape[size_t(a)];
  std::vector<int> members;
  members.reserve(size_t(size));
  for (int64_t i = 0; i < size; ++i) {
    int64_t rest = i;
    for (size_t j = groupAxes.size(); j-- > 0;) {
      size_t a = size_t(groupAxes[j]);
      coords[a] = rest % shape[a];
      rest /= shape[a];
    }
    members.push_back(int(rankAt(coords)));
  }
  return members;
}

int64_t Grid::numReplicas() const {
  int64_t n = 1;
  for (const std::string &axis : batchAxes)
    n *= degree(axis);
  return n;
}

int64_t Grid::replicaOf(int64_t rank) const {
  int64_t index = 0;
  for (const std::string &axis : batchAxes)
    index = index * degree(axis) + coordinate(rank, axis);
  return index;
}

int64_t Grid::sequenceDegree() const {
  return sequenceAxis ? degree(*sequenceAxis) : 1;
}

std::string Grid::coordinateString(int64_t rank) const {
  std::vector<int64_t> coords = coordinates(rank);
  std::string s;
  for (size_t i = 0; i < coords.size(); ++i)
    s += (i ? "," : "") + axes[i] + "=" + std::to_string(coords[i]);
  return s;
}

std::pair<int64_t, int64_t> sequenceBlock(int64_t len, int64_t degree,
                                          int64_t coord) {
  int64_t base = len / degree, extra = len % degree;
  return {coord * base + std::min(coord, extra), base + (coord < extra)};
}

std::optional<GridProblem> Grid::check() const {
  if (shape.size() != axes.size())
    return GridProblem{"shape", "has " + std::to_string(shape.size()) +
                                    " degrees but axes names " +
                                    std::to_string(axes.size()) + " axes"};
  int64_t ranks = 1;
  std::set<std::string> names;
  int previous = -1;
  for (size_t i = 0; i < axes.size(); ++i) {
    const std::string &axis = axes[i];
    if (axis.empty())
      return GridProblem{indexed("axes", i), "must not be empty"};
    if (!names.insert(axis).second)
      return GridProblem{indexed("axes", i),
                         "axis '" + axis + "' is named twice"};
    int order = gridOrder(axis);
    if (order < 0)
      return GridProblem{indexed("axes", i), "'" + axis +
                                                 "' is not a grid axis (one "
                                                 "of " +
                                                 axisList() + ")"};
    if (order < previous)
      return GridProblem{indexed("axes", i),
                         "'" + axis + "' comes after '" +
                             kGridAxes[size_t(previous)] +
                             "'; axes go outermost first: " + axisList()};
    previous = order;
    if (shape[i] < 1 || shape[i] > kMaxGridRanks)
      return GridProblem{indexed("shape", i),
                         "degree " + std::to_string(shape[i]) + " of axis '" +
                             axis + "' must be in [1, " +
                             std::to_string(kMaxGridRanks) + "]"};
    ranks *= shape[i];
    if (ranks > kMaxGridRanks)
      return GridProblem{"shape", "the grid has more than " +
                                      std::to_string(kMaxGridRanks) + " ranks"};
  }
  if (microbatches < 1)
    return GridProblem{"microbatches",
                       "must be >= 1, got " + std::to_string(microbatches)};
  std::set<std::string> batch;
  for (size_t i = 0; i < batchAxes.size(); ++i) {
    const std::string &axis = batchAxes[i];
    if (!names.count(axis))
      return GridProblem{indexed("batch_axes", i),
                         "'" + axis + "' is not an axis of the grid"};
    if (!batch.insert(axis).second)
      return GridProblem{indexed("batch_axes", i),
                         "axis '" + axis + "' is listed twice"};
    if (axis == kPipelineAxis)
      return GridProblem{indexed("batch_axes", i),
                         "the pipeline axis '" + axis +
                             "' cannot split the batch"};
  }
  if (sequenceAxis) {
    if (!names.count(*sequenceAxis))
      return GridProblem{"sequence_axis",
                         "'" + *sequenceAxis + "' is not an axis of the grid"};
    if (batch.count(*sequenceAxis))
      return GridProblem{"sequence_axis",
                         "'" + *sequenceAxis + "' also splits the batch"};
  }
  return std::nullopt;
}

} // namespace llmc::rt
