//===- Safetensors.cpp - safetensors reader and writer --------------------===//
//
// Part of llmc's runtime: plain C++17, no MLIR. Uses nlohmann::json only
// through its non-throwing entry points, so it behaves the same whether or
// not the including target has exceptions enabled.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Tensor bytes are used in place from the mapping, and safetensors data is
// little-endian.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "llmc's safetensors reader assumes a little-endian host"
#endif

namespace llmc::rt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char *kIndexFileName = "model.safetensors.index.json";
constexpr const char *kMetadataKey = "__metadata__";

//===----------------------------------------------------------------------===//
// Messages
//===----------------------------------------------------------------------===//

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string rangeString(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

Status fileError(const std::string &path, const std::string &rule) {
  return Status::error(path + ": " + rule);
}

Status tensorError(const std::string &path, std::string_view tensor,
                   const std::string &rule) {
  return Status::error(path + ": tensor " + quote(tensor) + ": " + rule);
}

std::string errnoString() { return std::strerror(errno); }

//===----------------------------------------------------------------------===//
// JSON parsing with duplicate-key detection
//===----------------------------------------------------------------------===//

/// What parseJson saw besides the DOM: the top-level keys in document order
/// (the DOM's std::map forgets it) and the first duplicated key, which the
/// DOM would silently collapse to its last occurrence.
struct JsonScan {
  std::vector<std::string> topLevelKeys;
  std::optional<std::string> duplicateKey;
  /// Top-level key whose value held the duplicate; empty if the duplicate
  /// is itself top-level.
  std::string duplicateParent;
};

/// Non-throwing parse of [first, last); returns a discarded value on a
/// syntax error.
json parseJson(const char *first, const char *last, JsonScan &scan) {
  std::vector<std::set<std::string>> openObjects;
  auto callback = [&](int /*depth*/, json::parse_event_t event,
                      json &parsed) -> bool {
    switch (event) {
    case json::parse_event_t::object_start:
      openObjects.emplace_back();
      break;
    case json::parse_event_t::object_end:
      if (!openObjects.empty())
        openObjects.pop_back();
      break;
    case json::parse_event_t::key: {
      const auto *key = parsed.get_ptr<const json::string_t *>();
      if (!key || openObjects.empty())
        break;
      bool topLevel = openObjects.size() == 1;
      if (!openObjects.back().insert(*key).second && !scan.duplicateKey) {
        scan.duplicateKey = *key;
        if (!topLevel && !scan.topLevelKeys.empty())
          scan.duplicateParent = scan.topLevelKeys.back();
      }
      if (topLevel)
        scan.topLevelKeys.push_back(*key);
      break;
    }
    default:
      break;
    }
    return true;
  };
  return json::parse(first, last, callback, /*allow_exceptions=*/false);
}

/// Reads a non-negative JSON integer; nullopt for anything else (negative,
/// fractional, too large for uint64, not a number).
std::optional<uint64_t> asUnsigned(const json &v) {
  if (v.is_number_unsigned())
    return v.get<uint64_t>();
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i >= 0)
      return uint64_t(i);
  }
  return std::nullopt;
}

/// JSON string literal for `s`, or nullopt if `s` is not valid UTF-8.
std::optional<std::string> jsonQuote(const std::string &s) {
  // The strict error handler would throw (or abort under -fno-exceptions)
  // on invalid UTF-8. Instead dump twice: invalid bytes are replaced by
  // U+FFFD in one and dropped in the other, so the two agree exactly when
  // there are none.
  json j = s;
  std::string replaced = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string ignored = j.dump(-1, ' ', false, json::error_handler_t::ignore);
  if (replaced != ignored)
    return std::nullopt;
  return replaced;
}

//===----------------------------------------------------------------------===//
// Header validation
//===----------------------------------------------------------------------===//

/// Element count of `shape`, or nullopt when it exceeds int64_t.
std::optional<uint64_t> checkedNumElements(const std::vector<int64_t> &shape) {
  for (int64_t d : shape)
    if (d == 0)
      return 0;
  uint64_t n = 1;
  const uint64_t limit = uint64_t(std::numeric_limits<int64_t>::max());
  for (int64_t d : shape) {
    if (n > limit / uint64_t(d))
      return std::nullopt;
    n *= uint64_t(d);
  }
  return n;
}

