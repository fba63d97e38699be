//===- FuzzShardSpec.cpp - libFuzzer target: the --shard=SPEC grammar -----===//
//
// Any text is either refused with a message naming the spec or parsed into
// degrees in [1, max]; an accepted spec prints canonically and parses back
// to the same degrees, and its rank count fits in int64.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "llmc/Passes/ShardSpec.h"

using namespace llmc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<ShardSpec> spec = parseShardSpec(text);
  if (!spec) {
    std::string message = llvm::toString(spec.takeError());
    FUZZ_CHECK(llvm::StringRef(message).starts_with("invalid --shard spec '"),
               message.c_str());
    return 0;
  }
  if (spec->isAuto)
    return 0;
  int64_t ranks = spec->numRanks();
  FUZZ_CHECK(ranks >= 1, "numRanks");
  for (int64_t d : spec->degrees)
    FUZZ_CHECK(d >= 1, "degree below 1");

  // Canonical text round-trips ("" stands for one GPU and is not a spec).
  std::string printed = spec->str();
  if (printed.empty()) {
    FUZZ_CHECK(ranks == 1, "empty canonical text for a multi-GPU spec");
    return 0;
  }
  llvm::Expected<ShardSpec> again = parseShardSpec(printed);
  if (!again) {
    std::string message = llvm::toString(again.takeError());
    FUZZ_CHECK(false, message.c_str());
  }
  FUZZ_CHECK(again->degrees == spec->degrees, printed.c_str());
  FUZZ_CHECK(again->str() == printed, printed.c_str());
  return 0;
}
