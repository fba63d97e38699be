//===- Manifest.cpp - manifest.json reader, validator and writer ----------===//
//
// Part of llmc's runtime: plain C++17, no CUDA. nlohmann-json is used only
// through its non-throwing entry points (as in runtime/weights), so the
// reader behaves the same in targets built with or without exceptions and
// never crashes on malformed input: types are checked before every get(),
// nesting depth and sizes are bounded before anything is allocated from them.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace llmc::rt {

using json = nlohmann::json;

std::string manifestSchemaVersion() { return std::to_string(kManifestFormat); }

//===----------------------------------------------------------------------===//
// Per-rank queries
//===----------------------------------------------------------------------===//

bool Manifest::rankLoads(int64_t rank, size_t index) const {
  const ManifestWeight &w = weights[index];
  int64_t stage = plan.stageOf(rank);
  if (std::find(w.stages.begin(), w.stages.end(), stage) == w.stages.end())
    return false;
  if (w.owner && plan.coordinate(rank, w.owner->axis) != w.owner->coord)
    return false;
  return true;
}

std::optional<Slice> Manifest::sliceFor(int64_t rank, size_t index) const {
  const ManifestWeight &w = weights[index];
  if (!w.slice)
    return std::nullopt;
  int64_t c = plan.coordinate(rank, w.slice->axis);
  return Slice{w.slice->dim, w.slice->offsets[size_t(c)], w.slice->size};
}

uint64_t Manifest::weightBytes(size_t index) const {
  const std::string &dtype = weights[index].dtype;
  uint64_t bytes = dtype == "f8e4m3" ? 1 : dtype == "f32" ? 4 : 2;
  return uint64_t(numElements(weights[index].shape)) * bytes;
}

int64_t Manifest::weightIndex(const std::string &name) const {
  for (size_t i = 0; i < weights.size(); ++i)
    if (weights[i].name == name)
      return int64_t(i);
  return -1;
}

uint64_t Manifest::rankWeightBytes(int64_t rank) const {
  uint64_t total = 0;
  for (size_t i = 0; i < weights.size(); ++i)
    if (rankLoads(rank, i))
      total += weightBytes(i);
  return total;
}

std::pair<int64_t, int64_t> Manifest::slotsOf(int64_t rank) const {
  int64_t stage = plan.stageOf(rank);
  if (stage < int64_t(kvCache.slotsPerStage.size()))
    return kvCache.slotsPerStage[size_t(stage)];
  return {0, 0};
}

int64_t Manifest::cacheBatch() const {
  int64_t replicas = plan.numReplicas();
  return (limits.maxBatch + replicas - 1) / replicas;
}

const ManifestAttention *Manifest::attentionOfSlot(int64_t slot) const {
  for (const ManifestAttention &a : attention)
    if (a.cacheSlot == slot)
      return &a;
  return nullptr;
}

namespace {
constexpr std::pair<WeightRole, const char *> kWeightRoles[] = {
    {WeightRole::Embedding, "embedding"},   {WeightRole::LmHead, "lm_head"},
    {WeightRole::Router, "router"},         {WeightRole::Expert, "expert"},
    {WeightRole::Projection, "projection"}, {WeightRole::Vector, "vector"},
};
} // namespace

const char *weightRoleName(WeightRole role) {
  for (auto [r, name] : kWeightRoles)
    if (r == role)
      return name;
  return "projection";
}

std::optional<WeightRole> parseWeightRole(const std::string &name) {
  for (auto [role, n] : kWeightRoles)
    if (name == n)
      return role;
  return std::nullopt;
}

uint64_t Manifest::rankCacheBytes(int64_t rank) const {
  auto [first, end] = slotsOf(rank);
  uint64_t perSlot = uint64_t(cacheBatch()) * uint64_t(kvCache.kvHeads) *
                     uint64_t(limits.maxSeq) * kvCache.bytesPerVector();
  return uint64_t(end - first) * 2 * perSlot; // K and V
}

//===----------------------------------------------------------------------===//
// JSON field readers
//===----------------------------------------------------------------------===//

namespace {

/// Deepest nesting a manifest needs is 4 (weights[i].slice.offsets); this
/// bound keeps hostile inputs from exhausting the stack anywhere.
constexpr int kMaxDepth = 32;
/// A manifest of a 1000-layer MoE model is a few MB; 1 GiB is corrupt.
constexpr size_t kMaxManifestBytes = size_t(1) << 30;
/// Generous bounds that keep every product below 2^62.
constexpr int64_t kMaxRanks = kMaxGridRanks;
constexpr size_t kMaxDims = 8;
constexpr int64_t kMaxElements = int64_t(1) << 60;

const char *typeName(const json &v) {
  switch (v.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::object:
    return "an object";
  case json::value_t::array:
    return "an array";
  case json::value_t::string:
    return "a string";
  case json::value_t::boolean:
    return "a boolean";
  case json::value_t::number_float:
    return "a floating-point number";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "an integer";
  case json::value_t::binary:
    return "binary data";
  case json::value_t::discarded:
    break;
  }
  return "an invalid value";
}

/// Depth of bracket nesting outside strings; stops counting past the limit.
int nestingDepth(const std::string &text) {
  int depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"')
      inString = true;
    else if (c == '[' || c == '{')
      deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0)
      --depth;
    if (deepest > kMaxDepth)
      break;
  }
  return deepest;
}

