//===- FuzzManifest.cpp - libFuzzer target: manifest.json of binaries -----===//
//
// Any text is either refused by parseManifest with a message naming the
// source, or accepted; every per-rank query a deployable binary makes of an
// accepted manifest is then well-defined (coordinates round-trip, slices
// lie inside the checkpoint tensor, byte counts do not overflow), and the
// manifest writes back to text that parses to the same manifest.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "runtime/model/Manifest.h"

#include <algorithm>

using namespace llmc::rt;

namespace {

/// The queries DeviceRank makes when it sets a rank up.
void queryRank(const Manifest &m, int64_t rank) {
  const ManifestPlan &plan = m.plan;
  std::vector<int64_t> coords = plan.coordinates(rank);
  FUZZ_CHECK(plan.rankAt(coords) == rank, "coordinates do not round-trip");
  (void)plan.coordinateString(rank);
  for (size_t a = 0; a < plan.axes.size(); ++a) {
    std::vector<int> group = plan.axisGroup(rank, int(a));
    FUZZ_CHECK(int64_t(group.size()) == plan.shape[a], "axis group size");
    FUZZ_CHECK(group[size_t(coords[a])] == rank, "rank not in its group");
  }
  FUZZ_CHECK(plan.replicaOf(rank) < plan.numReplicas(), "replica index");
  FUZZ_CHECK(plan.stageOf(rank) < plan.numStages(), "stage index");
  for (size_t i = 0; i < m.weights.size(); ++i) {
    const ManifestWeight &w = m.weights[i];
    (void)m.rankLoads(rank, i);
    std::optional<Slice> slice = m.sliceFor(rank, i);
    if (slice) {
      Status s = checkSlice(w.fullShape, *slice);
      FUZZ_CHECK(s.isOk(), s.message().c_str());
      FUZZ_CHECK(slicedShape(w.fullShape, *slice) == w.shape,
                 "slice does not give the local shape");
    }
    (void)m.weightBytes(i);
  }
  (void)m.rankWeightBytes(rank);
  auto [first, end] = m.slotsOf(rank);
  FUZZ_CHECK(0 <= first && first <= end && end <= m.kvCache.numSlots,
             "kv slots of a rank");
  (void)m.cacheBatch();
  (void)m.rankCacheBytes(rank);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  Expected<Manifest> m = parseManifest(text, "manifest.json");
  if (!m.ok()) {
    FUZZ_CHECK(m.status().message().rfind("manifest.json", 0) == 0,
               m.status().message().c_str());
    return 0;
  }
  int64_t ranks = m->plan.numRanks();
  FUZZ_CHECK(ranks >= 1, "numRanks");
  // The first and last ranks (the grid may have up to 2^20).
  for (int64_t r = 0; r < std::min<int64_t>(ranks, 16); ++r)
    queryRank(*m, r);
  queryRank(*m, ranks - 1);

  Expected<std::string> written = writeManifest(*m);
  FUZZ_CHECK(written.ok(), written.status().message().c_str());
  Expected<Manifest> again = parseManifest(*written, "rewritten");
  FUZZ_CHECK(again.ok(), again.status().message().c_str());
  Expected<std::string> rewritten = writeManifest(*again);
  FUZZ_CHECK(rewritten.ok() && *rewritten == *written,
             "manifest does not round-trip through text");
  return 0;
}