Status parseTensorEntry(const std::string &path, const std::string &name,
                        const json &entry, uint64_t dataSize,
                        TensorInfo &info) {
  info.name = name;
  if (!entry.is_object())
    return tensorError(path, name,
                       "entry must be an object with dtype, shape and "
                       "data_offsets, got " +
                           std::string(entry.type_name()));

  auto dtypeIt = entry.find("dtype");
  if (dtypeIt == entry.end())
    return tensorError(path, name, "missing field 'dtype'");
  if (!dtypeIt->is_string())
    return tensorError(path, name, "field 'dtype' must be a string");
  const std::string &dtypeStr = dtypeIt->get_ref<const json::string_t &>();
  std::optional<DType> dtype = parseDType(dtypeStr);
  if (!dtype)
    return tensorError(path, name,
                       "field 'dtype' has unsupported value " +
                           quote(dtypeStr) +
                           " (supported: F64, F32, F16, BF16, F8_E4M3, "
                           "F8_E5M2, I64, I32, I16, I8, U8, BOOL)");
  info.dtype = *dtype;

  auto shapeIt = entry.find("shape");
  if (shapeIt == entry.end())
    return tensorError(path, name, "missing field 'shape'");
  if (!shapeIt->is_array())
    return tensorError(path, name, "field 'shape' must be an array");
  info.shape.clear();
  info.shape.reserve(shapeIt->size());
  for (const json &dim : *shapeIt) {
    if (dim.is_number_integer() && !dim.is_number_unsigned() &&
        dim.get<int64_t>() < 0)
      return tensorError(path, name,
                         "field 'shape' has negative dimension " +
                             std::to_string(dim.get<int64_t>()));
    std::optional<uint64_t> d = asUnsigned(dim);
    if (!d)
      return tensorError(
          path, name,
          "field 'shape' must hold non-negative integers, got " +
              dim.dump(-1, ' ', false, json::error_handler_t::replace));
    if (*d > uint64_t(std::numeric_limits<int64_t>::max()))
      return tensorError(path, name,
                         "field 'shape' has dimension " + std::to_string(*d) +
                             " beyond the int64 range");
    info.shape.push_back(int64_t(*d));
  }

  auto offsetsIt = entry.find("data_offsets");
  if (offsetsIt == entry.end())
    return tensorError(path, name, "missing field 'data_offsets'");
  if (!offsetsIt->is_array() || offsetsIt->size() != 2)
    return tensorError(path, name,
                       "field 'data_offsets' must be an array [begin, end]");
  std::optional<uint64_t> begin = asUnsigned((*offsetsIt)[0]);
  std::optional<uint64_t> end = asUnsigned((*offsetsIt)[1]);
  if (!begin || !end)
    return tensorError(path, name,
                       "field 'data_offsets' must hold two non-negative "
                       "integers");
  info.begin = *begin;
  info.end = *end;
  if (info.begin > info.end)
    return tensorError(path, name,
                       "data_offsets " + rangeString(info.begin, info.end) +
                           " begin after they end");
  if (info.end > dataSize)
    return tensorError(path, name,
                       "data_offsets " + rangeString(info.begin, info.end) +
                           " run past the data section of " +
                           std::to_string(dataSize) + " bytes");

  std::string sizeRule = "shape " + shapeString(info.shape) + " with dtype " +
                         dtypeStr + " does not match data_offsets " +
                         rangeString(info.begin, info.end) + " (" +
                         std::to_string(info.end - info.begin) + " bytes)";
  std::optional<uint64_t> count = checkedNumElements(info.shape);
  if (!count)
    return tensorError(path, name,
                       sizeRule + ": element count overflows int64");
  uint64_t elemSize = dtypeSize(info.dtype);
  if (*count > std::numeric_limits<uint64_t>::max() / elemSize)
    return tensorError(path, name, sizeRule + ": byte count overflows uint64");
  uint64_t bytes = *count * elemSize;
  if (bytes != info.end - info.begin)
    return tensorError(
        path, name, sizeRule + ": needs " + std::to_string(bytes) + " bytes");
  return Status::ok();
}