/// Captures the parser's message for invalid JSON without exceptions.
struct ErrorCapture : nlohmann::json_sax<json> {
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &ex) override {
    message = ex.what();
    return false;
  }
};

/// Reads typed fields of one JSON object, naming each by its path.
class Reader {
public:
  Reader(const std::string &source) : source_(source) {}

  Status error(const std::string &path, const std::string &what) const {
    return Status::error(source_ + ": " + path + ": " + what);
  }

  Status object(const json &v, const std::string &path) const {
    if (!v.is_object())
      return error(path, std::string("must be an object, got ") + typeName(v));
    return Status::ok();
  }

  /// The member `key` of object `obj` (at `path`), or an error if missing.
  Status member(const json &obj, const std::string &path, const char *key,
                const json *&out) const {
    auto it = obj.find(key);
    if (it == obj.end())
      return error(join(path, key), "missing");
    out = &*it;
    return Status::ok();
  }

  Status integer(const json &v, const std::string &path, int64_t min,
                 int64_t max, int64_t &out) const {
    std::string range = max == std::numeric_limits<int64_t>::max()
                            ? ">= " + std::to_string(min)
                            : "in [" + std::to_string(min) + ", " +
                                  std::to_string(max) + "]";
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > uint64_t(std::numeric_limits<int64_t>::max()))
        return error(path, "must be an integer " + range + " that fits in "
                           "64 bits, got " + std::to_string(u));
      out = int64_t(u);
    } else if (v.is_number_integer()) {
      out = v.get<int64_t>();
    } else {
      return error(path,
                   std::string("must be an integer, got ") + typeName(v));
    }
    if (out < min || out > max)
      return error(path, "must be an integer " + range + ", got " +
                             std::to_string(out));
    return Status::ok();
  }

  Status integerField(const json &obj, const std::string &path,
                      const char *key, int64_t min, int64_t max,
                      int64_t &out) const {
    const json *v;
    if (Status s = member(obj, path, key, v); !s)
      return s;
    return integer(*v, join(path, key), min, max, out);
  }

  Status string(const json &v, const std::string &path, bool allowEmpty,
                std::string &out) const {
    if (!v.is_string())
      return error(path, std::string("must be a string, got ") + typeName(v));
    out = v.get<std::string>();
    if (!allowEmpty && out.empty())
      return error(path, "must not be empty");
    return Status::ok();
  }

  Status stringField(const json &obj, const std::string &path,
                     const char *key, bool allowEmpty,
                     std::string &out) const {
    const json *v;
    if (Status s = member(obj, path, key, v); !s)
      return s;
    return string(*v, join(path, key), allowEmpty, out);
  }

  Status array(const json &v, const std::string &path) const {
    if (!v.is_array())
      return error(path, std::string("must be an array, got ") + typeName(v));
    return Status::ok();
  }

  Status integerArray(const json &v, const std::string &path, int64_t min,
                      int64_t max, std::vector<int64_t> &out) const {
    if (Status s = array(v, path); !s)
      return s;
    out.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      int64_t x;
      if (Status s = integer(v[i], index(path, i), min, max, x); !s)
        return s;
      out.push_back(x);
    }
    return Status::ok();
  }

  Status integerArrayField(const json &obj, const std::string &path,
                           const char *key, int64_t min, int64_t max,
                           std::vector<int64_t> &out) const {
    const json *v;
    if (Status s = member(obj, path, key, v); !s)
      return s;
    return integerArray(*v, join(path, key), min, max, out);
  }

  Status stringArrayField(const json &obj, const std::string &path,
                          const char *key, std::vector<std::string> &out) const {
    const json *v;
    if (Status s = member(obj, path, key, v); !s)
      return s;
    std::string p = join(path, key);
    if (Status s = array(*v, p); !s)
      return s;
    out.clear();
    for (size_t i = 0; i < v->size(); ++i) {
      std::string x;
      if (Status s = string((*v)[i], index(p, i), false, x); !s)
        return s;
      out.push_back(std::move(x));
    }
    return Status::ok();
  }

  static std::string join(const std::string &path, const char *key) {
    return path.empty() ? std::string(key) : path + "." + key;
  }
  static std::string index(const std::string &path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

private:
  std::string source_;
};

constexpr int64_t kIntMax = std::numeric_limits<int64_t>::max();

#define LLMC_TRY(expr)                                                         \
  do {                                                                         \
    if (Status llmc_s_ = (expr); !llmc_s_)                                     \
      return llmc_s_;                                                          \
  } while (false)

