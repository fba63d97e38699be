//===- Manifest.h - manifest.json of a compiled model -----------*- C++ -*-===//
//
// llm-compile writes DIR/manifest.json next to DIR/llm-model; the runtime
// reads it before touching a GPU. It names the model, the plan (grid axes and
// shape, micro-batches, batch and sequence axes), the target, the size limits
// the generated code was compiled for, the KV cache, and every weight with
// the slice each rank loads. docs/runtime.md documents the format; this
// reader is its single source of truth: the writer below emits exactly what
// the reader accepts, and every malformed input is reported as a Status that
// names the field (nothing here throws, aborts or trusts a size before it is
// checked).
//
// Plain C++17 (nlohmann-json), no CUDA: the compiler links it too.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_MODEL_MANIFEST_H
#define LLMC_RUNTIME_MODEL_MANIFEST_H

#include "runtime/abi/Status.h"
#include "runtime/weights/Slice.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace llmc::rt {

/// The manifest "format" this runtime reads and writes.
constexpr int64_t kManifestFormat = 1;

/// "1": the schema version of manifest.json as a string, for tools that
/// record which runtime a binary was built against.
std::string manifestSchemaVersion();

/// "model": facts about the model the runtime checks requests against.
struct ManifestModel {
  std::string architecture;           ///< e.g. "LlamaForCausalLM"
  int64_t vocabSize = 0;              ///< full (unsharded) vocabulary
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  std::vector<int64_t> eosTokenIds;   ///< may be empty
  int64_t maxPositionEmbeddings = 0;
};

/// "plan": the device grid and how the batch is split over it. Ranks are
/// numbered row-major over `shape` (last axis fastest), as in the compiler
/// and the CPU reference executor.
struct ManifestPlan {
  std::string spec;                   ///< canonical spec, e.g. "pp2,tp2"
  std::vector<std::string> axes;      ///< outermost first; empty: 1 rank
  std::vector<int64_t> shape;         ///< one degree per axis
  int64_t microbatches = 1;           ///< pipeline micro-batches
  std::vector<std::string> batchAxes; ///< axes that split the batch rows
  std::optional<std::string> sequenceAxis;

  /// Product of the degrees (1 for an empty grid).
  int64_t numRanks() const;
  /// Index of the axis called `name`, or -1.
  int axisIndex(const std::string &name) const;
  /// Degree of the named axis (1 when the grid lacks it).
  int64_t degree(const std::string &name) const;
  /// Coordinates of `rank`, one per axis.
  std::vector<int64_t> coordinates(int64_t rank) const;
  /// Coordinate of `rank` along the named axis (0 when absent).
  int64_t coordinate(int64_t rank, const std::string &name) const;
  /// The rank at `coords`.
  int64_t rankAt(const std::vector<int64_t> &coords) const;
  /// The ranks that differ from `rank` only along axis `axis`, ordered by
  /// their coordinate on it (so member index == coordinate).
  std::vector<int> axisGroup(int64_t rank, int axis) const;
  /// Number of batch replicas: product of the batch axes' degrees.
  int64_t numReplicas() const;
  /// `rank`'s replica: its batch-axis coordinates, first axis outermost.
  int64_t replicaOf(int64_t rank) const;
  /// Index of the pipeline axis ("pp"), or -1.
  int pipelineAxis() const { return axisIndex("pp"); }
  /// Number of pipeline stages (the pp degree, 1 without one).
  int64_t numStages() const { return degree("pp"); }
  /// `rank`'s pipeline stage.
  int64_t stageOf(int64_t rank) const { return coordinate(rank, "pp"); }
  /// "pp=1,tp=0" for messages ("" for an empty grid).
  std::string coordinateString(int64_t rank) const;
};

/// "target": what the binary was compiled for.
struct ManifestTarget {
  std::string arch; ///< e.g. "sm_90a"
  std::string name; ///< e.g. "h100"
};

/// "limits": the largest request the generated code and buffers allow.
struct ManifestLimits {
  int64_t maxBatch = 0;         ///< prompts per run, over all replicas
  int64_t maxSeq = 0;           ///< prompt + new tokens per sequence
  int64_t maxTokensPerStep = 0; ///< rows of one forward call on one rank
};

/// "kv_cache": the per-layer-slot K/V buffers.
struct ManifestKVCache {
  int64_t numSlots = 0; ///< global layer slots (attention layers)
  int64_t kvHeads = 0;  ///< kv heads per rank (after tensor parallelism)
  int64_t headDim = 0;
  std::string dtype = "bf16";
  /// Per pipeline stage, the slots [first, end) its ranks hold.
  std::vector<std::pair<int64_t, int64_t>> slotsPerStage;
};