Status parseMetadata(const std::string &path, const json &value,
                     std::map<std::string, std::string> &metadata) {
  if (!value.is_object())
    return fileError(path, "'__metadata__' must be an object of strings, "
                           "got " +
                               std::string(value.type_name()));
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string())
      return fileError(path, "'__metadata__' key " + quote(it.key()) +
                                 " must map to a string, got " +
                                 std::string(it.value().type_name()));
    metadata[it.key()] = it.value().get_ref<const json::string_t &>();
  }
  return Status::ok();
}

/// Tensors must not share bytes: a writer that did so is corrupt, and a
/// loader that uploads one tensor in place must not see another's data.
/// And, as the reference implementation (huggingface/safetensors) demands,
/// they must cover the data section exactly: no gap between two tensors,
/// no bytes after the last (a truncated header or a spliced file).
Status checkLayout(const std::string &path,
                   const std::vector<TensorInfo> &tensors, uint64_t dataSize) {
  std::vector<const TensorInfo *> byBegin;
  for (const TensorInfo &t : tensors)
    if (t.end > t.begin) // Empty ranges overlap nothing.
      byBegin.push_back(&t);
  std::sort(byBegin.begin(), byBegin.end(),
            [](const TensorInfo *a, const TensorInfo *b) {
              return a->begin < b->begin;
            });
  for (size_t i = 1; i < byBegin.size(); ++i) {
    const TensorInfo &prev = *byBegin[i - 1], &cur = *byBegin[i];
    if (cur.begin < prev.end)
      return tensorError(path, cur.name,
                         "data_offsets " + rangeString(cur.begin, cur.end) +
                             " overlap those of tensor " + quote(prev.name) +
                             " " + rangeString(prev.begin, prev.end));
  }
  uint64_t covered = 0;
  for (const TensorInfo *t : byBegin) {
    if (t->begin != covered)
      return tensorError(path, t->name,
                         "data_offsets " + rangeString(t->begin, t->end) +
                             " leave bytes [" + std::to_string(covered) +
                             ", " + std::to_string(t->begin) +
                             ") of the data section to no tensor; the "
                             "offsets must cover it without gaps");
    covered = t->end;
  }
  if (covered != dataSize)
    return fileError(path, "the tensors cover " + std::to_string(covered) +
                               " bytes of the data section but it has " +
                               std::to_string(dataSize) +
                               " (trailing bytes after the last tensor)");
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Small file helpers
//===----------------------------------------------------------------------===//

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

/// Reads a whole small file (an index.json) with a size cap.
Status readSmallFile(const std::string &path, uint64_t maxBytes,
                     std::string &out) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return fileError(path, "cannot open: " + errnoString());
  out.clear();
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    out.append(buf, n);
    if (out.size() > maxBytes) {
      std::fclose(f);
      return fileError(path, "file is larger than " + std::to_string(maxBytes) +
                                 " bytes");
    }
  }
  bool failed = std::ferror(f);
  std::fclose(f);
  if (failed)
    return fileError(path, "read error");
  return Status::ok();
}

