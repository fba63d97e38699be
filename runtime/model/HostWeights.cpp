//===- HostWeights.cpp - a rank's weights on the host, as bf16 ------------===//

#include "runtime/model/HostWeights.h"

#include "runtime/weights/DType.h"
#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <cstring>
#include <thread>

namespace llmc::rt {

namespace {

std::string rankList(const std::vector<int> &ranks) {
  std::string s;
  for (size_t i = 0; i < ranks.size() && i < 4; ++i)
    s += (i ? ", " : "") + std::to_string(ranks[i]);
  if (ranks.size() > 4)
    s += ", ...";
  return s;
}

} // namespace

std::vector<bool> weightsOfRank(const Manifest &m, int rank) {
  std::vector<bool> loaded(m.weights.size());
  for (size_t i = 0; i < m.weights.size(); ++i)
    loaded[i] = m.rankLoads(rank, i);
  return loaded;
}

Status checkCheckpoint(const Manifest &m, const Checkpoint &checkpoint,
                       const std::vector<int> &ranks) {
  for (size_t i = 0; i < m.weights.size(); ++i) {
    std::vector<int> users;
    for (int r : ranks)
      if (m.rankLoads(r, i))
        users.push_back(r);
    if (users.empty())
      continue;
    const ManifestWeight &w = m.weights[i];
    std::string who = "weight '" + w.name + "' (needed by rank" +
                      (users.size() > 1 ? "s " : " ") + rankList(users) + ")";
    if (w.dtype == "f32") // an FP8 weight's scale: checked with the weight
      continue;
    if (w.dtype == "f8e4m3") {
      Expected<Fp8WeightSpec> spec = fp8SpecOf(m, i);
      if (!spec)
        return spec.status();
      if (Status s = checkFp8Checkpoint(checkpoint, *spec); !s)
        return Status::error(who + ": " + s.message());
      continue;
    }
    const SafetensorsFile *file = nullptr;
    const TensorInfo *info = checkpoint.find(w.name, &file);
    if (!info)
      return Status::error(who + " is missing from the checkpoint");
    // The file holding the tensor, as the reader's own errors name it.
    std::string where = file ? file->path() + ": " : std::string();
    if (info->shape != w.fullShape)
      return Status::error(where + who + " has shape " +
                           shapeString(info->shape) +
                           " in the checkpoint but the binary was compiled "
                           "for " +
                           shapeString(w.fullShape) +
                           " (a different model or config?)");
    if (!isConvertibleToF32(info->dtype))
      return Status::error(where + who + " has dtype " +
                           dtypeName(info->dtype) +
                           ", which cannot be converted to bf16 (supported: "
                           "BF16, F16, F32, F64)");
  }
  return Status::ok();
}

Status hostWeightBf16(const Manifest &m, int rank, size_t index,
                      const Checkpoint *checkpoint, uint64_t seed,
                      uint16_t *out, int threads) {
  const ManifestWeight &w = m.weights[index];
  std::optional<Slice> slice = m.sliceFor(rank, index);
  int64_t n = numElements(w.shape);
  if (checkpoint) {
    const TensorInfo *info = checkpoint->find(w.name);
    if (!info)
      return Status::error("weight '" + w.name +
                           "' is missing from the checkpoint");
    if (info->dtype == DType::BF16)
      return checkpoint->readBytes(w.name, out, slice);
    std::vector<float> values(static_cast<size_t>(n));
    if (Status s = checkpoint->readF32(w.name, values.data(), slice); !s)
      return s;
    for (int64_t i = 0; i < n; ++i)
      out[i] = floatToBf16(values[size_t(i)]);
    return Status::ok();
  }

  // Random: element i of the block is element start + r * stride + j of the
  // full tensor (run r, offset j), exactly as fillRandom walks it.
  if (slice)
    if (Status s = checkSlice(w.fullShape, *slice); !s)
      return Status::error("weight '" + w.name + "': " + s.message());
  RandomTensorParams params(seed, w.name, w.fullShape);
  SliceRuns runs = sliceRuns(w.fullShape, slice ? &*slice : nullptr);
  auto fill = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t run = runs.length ? i / runs.length : 0;
      int64_t j = runs.length ? i % runs.length : 0;
      uint64_t flat = uint64_t(runs.start + run * runs.stride + j);
      out[i] = floatToBf16(params.value(flat));
    }
  };
  int parts = int(std::max<int64_t>(
      1, std::min<int64_t>(threads, n / (int64_t(1) << 16))));
  if (parts <= 1) {
    fill(0, n);
    return Status::ok();
  }
  std::vector<std::thread> pool;
  for (int p = 0; p < parts; ++p)
    pool.emplace_back(fill, n * p / parts, n * (p + 1) / parts);
  for (std::thread &t : pool)
    t.join();
  return Status::ok();
}

Expected<Fp8WeightSpec> fp8SpecOf(const Manifest &m, size_t index) {
  const ManifestWeight *w = &m.weights[index];
  if (w->dtype == "f32")
    for (const ManifestWeight &other : m.weights)
      if (other.dtype == "f8e4m3" && other.scale == w->name)
        w = &other;
  int64_t s = w->dtype == "f8e4m3" ? m.weightIndex(w->scale) : -1;
  if (s < 0)
    return Expected<Fp8WeightSpec>::fromError(
        Status::error("weight '" + m.weights[index].name +
                      "' is neither an f8e4m3 weight with a scale nor the "
                      "scale of one"));
  return Fp8WeightSpec{w->name, w->fullShape, w->scale,
                       m.weights[size_t(s)].fullShape};
}

Status hostWeightFp8(const Manifest &m, int rank, size_t index,
                     const Checkpoint *checkpoint, uint64_t seed, void *out) {
  Expected<Fp8WeightSpec> spec = fp8SpecOf(m, index);
  if (!spec)
    return spec.status();
  Fp8Source source{checkpoint, seed};
  std::optional<Slice> slice = m.sliceFor(rank, index);
  if (m.weights[index].dtype == "f8e4m3")
    return source.codes(*spec, slice, static_cast<uint8_t *>(out));
  return source.scales(*spec, slice, static_cast<float *>(out));
}

} // namespace llmc::rt
