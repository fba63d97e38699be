//===- Status.h - the runtime's error type -------------------------*- C++ -*-===//
//
// The compiler links runtime libraries (weights, manifest) into code built
// with -fno-exceptions, so every fallible runtime call reports failure
// through these two types instead of throwing.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_ABI_STATUS_H
#define LLMC_RUNTIME_ABI_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace llmc::rt {

/// Success, or an error carrying a human-readable message.
class [[nodiscard]] Status {
public:
  /// A successful status.
  static Status ok() { return Status(); }
  /// An error; the message should name the file, the tensor and the rule.
  static Status error(std::string msg) {
    Status s;
    s.failed_ = true;
    s.message_ = std::move(msg);
    return s;
  }

  bool isOk() const { return !failed_; }
  /// True when ok, so `if (Status s = f(); !s)` reads as "if f failed".
  explicit operator bool() const { return isOk(); }
  /// Empty for a successful status.
  const std::string &message() const { return message_; }

private:
  Status() = default;
  // A flag rather than "message is empty" so error("") is still an error.
  bool failed_ = false;
  std::string message_;
};

/// Either a T or the error Status explaining why there is none.
template <class T> class [[nodiscard]] Expected {
public:
  Expected(T value) : value_(std::move(value)) {}
  /// Wraps an error; an ok Status is turned into a generic error so that an
  /// Expected without a value never reports success.
  static Expected fromError(Status status) {
    Expected e;
    e.status_ =
        status.isOk() ? Status::error("unknown error") : std::move(status);
    return e;
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  /// Requires ok().
  T &value() {
    assert(ok() && "Expected::value() on an error");
    return *value_;
  }
  const T &value() const {
    assert(ok() && "Expected::value() on an error");
    return *value_;
  }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T &operator*() { return value(); }
  const T &operator*() const { return value(); }

  /// Status::ok() when a value is held.
  const Status &status() const { return status_; }

private:
  Expected() = default;
  std::optional<T> value_;
  Status status_ = Status::ok();
};

} // namespace llmc::rt

#endif // LLMC_RUNTIME_ABI_STATUS_H