/// Writes `chunks` to `path`, removing the partial file on failure.
Status writeChunks(const std::string &path,
                   const std::vector<std::pair<const void *, size_t>> &chunks) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return fileError(path, "cannot create: " + errnoString());
  bool ok = true;
  for (const auto &[ptr, size] : chunks)
    if (size && std::fwrite(ptr, 1, size, f) != size) {
      ok = false;
      break;
    }
  std::string why = ok ? "" : errnoString();
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    why = errnoString();
  }
  if (!ok) {
    std::remove(path.c_str());
    return fileError(path, "write failed: " + why);
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

Status writeFile(const std::string &path,
                 const std::vector<const TensorData *> &tensors,
                 const std::map<std::string, std::string> &metadata) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto &[key, value] : metadata) {
      std::optional<std::string> k = jsonQuote(key), v = jsonQuote(value);
      if (!k || !v)
        return fileError(path, "metadata key " + quote(key) +
                                   " or its value is not valid UTF-8");
      if (!first)
        header += ",";
      first = false;
      header += *k + ":" + *v;
    }
    header += "}";
    first = false;
  }

  std::set<std::string_view> seen;
  uint64_t offset = 0;
  for (const TensorData *t : tensors) {
    if (t->name.empty())
      return fileError(path, "tensor names must not be empty");
    if (t->name == kMetadataKey)
      return tensorError(path, t->name, "name is reserved for metadata");
    if (!seen.insert(t->name).second)
      return tensorError(path, t->name, "duplicate tensor name");
    std::optional<std::string> quoted = jsonQuote(t->name);
    if (!quoted)
      return tensorError(path, t->name, "name is not valid UTF-8");
    for (int64_t d : t->shape)
      if (d < 0)
        return tensorError(path, t->name,
                           "shape " + shapeString(t->shape) +
                               " has a negative dimension");
    std::optional<uint64_t> count = checkedNumElements(t->shape);
    uint64_t elemSize = dtypeSize(t->dtype);
    if (!count || *count > std::numeric_limits<uint64_t>::max() / elemSize ||
        *count * elemSize != t->bytes.size())
      return tensorError(path, t->name,
                         "shape " + shapeString(t->shape) + " with dtype " +
                             dtypeName(t->dtype) + " does not match its " +
                             std::to_string(t->bytes.size()) + " bytes");
    uint64_t end = offset + t->bytes.size();
    if (!first)
      header += ",";
    first = false;
    header +=
        *quoted + ":{\"dtype\":\"" + dtypeName(t->dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < t->shape.size(); ++i)
      header += (i ? "," : "") + std::to_string(t->shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(end) + "]}";
    offset = end;
  }
  header += "}";
  // Padding the header keeps the data section 8-byte aligned in the file,
  // like the reference writer.
  header.append((8 - header.size() % 8) % 8, ' ');

  uint8_t length[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    length[i] = uint8_t(n >> (8 * i));
  std::vector<std::pair<const void *, size_t>> chunks;
  chunks.reserve(tensors.size() + 2);
  chunks.emplace_back(length, sizeof(length));
  chunks.emplace_back(header.data(), header.size());
  for (const TensorData *t : tensors)
    chunks.emplace_back(t->bytes.data(), t->bytes.size());
  return writeChunks(path, chunks);
}

std::string shardName(size_t k, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", k, n);
  return buf;
}

} // namespace

//===----------------------------------------------------------------------===//
// TensorInfo / SafetensorsFile
//===----------------------------------------------------------------------===//

int64_t TensorInfo::numElements() const { return rt::numElements(shape); }

SafetensorsFile::~SafetensorsFile() {
  if (mapping_)
    ::munmap(mapping_, mappingSize_);
}

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(const std::string &path) {
  using Result = Expected<std::unique_ptr<SafetensorsFile>>;
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Result::fromError(fileError(path, "cannot open: " + errnoString()));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string why = errnoString();
    ::close(fd);
    return Result::fromError(fileError(path, "cannot stat: " + why));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Result::fromError(fileError(path, "not a regular file"));
  }
  uint64_t fileSize = uint64_t(st.st_size);
  // Also keeps a zero-length mmap, which POSIX rejects, from happening.
  if (fileSize < 8) {
    ::close(fd);
    return Result::fromError(
        fileError(path, "file is " + std::to_string(fileSize) +
                            " bytes, shorter than the 8-byte header length"));
  }
  void *mapping =
      ::mmap(nullptr, size_t(fileSize), PROT_READ, MAP_PRIVATE, fd, 0);
  std::string mmapError = mapping == MAP_FAILED ? errnoString() : "";
  ::close(fd); // The mapping keeps the file alive.
  if (mapping == MAP_FAILED)
    return Result::fromError(fileError(path, "mmap failed: " + mmapError));
  file->mapping_ = mapping;
  file->mappingSize_ = size_t(fileSize);
  const auto *base = static_cast<const uint8_t *>(mapping);

  uint64_t headerSize = 0;
  for (int i = 0; i < 8; ++i)
    headerSize |= uint64_t(base[i]) << (8 * i);
  if (headerSize > kMaxSafetensorsHeaderBytes)
    return Result::fromError(fileError(
        path, "header length " + std::to_string(headerSize) +
                  " exceeds the limit of " +
                  std::to_string(kMaxSafetensorsHeaderBytes) + " bytes"));
  if (headerSize > fileSize - 8)
    return Result::fromError(
        fileError(path, "header length " + std::to_string(headerSize) +
                            " runs past the end of the file (" +
                            std::to_string(fileSize) + " bytes)"));
  file->dataStart_ = base + 8 + headerSize;
  file->dataSize_ = fileSize - 8 - headerSize;

  const char *headerBegin = reinterpret_cast<const char *>(base + 8);
  JsonScan scan;
  json header = parseJson(headerBegin, headerBegin + headerSize, scan);
  if (header.is_discarded())
    return Result::fromError(fileError(path, "header is not valid JSON"));
  if (!header.is_object())
    return Result::fromError(
        fileError(path, "header must be a JSON object, got " +
                            std::string(header.type_name())));
  if (scan.duplicateKey) {
    if (scan.duplicateParent.empty())
      return Result::fromError(
          tensorError(path, *scan.duplicateKey,
                      "tensor name appears more than once in the header"));
    return Result::fromError(tensorError(path, scan.duplicateParent,
                                         "key " + quote(*scan.duplicateKey) +
                                             " appears more than once"));
  }

  file->tensors_.reserve(scan.topLevelKeys.size());
  for (const std::string &name : scan.topLevelKeys) {
    const json &entry = *header.find(name);
    if (name == kMetadataKey) {
      if (Status s = parseMetadata(path, entry, file->metadata_); !s)
        return Result::fromError(s);
      continue;
    }
    TensorInfo info;
    if (Status s = parseTensorEntry(path, name, entry, file->dataSize_, info);
        !s)
      return Result::fromError(s);
    file->tensors_.push_back(std::move(info));
  }
  if (Status s = checkLayout(path, file->tensors_, file->dataSize_); !s)
    return Result::fromError(s);
  for (size_t i = 0; i < file->tensors_.size(); ++i)
    file->byName_.emplace(file->tensors_[i].name, i);
  return Result(std::move(file));
}

