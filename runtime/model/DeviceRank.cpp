//===- DeviceRank.cpp - the runtime's implementation of Rank --------------===//

#include "runtime/model/DeviceRank.h"

#include "runtime/comm/CudaDeviceOps.h"
#include "runtime/comm/InProcessCommunicator.h"

#include <cstdio>
#include <cstdlib>
#include <limits>

namespace llmc::rt {

namespace {

constexpr size_t kAlign = 256;
constexpr size_t kNotLoaded = std::numeric_limits<size_t>::max();

size_t alignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f GiB", double(bytes) / (1u << 30));
  return buf;
}

} // namespace

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

DeviceBuffer::~DeviceBuffer() {
  if (data_)
    cudaFree(data_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept
    : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    if (data_)
      cudaFree(data_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

Status DeviceBuffer::allocate(size_t bytes, const std::string &what) {
  if (data_)
    cudaFree(data_);
  data_ = nullptr;
  size_ = 0;
  if (bytes == 0)
    return Status::ok();
  if (cudaError_t e = cudaMalloc(&data_, bytes)) {
    data_ = nullptr;
    size_t freeBytes = 0, total = 0;
    cudaMemGetInfo(&freeBytes, &total);
    return Status::error("cannot allocate " + gib(bytes) + " for " + what +
                         " (" + gib(freeBytes) + " free): " +
                         cudaGetErrorString(e));
  }
  size_ = bytes;
  return Status::ok();
}

PinnedBuffer::~PinnedBuffer() {
  if (data_)
    cudaFreeHost(data_);
}

Status PinnedBuffer::reserve(size_t bytes) {
  if (bytes <= size_ && data_)
    return Status::ok();
  if (data_)
    cudaFreeHost(data_);
  data_ = nullptr;
  size_ = 0;
  if (cudaError_t e = cudaMallocHost(&data_, std::max<size_t>(bytes, 64)))
    return Status::error(std::string("cannot allocate pinned host memory: ") +
                         cudaGetErrorString(e));
  size_ = std::max<size_t>(bytes, 64);
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Creation
//===----------------------------------------------------------------------===//

DeviceRank::DeviceRank(const Manifest &manifest, int rank)
    : manifest_(manifest), rank_(rank),
      coords_(manifest.plan.coordinates(rank)) {}

Expected<std::unique_ptr<DeviceRank>>
DeviceRank::create(const Manifest &manifest, int rank, size_t arenaBytes,
                   size_t workspaceBytes) {
  using E = Expected<std::unique_ptr<DeviceRank>>;
  std::unique_ptr<DeviceRank> r(new DeviceRank(manifest, rank));
  auto fail = [&](const std::string &msg) {
    return E::fromError(Status::error(r->describe() + ": " + msg));
  };
  if (cudaError_t e = cudaStreamCreateWithFlags(&r->stream_,
                                                cudaStreamNonBlocking))
    return fail(std::string("cudaStreamCreate: ") + cudaGetErrorString(e));
  if (cublasStatus_t s = cublasLtCreate(&r->lt_); s != CUBLAS_STATUS_SUCCESS)
    return fail("cublasLtCreate failed (status " + std::to_string(int(s)) +
                ")");
  if (Status s = r->workspace_.allocate(workspaceBytes, "the cuBLASLt "
                                                        "workspace");
      !s)
    return fail(s.message());
  if (Status s = r->arena_.allocate(alignUp(arenaBytes), "the step arena");
      !s)
    return fail(s.message());
  r->weightOffsets_.assign(manifest.weights.size(), kNotLoaded);
  return std::move(r);
}

DeviceRank::~DeviceRank() {
  if (stream_)
    cudaStreamSynchronize(stream_);
  axes_.clear();
  world_.reset();
  if (lt_)
    cublasLtDestroy(lt_);
  if (stream_)
    cudaStreamDestroy(stream_);
}

namespace {

/// The manifest of createStandaloneRank: one rank, no weights, no cache.
const Manifest &standaloneManifest() {
  static const Manifest m = [] {
    Manifest s;
    s.model.architecture = "standalone";
    s.model.vocabSize = 1;
    s.model.hiddenSize = 1;
    s.model.maxPositionEmbeddings = 1;
    s.plan.spec = "";
    s.target.arch = "native";
    s.target.name = "native";
    s.limits.maxBatch = 1;
    s.limits.maxSeq = 1;
    s.limits.maxTokensPerStep = 1;
    s.kvCache.slotsPerStage = {{0, 0}};
    return s;
  }();
  return m;
}

} // namespace

Expected<std::unique_ptr<DeviceRank>>
createStandaloneRank(size_t arenaBytes) {
  static InProcessWorld *world =
      new InProcessWorld(1, makeCudaDeviceOps(), defaultCommTimeoutSeconds());
  Expected<std::unique_ptr<DeviceRank>> r =
      DeviceRank::create(standaloneManifest(), 0, arenaBytes);
  if (!r)
    return r;
  Expected<std::unique_ptr<Communicator>> c =
      world->communicator(0, {0}, "world");
  if (!c)
    return Expected<std::unique_ptr<DeviceRank>>::fromError(c.status());
  (*r)->setCommunicators(std::move(*c), {});
  return r;
}

DeviceRank &deviceRank(Rank &r) {
  auto *d = dynamic_cast<DeviceRank *>(&r);
  if (!d)
    r.fail("this operation needs the runtime's DeviceRank");
  return *d;
}

//===----------------------------------------------------------------------===//
// Rank interface
//===----------------------------------------------------------------------===//

std::string DeviceRank::describe() const {
  std::string coords = manifest_.plan.coordinateString(rank_);
  return "rank " + std::to_string(rank_) +
         (coords.empty() ? "" : " (" + coords + ")");
}

int DeviceRank::worldSize() const { return int(manifest_.plan.numRanks()); }

int DeviceRank::coord(int axis) const {
  if (axis < 0 || size_t(axis) >= coords_.size())
    const_cast<DeviceRank *>(this)->fail(
        "coord: axis " + std::to_string(axis) + " is not an axis of the " +
        std::to_string(coords_.size()) + "-axis grid");
  return int(coords_[size_t(axis)]);
}

int DeviceRank::axisSize(int axis) const {
  if (axis < 0 || size_t(axis) >= coords_.size())
    const_cast<DeviceRank *>(this)->fail(
        "axisSize: axis " + std::to_string(axis) + " is not an axis of the " +
        std::to_string(coords_.size()) + "-axis grid");
  return int(manifest_.plan.shape[size_t(axis)]);
}

void *DeviceRank::arenaAlloc(size_t bytes) { return arenaAllocTyped(bytes, 2); }

void *DeviceRank::arenaAllocTyped(size_t bytes, size_t elementSize) {
  size_t need = alignUp(std::max<size_t>(bytes, 1));
  if (need > arena_.size() - arenaUsed_)
    fail("the step arena is exhausted: " + std::to_string(bytes) +
         " more bytes needed, " + std::to_string(arena_.size() - arenaUsed_) +
         " of " + std::to_string(arena_.size()) +
         " left (manifest arena_bytes; is the request larger than "
         "limits.max_tokens_per_step?)");
  char *p = static_cast<char *>(arena_.data()) + arenaUsed_;
  arenaUsed_ += need;
  typed_[uintptr_t(p)] = {need, elementSize};
  return p;
}

void DeviceRank::resetArena() {
  arenaUsed_ = 0;
  typed_.clear();
}

void DeviceRank::registerBuffer(const void *data, size_t bytes,
                                size_t elementSize) {
  registered_[uintptr_t(data)] = {bytes, elementSize};
}

size_t DeviceRank::elementSize(const void *data) const {
  uintptr_t p = uintptr_t(data);
  for (const auto *map : {&typed_, &registered_}) {
    auto it = map->upper_bound(p);
    if (it == map->begin())
      continue;
    --it;
    if (p < it->first + it->second.first)
      return it->second.second;
  }
  return 2;
}

Weight DeviceRank::weightAt(int index) {
  if (index < 0 || size_t(index) >= manifest_.weights.size())
    fail("weight index " + std::to_string(index) + " is not in the manifest (" +
         std::to_string(manifest_.weights.size()) + " weights)");
  const ManifestWeight &w = manifest_.weights[size_t(index)];
  if (weightOffsets_[size_t(index)] == kNotLoaded) {
    std::string stages;
    for (int64_t s : w.stages)
      stages += (stages.empty() ? "" : ", ") + std::to_string(s);
    fail("weight " + std::to_string(index) + " '" + w.name +
         "' is not loaded on this rank (stages [" + stages + "]" +
         (w.owner ? ", owner " + w.owner->axis + "=" +
                        std::to_string(w.owner->coord)
                  : std::string()) +
         ")");
  }
  Weight out;
  out.data = reinterpret_cast<const bf16 *>(
      static_cast<const char *>(weights_.data()) +
      weightOffsets_[size_t(index)]);
  if (w.shape.empty()) {
    out.rows = 1;
    out.cols = 1;
  } else {
    out.cols = w.shape.back();
    out.rows = 1;
    for (size_t d = 0; d + 1 < w.shape.size(); ++d)
      out.rows *= w.shape[d];
  }
  if (std::optional<Slice> s = manifest_.sliceFor(rank_, size_t(index)))
    out.offset = s->offset;
  if (w.dtype == "f8e4m3") {
    // Codes here, scales in the f32 entry the manifest links (loaded by
    // every rank that loads the weight: same stages and owner).
    out.fp8 = reinterpret_cast<const uint8_t *>(out.data);
    out.data = nullptr;
    int64_t s = manifest_.weightIndex(w.scale);
    Weight scale = weightAt(int(s));
    out.scale = reinterpret_cast<const float *>(scale.data);
    out.scaleCount = scale.rows * scale.cols;
  }
  return out;
}

CacheView DeviceRank::cache(int slot) {
  CacheView v;
  const ManifestKVCache &kv = manifest_.kvCache;
  // A paged cache has no rows: a call's sequences are bounded by what the
  // server sized its step buffers for.
  v.maxBatch = pagedBlockSize_ > 0 && pagedMaxBatch_ > 0
                   ? pagedMaxBatch_
                   : manifest_.cacheBatch();
  v.kvHeads = kv.kvHeads;
  v.maxSeq = manifest_.limits.maxSeq;
  v.headDim = kv.headDim;
  v.blockSize = pagedBlockSize_;
  v.numBlocks = pagedBlocks_;
  v.fp8 = kv.fp8();
  if (slot < slots_.first || slot >= slots_.second || !cache_.data())
    return v;
  // Positions (x kv heads) of one slot's K or V.
  size_t vectors = pagedBlockSize_ > 0
                       ? size_t(pagedBlocks_) * size_t(v.kvHeads) *
                             size_t(pagedBlockSize_)
                       : size_t(v.maxBatch) * size_t(v.kvHeads) *
                             size_t(v.maxSeq);
  size_t index = size_t(slot - slots_.first);
  char *base = static_cast<char *>(cache_.data());
  size_t bytes = vectors * size_t(v.headDim) * (v.fp8 ? 1 : 2);
  // Every slot's K and V, then (FP8) every slot's K and V scales: the
  // codes stay 16-byte aligned.
  v.k = base + index * 2 * bytes;
  v.v = base + index * 2 * bytes + bytes;
  if (v.fp8) {
    size_t slots = size_t(slots_.second - slots_.first);
    float *scales = reinterpret_cast<float *>(base + slots * 2 * bytes);
    v.kScale = scales + index * 2 * vectors;
    v.vScale = v.kScale + vectors;
  }
  return v;
}

Communicator &DeviceRank::comm() {
  if (!world_)
    fail("the rank has no communicator yet");
  return *world_;
}

void DeviceRank::fail(const std::string &message) {
  std::string full = "llm-model: error: " + describe() + ": " + message;
  std::fprintf(stderr, "%s\n", full.c_str());
  std::fflush(stderr);
  if (failHook_) {
    FailHook hook = std::move(failHook_);
    hook(full);
  }
  if (world_)
    world_->abort();
  std::fflush(stdout);
  // Other rank threads may be inside CUDA calls: leave without running
  // static destructors.
  std::_Exit(1);
}

//===----------------------------------------------------------------------===//
// Runtime side
//===----------------------------------------------------------------------===//

void DeviceRank::setCommunicators(
    std::unique_ptr<Communicator> world,
    std::vector<std::unique_ptr<Communicator>> axes) {
  world_ = std::move(world);
  axes_ = std::move(axes);
}

Communicator &DeviceRank::axisComm(int axis) {
  if (axis < 0 || size_t(axis) >= axes_.size() || !axes_[size_t(axis)])
    fail("no communicator for grid axis " + std::to_string(axis) + " (the " +
         "grid has " + std::to_string(coords_.size()) + " axes)");
  return *axes_[size_t(axis)];
}

Status DeviceRank::allocateWeights(const std::vector<bool> &loaded) {
  size_t total = 0;
  for (size_t i = 0; i < manifest_.weights.size(); ++i) {
    if (!loaded[i])
      continue;
    weightOffsets_[i] = total;
    total += alignUp(manifest_.weightBytes(i));
  }
  return weights_.allocate(total, "the weights");
}

void *DeviceRank::weightStorage(int index) const {
  size_t off = weightOffsets_[size_t(index)];
  if (off == kNotLoaded)
    return nullptr;
  return static_cast<char *>(weights_.data()) + off;
}

Status DeviceRank::allocateCacheBytes(size_t bytes, const std::string &what) {
  slots_ = manifest_.slotsOf(rank_);
  if (Status s = cache_.allocate(bytes, what); !s)
    return s;
  // Zeroed: no slot of a fresh cache holds non-finite garbage. On the
  // rank's own (non-blocking) stream, so the zeroing is ordered before the
  // first kernel that writes the cache.
  if (bytes)
    if (cudaError_t e = cudaMemsetAsync(cache_.data(), 0, bytes, stream_))
      return Status::error("cudaMemset of " + what + ": " +
                           cudaGetErrorString(e));
  return Status::ok();
}

Status DeviceRank::allocateCache() {
  return allocateCacheBytes(size_t(manifest_.rankCacheBytes(rank_)),
                            "the KV cache");
}

Status DeviceRank::allocatePagedCache(int64_t numBlocks, int64_t blockSize,
                                      int64_t maxSeqsPerCall) {
  if (numBlocks < 1 || blockSize < 1)
    return Status::error("a paged KV cache needs at least one block of at "
                         "least one token (got " +
                         std::to_string(numBlocks) + " blocks of " +
                         std::to_string(blockSize) + ")");
  auto [first, end] = manifest_.slotsOf(rank_);
  size_t bytes = size_t(end - first) * 2 * size_t(numBlocks) *
                 size_t(manifest_.kvCache.kvHeads) * size_t(blockSize) *
                 size_t(manifest_.kvCache.bytesPerVector());
  pagedBlocks_ = numBlocks;
  pagedBlockSize_ = blockSize;
  pagedMaxBatch_ = maxSeqsPerCall;
  return allocateCacheBytes(bytes, "the paged KV cache");
}

void *DeviceRank::scratch(ScratchSlot slot, size_t bytes) {
  DeviceBuffer &b = scratch_[size_t(slot)];
  if (b.size() < bytes) {
    // Work queued on the stream may still use the old buffer.
    sync();
    check(b.allocate(alignUp(bytes * 5 / 4 + 1), "communication scratch"));
  }
  return b.data();
}

void *DeviceRank::pinned(ScratchSlot slot, size_t bytes) {
  PinnedBuffer &b = pinned_[size_t(slot)];
  if (b.size() < bytes && b.data())
    sync(); // an asynchronous copy may still read or write the old buffer
  check(b.reserve(bytes));
  return b.data();
}

ExpertRoute &DeviceRank::route(int axis) { return routes_[axis]; }

void DeviceRank::sync(double timeoutSeconds) {
  if (timeoutSeconds <= 0)
    timeoutSeconds = defaultCommTimeoutSeconds();
  if (world_) {
    check(world_->synchronize(stream_, timeoutSeconds));
    return;
  }
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

void DeviceRank::check(cudaError_t e, const char *what) {
  if (e != cudaSuccess)
    fail(std::string(what) + ": " + cudaGetErrorString(e));
}

void DeviceRank::check(const Status &s) {
  if (!s)
    fail(s.message());
}

} // namespace llmc::rt
