//===- Safetensors.h - safetensors reader and writer ------------*- C++ -*-===//
//
// Reads Hugging Face safetensors files through mmap and writes them back.
// Format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON object, then the data section. Every key
// but "__metadata__" maps to {"dtype", "shape", "data_offsets": [begin, end]}
// with offsets relative to the data section.
//
// Every malformed input is reported as a Status naming the file, the tensor
// and the rule; nothing here throws or aborts, and nothing is allocated in
// proportion to a size the file claims before that size is checked.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_WEIGHTS_SAFETENSORS_H
#define LLMC_RUNTIME_WEIGHTS_SAFETENSORS_H

#include "runtime/abi/Status.h"
#include "runtime/weights/DType.h"
#include "runtime/weights/Slice.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmc::rt {

/// Largest header accepted, as in the reference implementation; anything
/// bigger is treated as a corrupt length.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

/// One tensor's entry in a safetensors header.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// Byte range [begin, end) inside the data section.
  uint64_t begin = 0, end = 0;

  int64_t numElements() const;
  uint64_t numBytes() const { return end - begin; }
};

/// One read-only, memory-mapped safetensors file.
class SafetensorsFile {
public:
  /// Maps and validates `path`: header length, JSON well-formedness, each
  /// entry's dtype/shape/data_offsets, sizes, bounds, overlaps and duplicate
  /// names.
  static Expected<std::unique_ptr<SafetensorsFile>>
  open(const std::string &path);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  /// Tensors in header order.
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  /// nullptr if the file has no tensor called `name`.
  const TensorInfo *find(std::string_view name) const;
  /// Start of the tensor's bytes inside the mapping; valid while this object
  /// lives. Not aligned beyond what the file's offsets give.
  const uint8_t *data(const TensorInfo &info) const;
  /// The "__metadata__" string map (empty when absent).
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }
  /// Size of the data section in bytes.
  uint64_t dataSize() const { return dataSize_; }

private:
  SafetensorsFile() = default;

  std::string path_;
  void *mapping_ = nullptr;
  size_t mappingSize_ = 0;
  const uint8_t *dataStart_ = nullptr;
  uint64_t dataSize_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> byName_;
  std::map<std::string, std::string> metadata_;
};

/// A checkpoint: a folder of safetensors files (with or without
/// model.safetensors.index.json) or a single file.
class Checkpoint {
public:
  /// `pathOrDir` may be a directory, a .safetensors file or an index.json.
  /// A directory with model.safetensors.index.json is read through its
  /// weight_map (each named file must exist and hold the tensors mapped to
  /// it; tensors a file holds but the map does not name are ignored, as
  /// transformers does). Otherwise every *.safetensors in the directory is
  /// opened in name order, and a tensor name found in two files is an error.
  static Expected<std::unique_ptr<Checkpoint>>
  open(const std::string &pathOrDir);

  /// Finds `name`; stores the file holding it in `*file` when non-null.
  const TensorInfo *find(std::string_view name,
                         const SafetensorsFile **file = nullptr) const;
  /// Every tensor name, sorted.
  std::vector<std::string> names() const;
  /// The opened files, in the order they were opened.
  const std::vector<std::unique_ptr<SafetensorsFile>> &files() const {
    return files_;
  }

  /// Reads the whole tensor, or `slice` of it, converted to f32 into `dst`,
  /// which must hold numElements() (or the slice's) floats. Reads only the
  /// bytes of the slice. Errors: unknown name, bad slice, dtype not
  /// convertible (see convertToF32).
  Status readF32(std::string_view name, float *dst,
                 const std::optional<Slice> &slice = std::nullopt) const;
  /// As readF32, into a vector sized here.
  Expected<std::vector<float>>
  readF32Vector(std::string_view name,
                const std::optional<Slice> &slice = std::nullopt) const;
  /// Copies the whole tensor, or `slice` of it, in its stored dtype into
  /// `dst` (numElements * dtypeSize bytes), e.g. for upload to a GPU as is.
  Status readBytes(std::string_view name, void *dst,
                   const std::optional<Slice> &slice = std::nullopt) const;

private:
  Checkpoint() = default;
  Status locate(std::string_view name, const std::optional<Slice> &slice,
                const TensorInfo *&info, const SafetensorsFile *&file) const;

  std::string path_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  /// Tensor name -> (file index, tensor in that file).
  std::map<std::string, std::pair<size_t, const TensorInfo *>, std::less<>>
      byName_;
};

/// A tensor to write: raw little-endian element bytes in row-major order.
struct TensorData {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// Writes one safetensors file with tensors in the given order, the header
/// padded with spaces to a multiple of 8 bytes as the reference
/// implementation does. Rejects empty, duplicate, non-UTF-8 or "__metadata__"
/// names, negative dims and byte counts that do not match shape and dtype.
Status
writeSafetensors(const std::string &path,
                 const std::vector<TensorData> &tensors,
                 const std::map<std::string, std::string> &metadata = {});

/// Writes a sharded checkpoint into `dir` (created if missing, parent must
/// exist): model-0000K-of-0000N.safetensors plus
/// model.safetensors.index.json. Tensors are packed in order; a new file is
/// started when the next tensor would push the current file's data past
/// maxBytesPerFile, so each file stays under it unless a single tensor is
/// bigger (it then gets a file of its own, as transformers does). Always
/// writes the index, even for one shard.
Status writeShardedSafetensors(const std::string &dir,
                               const std::vector<TensorData> &tensors,
                               uint64_t maxBytesPerFile);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_WEIGHTS_SAFETENSORS_H
