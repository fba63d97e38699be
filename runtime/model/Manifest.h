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
#include "runtime/plan/Grid.h"
#include "runtime/weights/Slice.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace llmc::rt {

/// The manifest "format" this runtime reads and writes (2: weights carry
/// their role, the manifest lists its attention layers and the MoE top-k).
constexpr int64_t kManifestFormat = 2;

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
  /// Experts each token is routed to (llm.moe_router's top_k); 0 for a
  /// dense model.
  int64_t moeTopK = 0;
};

/// "plan": the device grid and how the batch is split over it (rt::Grid:
/// ranks numbered row-major over `shape`, last axis fastest, as in the
/// compiler and the CPU reference executor), plus its spec as text.
struct ManifestPlan : Grid {
  std::string spec; ///< canonical spec, e.g. "tp2,pp2" (Grid::specText())
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
  /// "bf16", or "f8e4m3": E4M3 codes plus one fp32 scale per (position,
  /// kv head) of K and of V (docs/quantization.md).
  std::string dtype = "bf16";
  /// Per pipeline stage, the slots [first, end) its ranks hold.
  std::vector<std::pair<int64_t, int64_t>> slotsPerStage;

  bool fp8() const { return dtype == "f8e4m3"; }
  /// Device bytes of one kv head's K (or V) at one position.
  uint64_t bytesPerVector() const {
    return fp8() ? uint64_t(headDim) + 4 : uint64_t(headDim) * 2;
  }
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
  /// Decode attention: enough flash-decoding splits of the context for this
  /// many blocks per SM (1..64; optional, manifests without it get 2).
  int64_t attentionBlocksPerSm = 2;
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

/// What a weight does, from the op that reads it in the compiler's IR (so
/// the runtime never interprets checkpoint names).
enum class WeightRole {
  Embedding,  ///< llm.embedding's table (also the lm head when tied)
  LmHead,     ///< llm.lm_head's matrix
  Router,     ///< llm.moe_router's gate (fp32 logits)
  Expert,     ///< a weight of llm.experts (grouped GEMM)
  Projection, ///< any other matrix (cuBLASLt)
  Vector,     ///< 1-D: norms, biases
};
/// "embedding", "lm_head", "router", "expert", "projection", "vector".
const char *weightRoleName(WeightRole role);
/// The role called `name`, or nullopt.
std::optional<WeightRole> parseWeightRole(const std::string &name);

/// One entry of "attention": an attention layer of the rank program, with
/// the head counts each rank computes (after tensor parallelism).
struct ManifestAttention {
  int64_t cacheSlot = 0; ///< its KV cache slot (global layer index)
  int64_t heads = 0;     ///< query heads per rank
  int64_t kvHeads = 0;   ///< key/value heads per rank
  int64_t headDim = 0;
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
  WeightRole role = WeightRole::Projection;
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
  /// One entry per attention layer, in cache-slot order.
  std::vector<ManifestAttention> attention;
  std::vector<ManifestWeight> weights;
  /// Per-rank scratch arena for one forward call.
  uint64_t arenaBytes = 0;
  /// Of which, per sequence of the call (the largest stage's buffers after
  /// lastToken); what one more sequence than cacheBatch() costs (serve's
  /// flat steps run more). 0: not recorded (older manifests).
  uint64_t arenaBytesPerSequence = 0;

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
  /// The attention layer of cache slot `slot`, or null.
  const ManifestAttention *attentionOfSlot(int64_t slot) const;
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