Status readModel(const Reader &r, const json &root, ManifestModel &m) {
  const json *v;
  LLMC_TRY(r.member(root, "", "model", v));
  LLMC_TRY(r.object(*v, "model"));
  LLMC_TRY(r.stringField(*v, "model", "architecture", false, m.architecture));
  LLMC_TRY(r.integerField(*v, "model", "vocab_size", 1, kIntMax, m.vocabSize));
  LLMC_TRY(
      r.integerField(*v, "model", "hidden_size", 1, kIntMax, m.hiddenSize));
  LLMC_TRY(r.integerField(*v, "model", "num_layers", 0, kIntMax, m.numLayers));
  LLMC_TRY(r.integerArrayField(*v, "model", "eos_token_ids", 0, kIntMax,
                               m.eosTokenIds));
  LLMC_TRY(r.integerField(*v, "model", "max_position_embeddings", 1, kIntMax,
                          m.maxPositionEmbeddings));
  LLMC_TRY(r.integerField(*v, "model", "moe_top_k", 0, kIntMax, m.moeTopK));
  return Status::ok();
}

Status readAttention(const Reader &r, const json &v, const std::string &path,
                     ManifestAttention &a) {
  LLMC_TRY(r.object(v, path));
  LLMC_TRY(r.integerField(v, path, "cache_slot", 0, kIntMax, a.cacheSlot));
  LLMC_TRY(r.integerField(v, path, "heads", 1, kIntMax, a.heads));
  LLMC_TRY(r.integerField(v, path, "kv_heads", 1, kIntMax, a.kvHeads));
  LLMC_TRY(r.integerField(v, path, "head_dim", 1, kIntMax, a.headDim));
  return Status::ok();
}

Status readPlan(const Reader &r, const json &root, ManifestPlan &p) {
  const json *v;
  LLMC_TRY(r.member(root, "", "plan", v));
  LLMC_TRY(r.object(*v, "plan"));
  LLMC_TRY(r.stringField(*v, "plan", "spec", true, p.spec));
  LLMC_TRY(r.stringArrayField(*v, "plan", "axes", p.axes));
  LLMC_TRY(r.integerArrayField(*v, "plan", "shape", 1, kMaxRanks, p.shape));
  LLMC_TRY(r.integerField(*v, "plan", "microbatches", 1, kIntMax,
                          p.microbatches));
  LLMC_TRY(r.stringArrayField(*v, "plan", "batch_axes", p.batchAxes));
  const json *sp;
  LLMC_TRY(r.member(*v, "plan", "sequence_axis", sp));
  if (sp->is_null()) {
    p.sequenceAxis.reset();
  } else {
    std::string axis;
    LLMC_TRY(r.string(*sp, "plan.sequence_axis", false, axis));
    p.sequenceAxis = axis;
  }
  return Status::ok();
}

Status readTarget(const Reader &r, const json &root, ManifestTarget &t) {
  const json *v;
  LLMC_TRY(r.member(root, "", "target", v));
  LLMC_TRY(r.object(*v, "target"));
  LLMC_TRY(r.stringField(*v, "target", "arch", false, t.arch));
  LLMC_TRY(r.stringField(*v, "target", "name", false, t.name));
  return Status::ok();
}

Status readLimits(const Reader &r, const json &root, ManifestLimits &l) {
  const json *v;
  LLMC_TRY(r.member(root, "", "limits", v));
  LLMC_TRY(r.object(*v, "limits"));
  LLMC_TRY(r.integerField(*v, "limits", "max_batch", 1, kIntMax, l.maxBatch));
  LLMC_TRY(r.integerField(*v, "limits", "max_seq", 1, kIntMax, l.maxSeq));
  LLMC_TRY(r.integerField(*v, "limits", "max_tokens_per_step", 1, kIntMax,
                          l.maxTokensPerStep));
  return Status::ok();
}

/// "decode" is optional (manifests written before it keep the defaults).
Status readDecode(const Reader &r, const json &root, ManifestDecode &d) {
  auto it = root.find("decode");
  if (it == root.end())
    return Status::ok();
  LLMC_TRY(r.object(*it, "decode"));
  LLMC_TRY(r.integerField(*it, "decode", "stream_max_rows", 0, 32,
                          d.streamMaxRows));
  const json *pdl;
  LLMC_TRY(r.member(*it, "decode", "pdl", pdl));
  if (!pdl->is_boolean())
    return r.error("decode.pdl",
                   std::string("must be true or false, got ") +
                       typeName(*pdl));
  d.pdl = pdl->get<bool>();
  if (it->contains("attention_blocks_per_sm"))
    LLMC_TRY(r.integerField(*it, "decode", "attention_blocks_per_sm", 1, 64,
                            d.attentionBlocksPerSm));
  return Status::ok();
}

