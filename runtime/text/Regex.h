//===- Regex.h - PCRE2 for the split patterns of tokenizer.json -*- C++ -*-===//
//
// Hugging Face tokenizers compile their patterns with Oniguruma. PCRE2 (UTF
// and Unicode-property mode, JIT) reads the same syntax for everything the
// published patterns use; the few classes whose Unicode meaning differs
// between the two engines (\s, \S, \w, \W) are rewritten to Oniguruma's
// definition before compiling, and `^`/`$` are line anchors as in
// Oniguruma's Ruby syntax.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_REGEX_H
#define LLMC_RUNTIME_TEXT_REGEX_H

#include "runtime/abi/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmc::text {

/// A compiled pattern. Immutable and safe to share between threads.
class Regex {
public:
  /// Compiles an Oniguruma-syntax pattern; the error names the pattern and
  /// the offset PCRE2 stopped at.
  static rt::Expected<Regex> compile(std::string_view pattern);

  /// Appends the [begin, end) byte ranges of the successive non-overlapping
  /// leftmost matches in `text` (valid UTF-8). After an empty match the
  /// search resumes one character later, as Oniguruma's iterator does.
  void findAll(std::string_view text,
               std::vector<std::pair<size_t, size_t>> &out) const;
  /// True when the pattern matches somewhere in `text`.
  bool search(std::string_view text) const;

  const std::string &pattern() const { return pattern_; }

private:
  struct Code;
  static rt::Expected<Regex> build(std::string_view original,
                                   const std::string &pcrePattern,
                                   uint32_t options);
  std::shared_ptr<const Code> code_;
  std::string pattern_;
};

/// `pattern` rewritten for PCRE2 (exposed for tests).
rt::Expected<std::string> translateOniguruma(std::string_view pattern);

} // namespace llmc::text

#endif // LLMC_RUNTIME_TEXT_REGEX_H