const TensorInfo *SafetensorsFile::find(std::string_view name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : &tensors_[it->second];
}

const uint8_t *SafetensorsFile::data(const TensorInfo &info) const {
  return dataStart_ + info.begin;
}

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<Checkpoint>>
Checkpoint::open(const std::string &pathOrDir) {
  using Result = Expected<std::unique_ptr<Checkpoint>>;
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->path_ = pathOrDir;

  std::error_code ec;
  fs::file_status st = fs::status(pathOrDir, ec);
  if (ec || !fs::exists(st))
    return Result::fromError(fileError(pathOrDir, "no such file or directory"));

  std::string indexPath;
  fs::path dir;
  if (fs::is_directory(st)) {
    dir = pathOrDir;
    fs::path candidate = dir / kIndexFileName;
    if (fs::exists(candidate, ec))
      indexPath = candidate.string();
  } else if (endsWith(pathOrDir, ".index.json")) {
    indexPath = pathOrDir;
    dir = fs::path(pathOrDir).parent_path();
  } else if (endsWith(pathOrDir, ".json")) {
    // A config.json (or any other JSON) is not a tensor file; reading its
    // first 8 bytes as a header length gives nonsense.
    return Result::fromError(fileError(
        pathOrDir, "is a JSON file, not a safetensors checkpoint; pass the "
                   "checkpoint folder, a .safetensors file or a "
                   "model.safetensors.index.json"));
  }

  if (!indexPath.empty()) {
    std::string text;
    if (Status s = readSmallFile(indexPath, kMaxSafetensorsHeaderBytes, text);
        !s)
      return Result::fromError(s);
    JsonScan scan;
    json index = parseJson(text.data(), text.data() + text.size(), scan);
    if (index.is_discarded())
      return Result::fromError(fileError(indexPath, "not valid JSON"));
    if (!index.is_object())
      return Result::fromError(fileError(indexPath, "must be a JSON object"));
    if (scan.duplicateKey)
      return Result::fromError(
          fileError(indexPath, "key " + quote(*scan.duplicateKey) +
                                   " appears more than once"));
    auto mapIt = index.find("weight_map");
    if (mapIt == index.end() || !mapIt->is_object())
      return Result::fromError(fileError(
          indexPath, "field 'weight_map' must be an object of strings"));

    // Open each named file once, in name order for reproducible errors.
    std::map<std::string, size_t> fileIndex;
    for (auto it = mapIt->begin(); it != mapIt->end(); ++it) {
      if (!it.value().is_string())
        return Result::fromError(tensorError(
            indexPath, it.key(), "weight_map value must be a file name"));
      const std::string &fileName =
          it.value().get_ref<const json::string_t &>();
      // Shards live next to the index (as transformers resolves them): a
      // downloaded index must not make the loader open files elsewhere.
      if (fileName.empty() || fileName == "." || fileName == ".." ||
          fileName.find_first_of("/\\") != std::string::npos ||
          fileName.find('\0') != std::string::npos)
        return Result::fromError(tensorError(
            indexPath, it.key(),
            "weight_map value " + quote(fileName) +
                " must be the name of a file in the checkpoint folder, "
                "without a path"));
      fileIndex.emplace(fileName, 0);
    }
    for (auto &[name, idx] : fileIndex) {
      fs::path filePath = dir / name;
      if (!fs::is_regular_file(filePath, ec))
        return Result::fromError(fileError(
            indexPath, "weight_map names file " + quote(name) +
                           ", which does not exist in " + quote(dir.string())));
      auto file = SafetensorsFile::open(filePath.string());
      if (!file)
        return Result::fromError(file.status());
      idx = ckpt->files_.size();
      ckpt->files_.push_back(std::move(*file));
    }
    for (auto it = mapIt->begin(); it != mapIt->end(); ++it) {
      const std::string &fileName =
          it.value().get_ref<const json::string_t &>();
      size_t idx = fileIndex[fileName];
      const TensorInfo *info = ckpt->files_[idx]->find(it.key());
      if (!info)
        return Result::fromError(
            tensorError(indexPath, it.key(),
                        "weight_map maps it to " + quote(fileName) +
                            ", which does not contain it"));
      ckpt->byName_.emplace(it.key(), std::make_pair(idx, info));
    }
    return Result(std::move(ckpt));
  }

  std::vector<std::string> paths;
  if (fs::is_directory(st)) {
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::string p = it->path().string();
      if (endsWith(p, ".safetensors") && it->is_regular_file(ec))
        paths.push_back(p);
    }
    if (ec)
      return Result::fromError(
          fileError(pathOrDir, "cannot list directory: " + ec.message()));
    if (paths.empty())
      return Result::fromError(fileError(
          pathOrDir, "directory holds no *.safetensors files and no " +
                         std::string(kIndexFileName)));
    std::sort(paths.begin(), paths.end());
  } else {
    paths.push_back(pathOrDir);
  }
  for (const std::string &p : paths) {
    auto file = SafetensorsFile::open(p);
    if (!file)
      return Result::fromError(file.status());
    size_t idx = ckpt->files_.size();
    ckpt->files_.push_back(std::move(*file));
    for (const TensorInfo &info : ckpt->files_[idx]->tensors()) {
      auto [it, inserted] =
          ckpt->byName_.emplace(info.name, std::make_pair(idx, &info));
      if (!inserted)
        return Result::fromError(tensorError(
            p, info.name,
            "also present in " + ckpt->files_[it->second.first]->path() +
                "; a tensor may live in only one file"));
    }
  }
  return Result(std::move(ckpt));
}