Status readKVCache(const Reader &r, const json &root, ManifestKVCache &k) {
  const json *v;
  LLMC_TRY(r.member(root, "", "kv_cache", v));
  LLMC_TRY(r.object(*v, "kv_cache"));
  LLMC_TRY(r.integerField(*v, "kv_cache", "num_slots", 0, kIntMax, k.numSlots));
  LLMC_TRY(r.integerField(*v, "kv_cache", "kv_heads", 0, kIntMax, k.kvHeads));
  LLMC_TRY(r.integerField(*v, "kv_cache", "head_dim", 0, kIntMax, k.headDim));
  LLMC_TRY(r.stringField(*v, "kv_cache", "dtype", false, k.dtype));
  const json *stages;
  LLMC_TRY(r.member(*v, "kv_cache", "slots_per_stage", stages));
  std::string path = "kv_cache.slots_per_stage";
  LLMC_TRY(r.array(*stages, path));
  k.slotsPerStage.clear();
  for (size_t i = 0; i < stages->size(); ++i) {
    std::vector<int64_t> range;
    std::string p = Reader::index(path, i);
    LLMC_TRY(r.integerArray((*stages)[i], p, 0, kIntMax, range));
    if (range.size() != 2)
      return r.error(p, "must be [first, end), got " +
                            std::to_string(range.size()) + " entries");
    k.slotsPerStage.emplace_back(range[0], range[1]);
  }
  return Status::ok();
}

Status readWeight(const Reader &r, const json &v, const std::string &path,
                  ManifestWeight &w) {
  LLMC_TRY(r.object(v, path));
  LLMC_TRY(r.stringField(v, path, "name", false, w.name));
  LLMC_TRY(r.stringField(v, path, "dtype", false, w.dtype));
  if (v.contains("scale"))
    LLMC_TRY(r.stringField(v, path, "scale", false, w.scale));
  LLMC_TRY(r.integerArrayField(v, path, "shape", 0, kIntMax, w.shape));
  LLMC_TRY(r.integerArrayField(v, path, "full_shape", 0, kIntMax, w.fullShape));

  const json *slice;
  LLMC_TRY(r.member(v, path, "slice", slice));
  if (slice->is_null()) {
    w.slice.reset();
  } else {
    std::string p = Reader::join(path, "slice");
    LLMC_TRY(r.object(*slice, p));
    ManifestSlice s;
    int64_t dim;
    LLMC_TRY(r.integerField(*slice, p, "dim", 0, int64_t(kMaxDims) - 1, dim));
    s.dim = int(dim);
    LLMC_TRY(r.integerField(*slice, p, "size", 0, kIntMax, s.size));
    LLMC_TRY(r.stringField(*slice, p, "axis", false, s.axis));
    LLMC_TRY(r.integerArrayField(*slice, p, "offsets", 0, kIntMax, s.offsets));
    w.slice = std::move(s);
  }

  const json *owner;
  LLMC_TRY(r.member(v, path, "owner", owner));
  if (owner->is_null()) {
    w.owner.reset();
  } else {
    std::string p = Reader::join(path, "owner");
    LLMC_TRY(r.object(*owner, p));
    ManifestOwner o;
    LLMC_TRY(r.stringField(*owner, p, "axis", false, o.axis));
    LLMC_TRY(r.integerField(*owner, p, "coord", 0, kIntMax, o.coord));
    w.owner = std::move(o);
  }
  LLMC_TRY(r.integerArrayField(v, path, "stages", 0, kIntMax, w.stages));
  std::string role;
  LLMC_TRY(r.stringField(v, path, "role", false, role));
  std::optional<WeightRole> parsed = parseWeightRole(role);
  if (!parsed)
    return r.error(Reader::join(path, "role"),
                   "'" + role +
                       "' is not a weight role (embedding, lm_head, router, "
                       "expert, projection or vector)");
  w.role = *parsed;
  return Status::ok();
}

/// An f8e4m3 weight is a matrix naming an f32 entry of one element or of
/// [rows, 1] (its local rows); only f8e4m3 weights name a scale.
Status checkFp8Scale(const Reader &r, const Manifest &m,
                     const ManifestWeight &w, const std::string &path) {
  std::string sp = Reader::join(path, "scale");
  if (w.dtype != "f8e4m3") {
    if (!w.scale.empty())
      return r.error(sp, "only f8e4m3 weights have a scale ('" + w.name +
                             "' is " + w.dtype + ")");
    return Status::ok();
  }
  if (w.shape.size() != 2)
    return r.error(Reader::join(path, "shape"),
                   "an f8e4m3 weight must be a matrix [out, in], got " +
                       shapeString(w.shape));
  int64_t i = m.weightIndex(w.scale);
  if (w.scale.empty() || i < 0)
    return r.error(sp, "'" + w.scale + "' of f8e4m3 weight '" + w.name +
                           "' is not a weight of the manifest");
  const ManifestWeight &s = m.weights[size_t(i)];
  int64_t n = numElements(s.shape);
  bool perChannel = s.shape.size() == 2 && s.shape[0] == w.shape[0] &&
                    s.shape[1] == 1;
  if (s.dtype != "f32" || (n != 1 && !perChannel))
    return r.error(sp, "'" + w.scale + "' (" + s.dtype + " " +
                           shapeString(s.shape) +
                           ") must be f32 of one element or [" +
                           std::to_string(w.shape[0]) + ", 1]");
  return Status::ok();
}

