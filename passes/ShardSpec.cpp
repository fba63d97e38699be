//===- ShardSpec.cpp - the --shard=SPEC grammar ---------------------------===//

#include "llmc/Passes/ShardSpec.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace llvm;

namespace llmc {

namespace {
constexpr std::array<Axis, kNumAxes> kPrintOrder = {Axis::tp, Axis::sp,
                                                   Axis::ep, Axis::pp, Axis::dp};
/// Upper bound on one degree, far above any real cluster.
constexpr int64_t kMaxDegree = 1 << 16;
/// Upper bound on the product of the degrees (the GPU count): five degrees
/// of kMaxDegree would overflow int64 in numRanks().
constexpr int64_t kMaxRanks = 1 << 20;

Error specError(StringRef spec, const Twine &message) {
  return createStringError(inconvertibleErrorCode(),
                           "invalid --shard spec '" + spec + "': " + message);
}
} // namespace

StringRef axisName(Axis axis) {
  return rt::kGridAxes[static_cast<size_t>(axis)];
}

int64_t ShardSpec::numRanks() const {
  int64_t product = 1;
  for (int64_t d : degrees)
    product *= d;
  return product;
}

std::string ShardSpec::str() const {
  return isAuto ? "auto" : grid().specText();
}

Expected<ShardSpec> parseShardSpec(StringRef spec) {
  ShardSpec result;
  StringRef trimmed = spec.trim();
  if (trimmed.empty())
    return specError(spec, "expected 'auto' or a comma list of tpN, ppN, epN, "
                           "spN, dpN (e.g. tp4,pp2)");
  if (trimmed == "auto") {
    result.isAuto = true;
    return result;
  }
  std::array<bool, kNumAxes> seen = {};
  SmallVector<StringRef> elements;
  trimmed.split(elements, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/true);
  for (StringRef raw : elements) {
    StringRef element = raw.trim();
    if (element.empty())
      return specError(spec, "empty element; write axes as tpN,ppN without "
                             "extra commas");
    if (element == "auto")
      return specError(spec, "'auto' cannot be combined with explicit axes");
    size_t digits = element.find_first_of("0123456789-+");
    StringRef name = element.substr(0, digits);
    StringRef number = digits == StringRef::npos ? "" : element.substr(digits);
    std::optional<Axis> axis;
    for (Axis candidate : kPrintOrder)
      if (name == axisName(candidate))
        axis = candidate;
    if (!axis) {
      std::string hint;
      for (Axis candidate : kPrintOrder)
        if (name.equals_insensitive(axisName(candidate)))
          hint = formatv("; did you mean '{0}'?", axisName(candidate)).str();
      return specError(spec, formatv("unknown axis '{0}' in '{1}'; valid axes "
                                     "are tp, pp, ep, sp, dp{2}",
                                     name, element, hint));
    }
    if (number.empty())
      return specError(spec, formatv("axis '{0}' needs a degree, e.g. {0}2",
                                     name));
    uint64_t degree = 0;
    if (!llvm::all_of(number, isDigit) || number.getAsInteger(10, degree))
      return specError(spec, formatv("degree '{0}' of axis '{1}' is not a "
                                     "positive integer",
                                     number, name));
    if (degree < 1)
      return specError(spec, formatv("degree of axis '{0}' must be >= 1, "
                                     "got {1}",
                                     name, degree));
    if (degree > static_cast<uint64_t>(kMaxDegree))
      return specError(spec, formatv("degree {0} of axis '{1}' exceeds the "
                                     "supported maximum {2}",
                                     number, name, kMaxDegree));
    int index = static_cast<int>(*axis);
    if (seen[index])
      return specError(spec, formatv("axis '{0}' appears more than once; give "
                                     "each axis once",
                                     name));
    seen[index] = true;
    result.degrees[index] = static_cast<int64_t>(degree);
  }
  // Each degree is <= 2^16 and the loop stops past 2^20, so no overflow.
  int64_t ranks = 1;
  for (int64_t d : result.degrees) {
    ranks *= d;
    if (ranks > kMaxRanks)
      return specError(spec, formatv("the plan needs more than {0} GPUs (the "
                                     "product of the degrees); the supported "
                                     "maximum is {0}",
                                     kMaxRanks));
  }
  return result;
}

} // namespace llmc