const TensorInfo *Checkpoint::find(std::string_view name,
                                   const SafetensorsFile **file) const {
  auto it = byName_.find(name);
  if (it == byName_.end())
    return nullptr;
  if (file)
    *file = files_[it->second.first].get();
  return it->second.second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> result;
  result.reserve(byName_.size());
  for (const auto &entry : byName_)
    result.push_back(entry.first);
  return result;
}

Status Checkpoint::locate(std::string_view name,
                          const std::optional<Slice> &slice,
                          const TensorInfo *&info,
                          const SafetensorsFile *&file) const {
  info = find(name, &file);
  if (!info)
    return tensorError(path_, name, "not found in the checkpoint");
  if (slice)
    if (Status s = checkSlice(info->shape, *slice); !s)
      return tensorError(file->path(), name, s.message());
  return Status::ok();
}

Status Checkpoint::readF32(std::string_view name, float *dst,
                           const std::optional<Slice> &slice) const {
  const TensorInfo *info;
  const SafetensorsFile *file;
  if (Status s = locate(name, slice, info, file); !s)
    return s;
  if (!isConvertibleToF32(info->dtype))
    return tensorError(file->path(), name,
                       std::string("dtype ") + dtypeName(info->dtype) +
                           " cannot be read as f32 (F32, F16, BF16 and F64 "
                           "can)");
  // Convert run by run straight from the mapping so that a rank touches
  // only the pages of its own slice.
  SliceRuns runs = sliceRuns(info->shape, slice ? &*slice : nullptr);
  const uint8_t *base = file->data(*info);
  size_t elemSize = dtypeSize(info->dtype);
  for (int64_t r = 0; r < runs.count; ++r)
    convertToF32(info->dtype,
                 base + size_t(runs.start + r * runs.stride) * elemSize,
                 dst + size_t(r * runs.length), size_t(runs.length));
  return Status::ok();
}

