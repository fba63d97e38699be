//===- Target.cpp - --target names and their nvcc architectures -----------===//

#include "llmc/Codegen/Codegen.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"

using namespace llvm;

namespace {
/// GPU names llm-compile knows, with the architecture nvcc builds for.
/// Hopper gets the `a` variant: the runtime's kernels may use wgmma/TMA.
struct KnownTarget {
  StringLiteral name, arch;
  /// Device memory in bytes, of the largest variant (A100: 80 GB).
  uint64_t memoryBytes;
};
constexpr uint64_t kGiB = uint64_t(1) << 30;
constexpr KnownTarget kTargets[] = {
    {"h100", "sm_90a", 80 * kGiB},
    {"h200", "sm_90a", 141'000'000'000},
    {"a100", "sm_80", 80 * kGiB},
};

/// sm_NN or sm_NNN, optionally followed by `a` or `f`.
bool isSmArch(StringRef s) {
  if (!s.consume_front("sm_"))
    return false;
  if (s.ends_with("a") || s.ends_with("f"))
    s = s.drop_back();
  return (s.size() == 2 || s.size() == 3) && llvm::all_of(s, llvm::isDigit);
}
} // namespace

std::string llmc::validTargets() {
  std::string list;
  for (const KnownTarget &t : kTargets)
    list += (list.empty() ? "" : ", ") + t.name.str() + " (" + t.arch.str() +
            ")";
  return list + ", or an architecture sm_XX (e.g. sm_90a, sm_80, sm_89)";
}

Expected<llmc::Target> llmc::resolveTarget(StringRef name) {
  std::string lower = name.lower();
  for (const KnownTarget &t : kTargets)
    if (lower == t.name)
      return Target{t.name.str(), t.arch.str(), t.memoryBytes};
  if (isSmArch(lower)) {
    uint64_t largest = 0;
    for (const KnownTarget &t : kTargets)
      largest = std::max(largest, t.memoryBytes);
    return Target{lower, lower, largest};
  }
  return createStringError(
      "unknown target '" + name.str() + "'; valid targets: " + validTargets());
}