/// Element count of `shape`, or -1 when it exceeds kMaxElements.
int64_t boundedElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d == 0)
      return 0;
    if (n > kMaxElements / d)
      return -1;
    n *= d;
  }
  return n;
}

} // namespace

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

Status validateManifest(const Manifest &m, const std::string &source) {
  Reader r(source);
  if (m.format != kManifestFormat)
    return r.error("format", "format " + std::to_string(m.format) +
                                 " is not supported; this runtime reads "
                                 "format " +
                                 std::to_string(kManifestFormat) +
                                 " (rebuild the model with the matching "
                                 "llm-compile)");

  // model
  const ManifestModel &model = m.model;
  if (model.architecture.empty())
    return r.error("model.architecture", "must not be empty");
  if (model.vocabSize < 1)
    return r.error("model.vocab_size", "must be >= 1");
  if (model.hiddenSize < 1)
    return r.error("model.hidden_size", "must be >= 1");
  if (model.numLayers < 0)
    return r.error("model.num_layers", "must be >= 0");
  if (model.maxPositionEmbeddings < 1)
    return r.error("model.max_position_embeddings", "must be >= 1");
  for (size_t i = 0; i < model.eosTokenIds.size(); ++i)
    if (model.eosTokenIds[i] < 0 || model.eosTokenIds[i] >= model.vocabSize)
      return r.error(Reader::index("model.eos_token_ids", i),
                     "token id " + std::to_string(model.eosTokenIds[i]) +
                         " is outside the vocabulary of " +
                         std::to_string(model.vocabSize));

  // plan
  const ManifestPlan &plan = m.plan;
  if (std::optional<GridProblem> problem = plan.check())
    return r.error("plan." + problem->field, problem->message);

  // target
  if (m.target.arch.empty())
    return r.error("target.arch", "must not be empty");
  if (m.target.name.empty())
    return r.error("target.name", "must not be empty");

  // limits
  const ManifestLimits &limits = m.limits;
  if (limits.maxBatch < 1)
    return r.error("limits.max_batch", "must be >= 1");
  if (limits.maxSeq < 1)
    return r.error("limits.max_seq", "must be >= 1");
  if (limits.maxSeq > model.maxPositionEmbeddings)
    return r.error("limits.max_seq",
                   std::to_string(limits.maxSeq) +
                       " exceeds model.max_position_embeddings (" +
                       std::to_string(model.maxPositionEmbeddings) + ")");
  if (limits.maxTokensPerStep < 1)
    return r.error("limits.max_tokens_per_step", "must be >= 1");

  // kv_cache
  const ManifestKVCache &kv = m.kvCache;
  if (kv.numSlots < 0)
    return r.error("kv_cache.num_slots", "must be >= 0");
  if (kv.numSlots > 0 && kv.kvHeads < 1)
    return r.error("kv_cache.kv_heads", "must be >= 1 when there are slots");
  if (kv.numSlots > 0 && kv.headDim < 1)
    return r.error("kv_cache.head_dim", "must be >= 1 when there are slots");
  if (kv.kvHeads < 0 || kv.headDim < 0)
    return r.error(kv.kvHeads < 0 ? "kv_cache.kv_heads" : "kv_cache.head_dim",
                   "must be >= 0");
  if (kv.dtype != "bf16" && kv.dtype != "f8e4m3")
    return r.error("kv_cache.dtype", "'" + kv.dtype +
                                         "' is not supported (\"bf16\" or "
                                         "\"f8e4m3\")");
  int64_t stages = plan.numStages();
  if (int64_t(kv.slotsPerStage.size()) != stages)
    return r.error("kv_cache.slots_per_stage",
                   "has " + std::to_string(kv.slotsPerStage.size()) +
                       " entries but the plan has " + std::to_string(stages) +
                       " pipeline stage" + (stages == 1 ? "" : "s"));
  for (size_t i = 0; i < kv.slotsPerStage.size(); ++i) {
    auto [first, end] = kv.slotsPerStage[i];
    if (first < 0 || first > end || end > kv.numSlots)
      return r.error(Reader::index("kv_cache.slots_per_stage", i),
                     "[" + std::to_string(first) + ", " + std::to_string(end) +
                         ") is not a range inside [0, " +
                         std::to_string(kv.numSlots) + ")");
  }
  // Cache bytes per rank must be representable.
  {
    int64_t perSlot = boundedElements(
        {limits.maxBatch, kv.kvHeads, limits.maxSeq, kv.headDim,
         std::max<int64_t>(kv.numSlots, 1), 4});
    if (perSlot < 0)
      return r.error("kv_cache", "the cache size (max_batch x kv_heads x "
                                 "max_seq x head_dim x num_slots) overflows");
  }

  // attention
  std::set<int64_t> attentionSlots;
  for (size_t i = 0; i < m.attention.size(); ++i) {
    const ManifestAttention &a = m.attention[i];
    std::string path = Reader::index("attention", i);
    if (a.cacheSlot < 0 || a.cacheSlot >= std::max<int64_t>(kv.numSlots, 1))
      return r.error(Reader::join(path, "cache_slot"),
                     "slot " + std::to_string(a.cacheSlot) +
                         " is outside the " + std::to_string(kv.numSlots) +
                         " slots of kv_cache");
    if (!attentionSlots.insert(a.cacheSlot).second)
      return r.error(Reader::join(path, "cache_slot"),
                     "slot " + std::to_string(a.cacheSlot) +
                         " is listed twice");
    if (a.heads < 1 || a.kvHeads < 1 || a.heads % a.kvHeads != 0)
      return r.error(path, std::to_string(a.heads) +
                               " query heads do not form groups over " +
                               std::to_string(a.kvHeads) + " kv heads");
    if (a.headDim < 1)
      return r.error(Reader::join(path, "head_dim"), "must be >= 1");
  }

  // weights
  std::set<std::string> names;
  for (size_t i = 0; i < m.weights.size(); ++i) {
    const ManifestWeight &w = m.weights[i];
    std::string path = Reader::index("weights", i);
    if (w.name.empty())
      return r.error(Reader::join(path, "name"), "must not be empty");
    if (!names.insert(w.name).second)
      return r.error(Reader::join(path, "name"),
                     "'" + w.name + "' is listed twice");
    if (w.dtype != "bf16" && w.dtype != "f8e4m3" && w.dtype != "f32")
      return r.error(Reader::join(path, "dtype"),
                     "'" + w.dtype + "' is not supported (\"bf16\", "
                     "\"f8e4m3\" or \"f32\")");
    if (Status s = checkFp8Scale(r, m, w, path); !s)
      return s;
    if (w.shape.size() > kMaxDims)
      return r.error(Reader::join(path, "shape"),
                     "has more than " + std::to_string(kMaxDims) + " dims");
    if (w.fullShape.size() != w.shape.size())
      return r.error(Reader::join(path, "full_shape"),
                     shapeString(w.fullShape) + " and shape " +
                         shapeString(w.shape) + " of '" + w.name +
                         "' have different ranks");
    for (size_t d = 0; d < w.shape.size(); ++d)
      if (w.shape[d] < 0 || w.fullShape[d] < 0)
        return r.error(Reader::join(path, "shape"),
                       "dims must be non-negative");
    if (boundedElements(w.fullShape) < 0)
      return r.error(Reader::join(path, "full_shape"),
                     shapeString(w.fullShape) + " has too many elements");
    if (w.slice) {
      const ManifestSlice &s = *w.slice;
      std::string sp = Reader::join(path, "slice");
      if (s.dim < 0 || size_t(s.dim) >= w.shape.size())
        return r.error(Reader::join(sp, "dim"),
                       std::to_string(s.dim) + " is not a dim of '" + w.name +
                           "' " + shapeString(w.fullShape));
      if (plan.axisIndex(s.axis) < 0)
        return r.error(Reader::join(sp, "axis"),
                       "'" + s.axis + "' is not an axis of plan.axes");
      if (s.size != w.shape[size_t(s.dim)])
        return r.error(Reader::join(sp, "size"),
                       std::to_string(s.size) + " differs from shape[" +
                           std::to_string(s.dim) + "] = " +
                           std::to_string(w.shape[size_t(s.dim)]));
      int64_t degree = plan.degree(s.axis);
      if (int64_t(s.offsets.size()) != degree)
        return r.error(Reader::join(sp, "offsets"),
                       "has " + std::to_string(s.offsets.size()) +
                           " entries but axis '" + s.axis + "' has degree " +
                           std::to_string(degree));
      for (size_t c = 0; c < s.offsets.size(); ++c)
        if (s.offsets[c] < 0 ||
            s.offsets[c] > w.fullShape[size_t(s.dim)] - s.size)
          return r.error(Reader::index(Reader::join(sp, "offsets"), c),
                         "the block at offset " +
                             std::to_string(s.offsets[c]) + " of size " +
                             std::to_string(s.size) + " is outside dim " +
                             std::to_string(s.dim) + " of size " +
                             std::to_string(w.fullShape[size_t(s.dim)]));
      for (size_t d = 0; d < w.shape.size(); ++d)
        if (int(d) != s.dim && w.shape[d] != w.fullShape[d])
          return r.error(Reader::join(path, "shape"),
                         shapeString(w.shape) + " differs from full_shape " +
                             shapeString(w.fullShape) +
                             " outside the sliced dim " +
                             std::to_string(s.dim));
    } else if (w.shape != w.fullShape) {
      return r.error(Reader::join(path, "shape"),
                     shapeString(w.shape) + " differs from full_shape " +
                         shapeString(w.fullShape) +
                         " but the weight has no slice");
    }
    if (w.owner) {
      std::string op = Reader::join(path, "owner");
      if (plan.axisIndex(w.owner->axis) < 0)
        return r.error(Reader::join(op, "axis"),
                       "'" + w.owner->axis + "' is not an axis of plan.axes");
      int64_t degree = plan.degree(w.owner->axis);
      if (w.owner->coord < 0 || w.owner->coord >= degree)
        return r.error(Reader::join(op, "coord"),
                       std::to_string(w.owner->coord) +
                           " is outside axis '" + w.owner->axis +
                           "' of degree " + std::to_string(degree));
    }
    if (w.stages.empty())
      return r.error(Reader::join(path, "stages"),
                     "must list at least one pipeline stage");
    std::set<int64_t> seen;
    for (size_t j = 0; j < w.stages.size(); ++j) {
      if (w.stages[j] < 0 || w.stages[j] >= stages)
        return r.error(Reader::index(Reader::join(path, "stages"), j),
                       "stage " + std::to_string(w.stages[j]) +
                           " does not exist (the plan has " +
                           std::to_string(stages) + ")");
      if (!seen.insert(w.stages[j]).second)
        return r.error(Reader::index(Reader::join(path, "stages"), j),
                       "stage " + std::to_string(w.stages[j]) +
                           " is listed twice");
    }
  }
  if (m.arenaBytes > uint64_t(kIntMax))
    return r.error("arena_bytes", "is too large");
  if (m.arenaBytesPerSequence > m.arenaBytes)
    return r.error("arena_bytes_per_sequence",
                   "is " + std::to_string(m.arenaBytesPerSequence) +
                       ", more than arena_bytes " +
                       std::to_string(m.arenaBytes));
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

Expected<Manifest> parseManifest(const std::string &text,
                                 const std::string &source) {
  using E = Expected<Manifest>;
  Reader r(source);
  if (text.size() > kMaxManifestBytes)
    return E::fromError(Status::error(source + ": larger than 1 GiB; not a "
                                               "manifest"));
  if (nestingDepth(text) > kMaxDepth)
    return E::fromError(Status::error(
        source + ": nested deeper than " + std::to_string(kMaxDepth) +
        " levels; not a manifest"));
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    ErrorCapture capture;
    json::sax_parse(text, &capture, json::input_format_t::json,
                    /*strict=*/true);
    return E::fromError(Status::error(
        source + ": not valid JSON: " +
        (capture.message.empty() ? std::string("parse error")
                                 : capture.message)));
  }
  if (!root.is_object())
    return E::fromError(
        Status::error(source + ": must be a JSON object, got " +
                      typeName(root)));

  Manifest m;
  auto fail = [](Status s) { return E::fromError(std::move(s)); };
  if (Status s = r.integerField(root, "", "format", 0, kIntMax, m.format); !s)
    return fail(s);
  if (m.format != kManifestFormat)
    return fail(validateManifest(m, source));
  if (Status s = readModel(r, root, m.model); !s)
    return fail(s);
  if (Status s = readPlan(r, root, m.plan); !s)
    return fail(s);
  if (Status s = readTarget(r, root, m.target); !s)
    return fail(s);
  if (Status s = readLimits(r, root, m.limits); !s)
    return fail(s);
  if (Status s = readKVCache(r, root, m.kvCache); !s)
    return fail(s);
  if (Status s = readDecode(r, root, m.decode); !s)
    return fail(s);
  const json *attention;
  if (Status s = r.member(root, "", "attention", attention); !s)
    return fail(s);
  if (Status s = r.array(*attention, "attention"); !s)
    return fail(s);
  m.attention.resize(attention->size());
  for (size_t i = 0; i < attention->size(); ++i)
    if (Status s = readAttention(r, (*attention)[i],
                                 Reader::index("attention", i), m.attention[i]);
        !s)
      return fail(s);
  const json *weights;
  if (Status s = r.member(root, "", "weights", weights); !s)
    return fail(s);
  if (Status s = r.array(*weights, "weights"); !s)
    return fail(s);
  m.weights.resize(weights->size());
  for (size_t i = 0; i < weights->size(); ++i)
    if (Status s = readWeight(r, (*weights)[i], Reader::index("weights", i),
                              m.weights[i]);
        !s)
      return fail(s);
  int64_t arena;
  if (Status s = r.integerField(root, "", "arena_bytes", 0, kIntMax, arena);
      !s)
    return fail(s);
  m.arenaBytes = uint64_t(arena);
  // Optional: manifests written before it have none.
  if (root.contains("arena_bytes_per_sequence")) {
    int64_t perSeq;
    if (Status s = r.integerField(root, "", "arena_bytes_per_sequence", 0,
                                  kIntMax, perSeq);
        !s)
      return fail(s);
    m.arenaBytesPerSequence = uint64_t(perSeq);
  }
  if (Status s = validateManifest(m, source); !s)
    return fail(s);
  return m;
}