Expected<std::vector<float>>
Checkpoint::readF32Vector(std::string_view name,
                          const std::optional<Slice> &slice) const {
  using Result = Expected<std::vector<float>>;
  const TensorInfo *info;
  const SafetensorsFile *file;
  if (Status s = locate(name, slice, info, file); !s)
    return Result::fromError(s);
  std::vector<float> out(size_t(
      numElements(slice ? slicedShape(info->shape, *slice) : info->shape)));
  if (Status s = readF32(name, out.data(), slice); !s)
    return Result::fromError(s);
  return Result(std::move(out));
}

Status Checkpoint::readBytes(std::string_view name, void *dst,
                             const std::optional<Slice> &slice) const {
  const TensorInfo *info;
  const SafetensorsFile *file;
  if (Status s = locate(name, slice, info, file); !s)
    return s;
  const uint8_t *base = file->data(*info);
  if (!slice) {
    if (info->numBytes())
      std::memcpy(dst, base, size_t(info->numBytes()));
    return Status::ok();
  }
  copySliceBytes(base, info->shape, *slice, dtypeSize(info->dtype), dst);
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Writers
//===----------------------------------------------------------------------===//

Status writeSafetensors(const std::string &path,
                        const std::vector<TensorData> &tensors,
                        const std::map<std::string, std::string> &metadata) {
  std::vector<const TensorData *> ptrs;
  ptrs.reserve(tensors.size());
  for (const TensorData &t : tensors)
    ptrs.push_back(&t);
  return writeFile(path, ptrs, metadata);
}

Status writeShardedSafetensors(const std::string &dir,
                               const std::vector<TensorData> &tensors,
                               uint64_t maxBytesPerFile) {
  if (maxBytesPerFile == 0)
    return fileError(dir, "maxBytesPerFile must be positive");
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (ec)
    return fileError(dir, "cannot create directory: " + ec.message());

  // Checked across shards here because writeFile only sees one shard, and
  // the weight_map could not name a tensor twice anyway.
  std::set<std::string_view> seen;
  for (const TensorData &t : tensors)
    if (!seen.insert(t.name).second)
      return tensorError(dir, t.name, "duplicate tensor name");

  std::vector<std::vector<const TensorData *>> shards;
  uint64_t shardBytes = 0, totalBytes = 0;
  for (const TensorData &t : tensors) {
    uint64_t size = t.bytes.size();
    if (shards.empty() ||
        (!shards.back().empty() && shardBytes + size > maxBytesPerFile)) {
      shards.emplace_back();
      shardBytes = 0;
    }
    shards.back().push_back(&t);
    shardBytes += size;
    totalBytes += size;
  }
  if (shards.empty())
    shards.emplace_back();

  // transformers refuses safetensors files whose metadata lacks a known
  // "format", so tag the shards the way torch's save_pretrained does.
  const std::map<std::string, std::string> metadata = {{"format", "pt"}};
  json weightMap = json::object();
  for (size_t k = 0; k < shards.size(); ++k) {
    std::string name = shardName(k + 1, shards.size());
    if (Status s =
            writeFile((fs::path(dir) / name).string(), shards[k], metadata);
        !s)
      return s;
    for (const TensorData *t : shards[k])
      weightMap[t->name] = name;
  }
  json index = json::object();
  index["metadata"] = json::object({{"total_size", totalBytes}});
  index["weight_map"] = std::move(weightMap);
  // Names were checked to be UTF-8 when the shards were written.
  std::string text =
      index.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  return writeChunks((fs::path(dir) / kIndexFileName).string(),
                     {{text.data(), text.size()}});
}

} // namespace llmc::rt
