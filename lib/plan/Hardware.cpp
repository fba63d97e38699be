//===- Hardware.cpp - GPU hardware database for the planner ---------------===//
//
// Entries are validated field by field, and unknown fields are errors: a
// misspelt "hbm_gb_per_s" in a user's calibration file would otherwise fall
// back silently to nothing and skew every prediction.
//
//===----------------------------------------------------------------------===//

#include "llmc/Plan/Hardware.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include "lib/plan/HardwareData.h"

using namespace llvm;

namespace llmc {

StringRef builtinHardwareJson() { return kBuiltinHardwareJson; }

double HardwareSpec::achievableFlops(int64_t elementBytes) const {
  double peak = bf16FlopsPerSecond;
  if (elementBytes == 1 && fp8FlopsPerSecond > 0)
    peak = fp8FlopsPerSecond;
  else if (elementBytes >= 4)
    peak = bf16FlopsPerSecond / 2;
  return peak * computeEfficiency;
}

namespace {

/// Reads one entry's fields, reporting the first problem with its path.
class EntryReader {
public:
  EntryReader(const json::Object &object, std::string where)
      : object(object), where(std::move(where)) {}

  Error error(const Twine &message) const {
    return createStringError(inconvertibleErrorCode(), where + ": " + message);
  }

  /// A number > 0 (or >= 0 when `allowZero`), optionally at most `max`.
  Expected<double> number(StringRef key, bool allowZero = false,
                          double max = 0) const {
    const json::Value *value = object.get(key);
    if (!value)
      return error(formatv("missing field '{0}'", key));
    std::optional<double> number = value->getAsNumber();
    if (!number)
      return error(formatv("field '{0}' must be a number", key));
    if (*number < 0 || (!allowZero && *number == 0))
      return error(formatv("field '{0}' must be {1}, got {2}", key,
                           allowZero ? ">= 0" : "> 0", format("%g", *number)));
    if (max > 0 && *number > max)
      return error(formatv("field '{0}' must be at most {1}, got {2}", key,
                           format("%g", max), format("%g", *number)));
    return *number;
  }

  Expected<std::string> string(StringRef key, bool required = true) const {
    const json::Value *value = object.get(key);
    if (!value) {
      if (required)
        return error(formatv("missing field '{0}'", key));
      return std::string();
    }
    std::optional<StringRef> text = value->getAsString();
    if (!text)
      return error(formatv("field '{0}' must be a string", key));
    return text->str();
  }

  Expected<const json::Object *> child(StringRef key) const {
    const json::Value *value = object.get(key);
    if (!value)
      return error(formatv("missing field '{0}'", key));
    const json::Object *result = value->getAsObject();
    if (!result)
      return error(formatv("field '{0}' must be an object", key));
    return result;
  }

  /// An optional number >= 0 (at most `max` when > 0), `fallback` when
  /// absent.
  Expected<double> optionalNumber(StringRef key, double fallback,
                                  double max = 0) const {
    if (!object.get(key))
      return fallback;
    return number(key, /*allowZero=*/true, max);
  }

