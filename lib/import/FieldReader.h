//===- FieldReader.h - typed fields of a config.json object ----*- C++ -*-===//
//
// Internal to lib/import: reads typed fields of one JSON object with errors
// that name the file and the (qualified) field, so config.json and its
// nested objects (rope_scaling, quantization_config) report problems the
// same way.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_LIB_IMPORT_FIELDREADER_H
#define LLMC_LIB_IMPORT_FIELDREADER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <optional>
#include <string>

namespace llmc {

/// Reads typed fields from one JSON object, producing errors that name the
/// file and the field.
class FieldReader {
public:
  /// `prefix` qualifies field names of nested objects ("rope_scaling.").
  FieldReader(llvm::StringRef path, const llvm::json::Object &object,
              llvm::StringRef prefix = "")
      : path(path), object(object), prefix(prefix) {}

  llvm::Error error(llvm::StringRef field, const llvm::Twine &rule) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": field '" + prefix + field +
                                       "': " + rule);
  }

  bool has(llvm::StringRef field) const {
    const llvm::json::Value *v = object.get(field);
    return v && v->kind() != llvm::json::Value::Null;
  }

  /// An integer in [min, max]; `fallback` when absent or null (required
  /// when no fallback).
  llvm::Expected<int64_t>
  integer(llvm::StringRef field, int64_t min, int64_t max,
          std::optional<int64_t> fallback = std::nullopt) {
    const llvm::json::Value *v = object.get(field);
    if (!v || v->kind() == llvm::json::Value::Null) {
      if (fallback)
        return *fallback;
      return error(field, "is required but missing");
    }
    std::optional<int64_t> value = v->getAsInteger();
    if (!value)
      return error(field,
                   llvm::formatv("must be an integer, got {0}", render(*v)));
    if (*value < min)
      return error(field, llvm::formatv("= {0} must be >= {1}", *value, min));
    if (*value > max)
      return error(field,
                   llvm::formatv("= {0} exceeds the supported maximum {1}",
                                 *value, max));
    return *value;
  }

  /// A finite number > 0 (or >= 0 when `allowZero`).
  llvm::Expected<double> positive(llvm::StringRef field,
                                  std::optional<double> fallback,
                                  bool allowZero = false) {
    const llvm::json::Value *v = object.get(field);
    if (!v || v->kind() == llvm::json::Value::Null) {
      if (fallback)
        return *fallback;
      return error(field, "is required but missing");
    }
    std::optional<double> value = v->getAsNumber();
    if (!value)
      return error(field,
                   llvm::formatv("must be a number, got {0}", render(*v)));
    if (!std::isfinite(*value) || *value < 0 || (!allowZero && *value == 0))
      return error(field, llvm::formatv("= {0} must be a finite number {1} 0",
                                        render(*v), allowZero ? ">=" : ">"));
    return *value;
  }

  llvm::Expected<bool> boolean(llvm::StringRef field, bool fallback) {
    const llvm::json::Value *v = object.get(field);
    if (!v || v->kind() == llvm::json::Value::Null)
      return fallback;
    std::optional<bool> value = v->getAsBoolean();
    if (!value)
      return error(field,
                   llvm::formatv("must be true or false, got {0}", render(*v)));
    return *value;
  }

  llvm::Expected<std::optional<std::string>> string(llvm::StringRef field) {
    const llvm::json::Value *v = object.get(field);
    if (!v || v->kind() == llvm::json::Value::Null)
      return std::optional<std::string>();
    std::optional<llvm::StringRef> value = v->getAsString();
    if (!value)
      return error(field,
                   llvm::formatv("must be a string, got {0}", render(*v)));
    return std::optional<std::string>(value->str());
  }

  static std::string render(const llvm::json::Value &v) {
    std::string text = llvm::formatv("{0}", v).str();
    if (text.size() > 60)
      text = text.substr(0, 57) + "...";
    return text;
  }

  llvm::StringRef path;
  const llvm::json::Object &object;
  llvm::StringRef prefix;
};

#define ASSIGN_OR_RETURN(lhs, expr)                                            \
  do {                                                                         \
    auto _result = (expr);                                                     \
    if (!_result)                                                              \
      return _result.takeError();                                              \
    lhs = std::move(*_result);                                                 \
  } while (false)

} // namespace llmc

#endif // LLMC_LIB_IMPORT_FIELDREADER_H