Expected<Manifest> readManifestFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Expected<Manifest>::fromError(
        Status::error(path + ": cannot open the manifest"));
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0 || uint64_t(size) > kMaxManifestBytes)
    return Expected<Manifest>::fromError(
        Status::error(path + ": cannot read the manifest (size)"));
  in.seekg(0, std::ios::beg);
  std::string text(size_t(size), '\0');
  if (!in.read(text.data(), size))
    return Expected<Manifest>::fromError(
        Status::error(path + ": cannot read the manifest"));
  return parseManifest(text, path);
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

Expected<std::string> writeManifest(const Manifest &m) {
  if (Status s = validateManifest(m, "manifest"); !s)
    return Expected<std::string>::fromError(s);
  // ordered_json keeps the documented key order, which makes manifests
  // diffable and the FileCheck tests of llm-compile readable.
  using ojson = nlohmann::ordered_json;
  ojson root;
  root["format"] = m.format;
  root["model"] = {{"architecture", m.model.architecture},
                   {"vocab_size", m.model.vocabSize},
                   {"hidden_size", m.model.hiddenSize},
                   {"num_layers", m.model.numLayers},
                   {"eos_token_ids", m.model.eosTokenIds},
                   {"max_position_embeddings", m.model.maxPositionEmbeddings},
                   {"moe_top_k", m.model.moeTopK}};
  ojson plan;
  plan["spec"] = m.plan.spec;
  plan["axes"] = m.plan.axes;
  plan["shape"] = m.plan.shape;
  plan["microbatches"] = m.plan.microbatches;
  plan["batch_axes"] = m.plan.batchAxes;
  plan["sequence_axis"] =
      m.plan.sequenceAxis ? ojson(*m.plan.sequenceAxis) : ojson(nullptr);
  root["plan"] = std::move(plan);
  root["target"] = {{"arch", m.target.arch}, {"name", m.target.name}};
  root["limits"] = {{"max_batch", m.limits.maxBatch},
                    {"max_seq", m.limits.maxSeq},
                    {"max_tokens_per_step", m.limits.maxTokensPerStep}};
  ojson slots = ojson::array();
  for (auto [first, end] : m.kvCache.slotsPerStage)
    slots.push_back({first, end});
  root["kv_cache"] = {{"num_slots", m.kvCache.numSlots},
                      {"kv_heads", m.kvCache.kvHeads},
                      {"head_dim", m.kvCache.headDim},
                      {"dtype", m.kvCache.dtype},
                      {"slots_per_stage", std::move(slots)}};
  root["decode"] = {{"stream_max_rows", m.decode.streamMaxRows},
                    {"pdl", m.decode.pdl},
                    {"attention_blocks_per_sm", m.decode.attentionBlocksPerSm}};
  ojson attention = ojson::array();
  for (const ManifestAttention &a : m.attention)
    attention.push_back({{"cache_slot", a.cacheSlot},
                         {"heads", a.heads},
                         {"kv_heads", a.kvHeads},
                         {"head_dim", a.headDim}});
  root["attention"] = std::move(attention);
  ojson weights = ojson::array();
  for (const ManifestWeight &w : m.weights) {
    ojson e;
    e["name"] = w.name;
    e["dtype"] = w.dtype;
    if (!w.scale.empty())
      e["scale"] = w.scale;
    e["shape"] = w.shape;
    e["full_shape"] = w.fullShape;
    if (w.slice)
      e["slice"] = {{"dim", w.slice->dim},
                    {"size", w.slice->size},
                    {"axis", w.slice->axis},
                    {"offsets", w.slice->offsets}};
    else
      e["slice"] = nullptr;
    if (w.owner)
      e["owner"] = {{"axis", w.owner->axis}, {"coord", w.owner->coord}};
    else
      e["owner"] = nullptr;
    e["stages"] = w.stages;
    e["role"] = weightRoleName(w.role);
    weights.push_back(std::move(e));
  }
  root["weights"] = std::move(weights);
  root["arena_bytes"] = m.arenaBytes;
  if (m.arenaBytesPerSequence > 0) // absent: not recorded
    root["arena_bytes_per_sequence"] = m.arenaBytesPerSequence;
  // Names are checkpoint tensor names (UTF-8 by the safetensors format);
  // replacing invalid bytes rather than throwing keeps the writer total.
  return root.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

Status writeManifestFile(const Manifest &m, const std::string &path) {
  Expected<std::string> text = writeManifest(m);
  if (!text)
    return text.status();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return Status::error(path + ": cannot create the manifest");
  out << *text;
  out.close();
  if (!out)
    return Status::error(path + ": cannot write the manifest");
  return Status::ok();
}

} // namespace llmc::rt
