//===- ShardSpec.h - the --shard=SPEC grammar ---------------------*- C++ -*-===//
//
// SPEC is `auto` or a comma list of tpN, ppN, epN, spN, dpN (order free, each
// axis at most once, N >= 1). Degree-1 axes may be written and are omitted
// when a spec is printed.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES_SHARDSPEC_H
#define LLMC_PASSES_SHARDSPEC_H

#include "runtime/plan/Grid.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <string>

namespace llmc {

/// Parallelism axes, in grid order from outermost to innermost: tensor
/// parallelism is innermost so its ranks share NVLink, pipeline outermost so
/// its point-to-point transfers may cross nodes. The values index
/// rt::kGridAxes, the one list of axis names in grid order.
enum class Axis { dp = 0, pp = 1, ep = 2, sp = 3, tp = 4 };
constexpr int kNumAxes = rt::kNumGridAxes;

/// Name of an axis as written in specs and grid attributes ("tp", ...).
llvm::StringRef axisName(Axis axis);

/// A parsed --shard value.
struct ShardSpec {
  bool isAuto = false;
  std::array<int64_t, kNumAxes> degrees = {1, 1, 1, 1, 1};

  int64_t degree(Axis axis) const { return degrees[static_cast<int>(axis)]; }
  void setDegree(Axis axis, int64_t d) { degrees[static_cast<int>(axis)] = d; }
  /// Number of GPUs the plan uses (product of degrees).
  int64_t numRanks() const;
  /// The grid of this plan (its axes of degree > 1, in grid order).
  rt::Grid grid() const { return rt::Grid::ofDegrees(degrees); }
  /// Canonical text, e.g. "tp4,pp2"; degree-1 axes omitted, "" for one GPU,
  /// "auto" for auto. Axes print in the order tp, sp, ep, pp, dp.
  std::string str() const;
};

/// Parses SPEC; the error names the offending element and the rule.
llvm::Expected<ShardSpec> parseShardSpec(llvm::StringRef spec);

} // namespace llmc

#endif // LLMC_PASSES_SHARDSPEC_H