/// "decode" (optional; these defaults when absent): how decode-sized
/// projections run, as llm-compile chose for the model and target
/// (`llm-compile --explain` prints the reasoning); the runtime applies it
/// before the first step.
struct ManifestDecode {
  /// Rows up to which projections use the weight-streaming tensor-core
  /// kernel (from 3; 1-2 rows take the scalar GEMV), at most 32; 0: never.
  int64_t streamMaxRows = 16;
  /// Programmatic dependent launch between the streaming kernels (sm_90).
  bool pdl = true;
};

/// "slice": rank with coordinate c along `axis` loads elements
/// [offsets[c], offsets[c] + size) of dimension `dim` of the full tensor.
struct ManifestSlice {
  int dim = 0;
  int64_t size = 0;
  std::string axis;
  std::vector<int64_t> offsets;
};

/// "owner": only ranks with coordinate `coord` along `axis` load the weight
/// (experts under expert parallelism).
struct ManifestOwner {
  std::string axis;
  int64_t coord = 0;
};

/// One entry of "weights"; generated code refers to it by its index.
struct ManifestWeight {
  std::string name;               ///< checkpoint tensor name
  /// dtype on the device: "bf16"; "f8e4m3" (an FP8 weight [out, in],
  /// E4M3 codes, with `scale`); "f32" (an FP8 weight's scales).
  std::string dtype = "bf16";
  /// f8e4m3 only: the name of its fp32 scale entry ([rows, 1] per output
  /// channel or one element per tensor, docs/quantization.md).
  std::string scale;
  std::vector<int64_t> shape;     ///< local (per-rank) shape
  std::vector<int64_t> fullShape; ///< shape in the checkpoint
  std::optional<ManifestSlice> slice;
  std::optional<ManifestOwner> owner;
  std::vector<int64_t> stages;    ///< pipeline stages that use it
};

/// A whole manifest.json.
struct Manifest {
  int64_t format = kManifestFormat;
  ManifestModel model;
  ManifestPlan plan;
  ManifestTarget target;
  ManifestLimits limits;
  ManifestKVCache kvCache;
  ManifestDecode decode;
  std::vector<ManifestWeight> weights;
  /// Per-rank scratch arena for one forward call.
  uint64_t arenaBytes = 0;

  /// Whether `rank` loads weight `index` (its stage uses it and, for an
  /// owned weight, it has the owner's coordinate).
  bool rankLoads(int64_t rank, size_t index) const;
  /// The slice of weight `index` that `rank` loads (nullopt: whole tensor).
  std::optional<Slice> sliceFor(int64_t rank, size_t index) const;
  /// Bytes of weight `index` on the device (local shape, its dtype).
  uint64_t weightBytes(size_t index) const;
  /// Index of the weight named `name`, or -1.
  int64_t weightIndex(const std::string &name) const;
  /// Sum of weightBytes over what `rank` loads.
  uint64_t rankWeightBytes(int64_t rank) const;
  /// KV slots [first, end) of `rank`'s stage.
  std::pair<int64_t, int64_t> slotsOf(int64_t rank) const;
  /// Sequences per rank's cache: ceil(max_batch / replicas).
  int64_t cacheBatch() const;
  /// Bytes of `rank`'s KV cache (K and V of every slot it holds).
  uint64_t rankCacheBytes(int64_t rank) const;
};

/// Parses and validates manifest JSON text. `source` names it in messages
/// (e.g. the file path). Every error names the field, e.g.
/// "manifest.json: weights[3].slice.offsets: has 2 entries but axis 'tp'
/// has degree 4".
Expected<Manifest> parseManifest(const std::string &text,
                                 const std::string &source = "manifest.json");

/// Reads and parses `path`.
Expected<Manifest> readManifestFile(const std::string &path);

/// Checks the cross-field rules of an in-memory manifest (what
/// parseManifest checks after the JSON types). `source` prefixes messages.
Status validateManifest(const Manifest &m,
                        const std::string &source = "manifest.json");

/// Serialises `m` (2-space indented JSON, keys in the documented order).
/// Fails when `m` does not pass validateManifest, so whatever is written
/// reads back.
Expected<std::string> writeManifest(const Manifest &m);

/// Writes writeManifest(m) to `path`.
Status writeManifestFile(const Manifest &m, const std::string &path);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_MODEL_MANIFEST_H