  /// Fails on any key not in `known`.
  Error onlyKnown(ArrayRef<StringRef> known) const {
    for (const auto &[key, value] : object)
      if (!llvm::is_contained(known, StringRef(key)))
        return error(formatv("unknown field '{0}'; known fields: {1}",
                             StringRef(key), join(known, ", ")));
    return Error::success();
  }

private:
  const json::Object &object;
  std::string where;
};

Expected<LinkSpec> parseLink(const EntryReader &entry, StringRef key,
                             double efficiency, const std::string &where) {
  Expected<const json::Object *> object = entry.child(key);
  if (!object)
    return object.takeError();
  EntryReader link(**object, where + "." + key.str());
  if (Error e = link.onlyKnown({"link", "gb_per_s", "latency_us"}))
    return std::move(e);
  LinkSpec spec;
  Expected<std::string> name = link.string("link");
  Expected<double> bandwidth = link.number("gb_per_s");
  Expected<double> latency = link.number("latency_us", /*allowZero=*/true);
  if (!name)
    return name.takeError();
  if (!bandwidth)
    return bandwidth.takeError();
  if (!latency)
    return latency.takeError();
  spec.name = *name;
  spec.bytesPerSecond = *bandwidth * 1e9;
  spec.latencySeconds = *latency * 1e-6;
  spec.efficiency = efficiency;
  return spec;
}

Expected<HardwareSpec> parseEntry(const json::Value &value, size_t index,
                                  StringRef source) {
  std::string where = formatv("{0}: hardware[{1}]", source, index).str();
  const json::Object *object = value.getAsObject();
  if (!object)
    return createStringError(inconvertibleErrorCode(),
                             where + ": each entry must be an object");
  if (std::optional<StringRef> name = object->getString("name"))
    where += formatv(" ('{0}')", *name).str();
  EntryReader entry(*object, where);
  if (Error e = entry.onlyKnown({"name", "aliases", "description", "memory_gib",
                                 "memory_utilization", "hbm_gb_per_s",
                                 "bf16_tflops", "fp8_tflops", "gpus_per_node",
                                 "kernel_launch_us", "eager_launch_us",
                                 "step_overhead_us", "gemm_overlap_rows",
                                 "intra_node", "inter_node", "efficiency"}))
    return std::move(e);

  HardwareSpec spec;
  Expected<std::string> name = entry.string("name");
  if (!name)
    return name.takeError();
  if (name->empty())
    return entry.error("field 'name' must not be empty");
  spec.name = *name;
  if (const json::Value *aliases = object->get("aliases")) {
    const json::Array *array = aliases->getAsArray();
    if (!array)
      return entry.error("field 'aliases' must be an array of strings");
    for (const json::Value &alias : *array) {
      std::optional<StringRef> text = alias.getAsString();
      if (!text || text->empty())
        return entry.error("field 'aliases' must be an array of non-empty "
                           "strings");
      spec.aliases.push_back(text->str());
    }
  }
  Expected<std::string> description = entry.string("description", false);
  if (!description)
    return description.takeError();
  spec.description = *description;

  Expected<double> memory = entry.number("memory_gib");
  Expected<double> utilization = entry.number("memory_utilization", false, 1);
  Expected<double> hbm = entry.number("hbm_gb_per_s");
  Expected<double> bf16 = entry.number("bf16_tflops");
  Expected<double> fp8 = entry.number("fp8_tflops", /*allowZero=*/true);
  Expected<double> perNode = entry.number("gpus_per_node");
  for (Expected<double> *field :
       {&memory, &utilization, &hbm, &bf16, &fp8, &perNode})
    if (!*field)
      return field->takeError();
  if (*perNode != static_cast<double>(static_cast<int64_t>(*perNode)))
    return entry.error(
        formatv("field 'gpus_per_node' must be an integer, got {0}",
                format("%g", *perNode)));
  spec.memoryBytes = *memory * 1073741824.0;
  spec.memoryUtilization = *utilization;
  spec.hbmBytesPerSecond = *hbm * 1e9;
  spec.bf16FlopsPerSecond = *bf16 * 1e12;
  spec.fp8FlopsPerSecond = *fp8 * 1e12;
  spec.gpusPerNode = static_cast<int64_t>(*perNode);
  Expected<double> launch = entry.optionalNumber("kernel_launch_us", 0);
  if (!launch)
    return launch.takeError();
  spec.kernelLaunchSeconds = *launch * 1e-6;
  // Uncalibrated entries price an eagerly launched kernel like a graph node.
  Expected<double> eager = entry.optionalNumber("eager_launch_us", *launch);
  if (!eager)
    return eager.takeError();
  spec.eagerLaunchSeconds = *eager * 1e-6;
  Expected<double> overlapRows = entry.optionalNumber("gemm_overlap_rows", 0);
  if (!overlapRows)
    return overlapRows.takeError();
  spec.gemmOverlapRows = *overlapRows;
  Expected<double> step = entry.optionalNumber("step_overhead_us", 0);
  if (!step)
    return step.takeError();
  spec.stepOverheadSeconds = *step * 1e-6;

  Expected<const json::Object *> efficiencyObject = entry.child("efficiency");
  if (!efficiencyObject)
    return efficiencyObject.takeError();
  EntryReader efficiency(**efficiencyObject, where + ".efficiency");
  if (Error e = efficiency.onlyKnown(
          {"compute", "hbm", "attention", "attention_compute", "intra_node",
           "inter_node"}))
    return std::move(e);
  Expected<double> compute = efficiency.number("compute", false, 1);
  Expected<double> hbmEff = efficiency.number("hbm", false, 1);
  Expected<double> intraEff = efficiency.number("intra_node", false, 1);
  Expected<double> interEff = efficiency.number("inter_node", false, 1);
  for (Expected<double> *field : {&compute, &hbmEff, &intraEff, &interEff})
    if (!*field)
      return field->takeError();
  spec.computeEfficiency = *compute;
  spec.hbmEfficiency = *hbmEff;
  // An optional efficiency in (0, 1] that defaults to another one.
  auto defaulted = [&](StringRef key, double fallback) -> Expected<double> {
    Expected<double> value = efficiency.optionalNumber(key, fallback, 1);
    if (value && *value <= 0)
      return efficiency.error(
          formatv("field '{0}' must be > 0, got 0", key).str());
    return value;
  };
  // Attention streams the KV cache like a GEMV streams weights, and its
  // prefill FLOPs run on tensor cores like a GEMM's, unless told otherwise.
  Expected<double> attention = defaulted("attention", *hbmEff);
  if (!attention)
    return attention.takeError();
  spec.attentionEfficiency = *attention;
  Expected<double> attentionCompute =
      defaulted("attention_compute", *compute);
  if (!attentionCompute)
    return attentionCompute.takeError();
  spec.attentionComputeEfficiency = *attentionCompute;

  Expected<LinkSpec> intra = parseLink(entry, "intra_node", *intraEff, where);
  if (!intra)
    return intra.takeError();
  Expected<LinkSpec> inter = parseLink(entry, "inter_node", *interEff, where);
  if (!inter)
    return inter.takeError();
  spec.intraNode = *intra;
  spec.interNode = *inter;
  return spec;
}

bool matches(const HardwareSpec &spec, StringRef name) {
  if (name.equals_insensitive(spec.name))
    return true;
  return llvm::any_of(spec.aliases, [&](const std::string &alias) {
    return name.equals_insensitive(alias);
  });
}

} // namespace

HardwareDatabase HardwareDatabase::builtin() {
  Expected<HardwareDatabase> db =
      parse(builtinHardwareJson(), "lib/plan/hardware.json");
  if (!db)
    report_fatal_error(Twine("built-in hardware database is invalid: ") +
                       toString(db.takeError()));
  return std::move(*db);
}

Expected<HardwareDatabase> HardwareDatabase::parse(StringRef text,
                                                   StringRef source) {
  HardwareDatabase db;
  if (Error e = db.addText(text, source))
    return std::move(e);
  return db;
}

Error HardwareDatabase::addFile(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(path);
  if (!buffer)
    return createStringError(buffer.getError(),
                             "cannot read hardware file '" + path +
                                 "': " + buffer.getError().message());
  return addText((*buffer)->getBuffer(), path);
}

Error HardwareDatabase::addText(StringRef text, StringRef source) {
  Expected<json::Value> root = json::parse(text);
  if (!root)
    return createStringError(
        inconvertibleErrorCode(),
        source + ": not valid JSON: " + toString(root.takeError()));
  const json::Object *object = root->getAsObject();
  const json::Array *entries = object ? object->getArray("hardware") : nullptr;
  if (!entries)
    return createStringError(
        inconvertibleErrorCode(),
        source + ": expected an object with a \"hardware\" array of entries "
                 "(see lib/plan/hardware.json)");
  for (const auto &[key, value] : *object)
    if (key != "hardware" && key != "doc")
      return createStringError(inconvertibleErrorCode(),
                               source + ": unknown top-level field '" +
                                   StringRef(key) +
                                   "'; known fields: doc, hardware");
  std::vector<HardwareSpec> added;
  for (auto [index, value] : llvm::enumerate(*entries)) {
    Expected<HardwareSpec> spec = parseEntry(value, index, source);
    if (!spec)
      return spec.takeError();
    for (const HardwareSpec &other : added)
      if (matches(other, spec->name) ||
          llvm::any_of(spec->aliases, [&](const std::string &alias) {
            return matches(other, alias);
          }))
        return createStringError(
            inconvertibleErrorCode(),
            formatv("{0}: hardware[{1}] ('{2}'): name or alias already used "
                    "by '{3}' in the same file",
                    source, index, spec->name, other.name)
                .str());
    added.push_back(std::move(*spec));
  }
  // Later files win: a calibrated copy of a built-in entry replaces it and
  // answers to the replaced entry's names too.
  for (HardwareSpec &spec : added) {
    llvm::erase_if(specs, [&](const HardwareSpec &old) {
      bool replaced = matches(old, spec.name) ||
                      llvm::any_of(spec.aliases, [&](const std::string &alias) {
                        return matches(old, alias);
                      });
      if (replaced)
        for (const std::string &name : llvm::concat<const std::string>(
                 ArrayRef<std::string>(old.name), old.aliases))
          if (!matches(spec, name))
            spec.aliases.push_back(name);
      return replaced;
    });
    specs.push_back(std::move(spec));
  }
  return Error::success();
}

Expected<HardwareSpec> HardwareDatabase::lookup(StringRef name) const {
  for (const HardwareSpec &spec : specs)
    if (matches(spec, name))
      return spec;
  return createStringError(inconvertibleErrorCode(),
                           formatv("unknown hardware '{0}'; known hardware: "
                                   "{1} (add others with --hardware-file)",
                                   name, knownNames())
                               .str());
}

std::string HardwareDatabase::knownNames() const {
  SmallVector<std::string> names;
  for (const HardwareSpec &spec : specs) {
    std::string name = spec.name;
    if (!spec.aliases.empty())
      name += " (" + join(spec.aliases, ", ") + ")";
    names.push_back(name);
  }
  return join(names, ", ");
}

} // namespace llmc
