//===- FuzzSafetensorsIndex.cpp - libFuzzer target: sharded checkpoints ---===//
//
// The input is a checkpoint folder: parts separated by a line "----",
// the first is model.safetensors.index.json (left out when empty, so the
// folder is read by listing its *.safetensors) and the next ones are
// model-1.safetensors, model-2.safetensors, ... Checkpoint::open either
// refuses the folder with a message, or it opened only files of the folder
// and every tensor it lists is found in an opened file and reads back.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "runtime/weights/Safetensors.h"

#include <vector>

using namespace llmc::rt;
namespace fs = std::filesystem;

namespace {
constexpr int kMaxShards = 4;
constexpr std::string_view kSeparator = "\n----\n";
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() < size_t(kMaxShards)) {
    size_t at = input.find(kSeparator);
    if (at == std::string_view::npos)
      break;
    parts.push_back(input.substr(0, at));
    input.remove_prefix(at + kSeparator.size());
  }
  parts.push_back(input);

  const std::string dir = llmc::fuzz::scratchDir() + "/ckpt";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directory(dir);
  if (!parts[0].empty())
    llmc::fuzz::writeFile(dir + "/model.safetensors.index.json", parts[0]);
  for (size_t i = 1; i < parts.size(); ++i)
    llmc::fuzz::writeFile(dir + "/model-" + std::to_string(i) + ".safetensors",
                          parts[i]);

  auto ckpt = Checkpoint::open(dir);
  if (!ckpt.ok()) {
    FUZZ_CHECK(!ckpt.status().message().empty(), "empty error message");
    return 0;
  }
  // Only files of the folder itself are ever opened.
  for (const auto &file : (*ckpt)->files())
    FUZZ_CHECK(fs::path(file->path()).parent_path() == fs::path(dir) &&
                   fs::path(file->path()).filename() != "..",
               file->path().c_str());
  for (const std::string &name : (*ckpt)->names()) {
    const SafetensorsFile *file = nullptr;
    const TensorInfo *t = (*ckpt)->find(name, &file);
    FUZZ_CHECK(t && file && t->name == name, name.c_str());
    FUZZ_CHECK(file->find(name) == t, name.c_str());
    FUZZ_CHECK(t->end <= file->dataSize(), name.c_str());
    std::vector<uint8_t> bytes(t->numBytes() + 1, 0xAB);
    FUZZ_CHECK((*ckpt)->readBytes(name, bytes.data()).isOk(), name.c_str());
    FUZZ_CHECK(bytes.back() == 0xAB, "readBytes wrote past the tensor");
    if (isConvertibleToF32(t->dtype)) {
      auto values = (*ckpt)->readF32Vector(name);
      FUZZ_CHECK(values.ok(), values.status().message().c_str());
    }
  }
  return 0;
}
