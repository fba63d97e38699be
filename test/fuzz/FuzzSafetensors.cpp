//===- FuzzSafetensors.cpp - libFuzzer target: one safetensors file -------===//
//
// The input is the whole file. SafetensorsFile::open and Checkpoint::open
// either refuse it with a message naming the file, or accept it; every
// accepted tensor then lies inside the data section with as many bytes as
// its shape and dtype need, and reads whole and sliced (the mapping is not
// ASan-tracked, so the bounds are checked as invariants instead).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "runtime/weights/Safetensors.h"

#include <cstring>
#include <vector>

using namespace llmc::rt;
using llmc::fuzz::scratchDir;

namespace {

void checkTensor(const SafetensorsFile &file, const TensorInfo &t) {
  FUZZ_CHECK(t.begin <= t.end && t.end <= file.dataSize(), t.name.c_str());
  for (int64_t d : t.shape)
    FUZZ_CHECK(d >= 0, t.name.c_str());
  FUZZ_CHECK(uint64_t(t.numElements()) * dtypeSize(t.dtype) == t.numBytes(),
             t.name.c_str());
  FUZZ_CHECK(file.find(t.name) == &t, t.name.c_str());
}

/// Reads `t` through `ckpt` whole and, when it has a dimension to cut, two
/// slices (leading and trailing dimension), checking sizes.
void readTensor(const Checkpoint &ckpt, const TensorInfo &t) {
  std::vector<uint8_t> bytes(t.numBytes() + 1, 0xAB);
  FUZZ_CHECK(ckpt.readBytes(t.name, bytes.data()).isOk(), t.name.c_str());
  FUZZ_CHECK(bytes.back() == 0xAB, "readBytes wrote past the tensor");

  std::vector<Slice> slices;
  if (!t.shape.empty() && t.shape.front() >= 2)
    slices.push_back({0, 1, t.shape.front() - 1});
  if (t.shape.size() >= 2 && t.shape.back() >= 2)
    slices.push_back({int(t.shape.size() - 1), t.shape.back() / 2,
                      t.shape.back() - t.shape.back() / 2});
  for (const Slice &s : slices) {
    std::vector<uint8_t> part(
        size_t(numElements(slicedShape(t.shape, s))) * dtypeSize(t.dtype) + 1,
        0xCD);
    FUZZ_CHECK(ckpt.readBytes(t.name, part.data(), s).isOk(), t.name.c_str());
    FUZZ_CHECK(part.back() == 0xCD, "sliced readBytes wrote past the slice");
  }

  auto whole = ckpt.readF32Vector(t.name);
  if (!isConvertibleToF32(t.dtype)) {
    FUZZ_CHECK(!whole.ok(), "non-float dtype read as f32");
    return;
  }
  FUZZ_CHECK(whole.ok(), whole.status().message().c_str());
  FUZZ_CHECK(whole->size() == size_t(t.numElements()), t.name.c_str());
  for (const Slice &s : slices) {
    auto part = ckpt.readF32Vector(t.name, s);
    FUZZ_CHECK(part.ok(), part.status().message().c_str());
    FUZZ_CHECK(part->size() == size_t(numElements(slicedShape(t.shape, s))),
               t.name.c_str());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string path = scratchDir() + "/model.safetensors";
  llmc::fuzz::writeFile(
      path, std::string_view(reinterpret_cast<const char *>(data), size));

  auto file = SafetensorsFile::open(path);
  auto ckpt = Checkpoint::open(path);
  FUZZ_CHECK(file.ok() == ckpt.ok(), "file and checkpoint disagree");
  if (!file.ok()) {
    FUZZ_CHECK(file.status().message().rfind(path, 0) == 0,
               file.status().message().c_str());
    FUZZ_CHECK(ckpt.status().message() == file.status().message(),
               ckpt.status().message().c_str());
    return 0;
  }
  for (const TensorInfo &t : (*file)->tensors())
    checkTensor(**file, t);
  FUZZ_CHECK((*ckpt)->names().size() == (*file)->tensors().size(),
             "checkpoint lost tensors");
  for (const TensorInfo &t : (*file)->tensors())
    readTensor(**ckpt, t);
  return 0;
}
