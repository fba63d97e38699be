//===- Unicode.h - UTF-8 handling and Unicode normalization -----*- C++ -*-===//
//
// What the tokenizer needs of Unicode: walking and repairing UTF-8, the
// character classes Hugging Face tokenizers test with Rust's char methods,
// the GPT-2 byte <-> character table, and NFC/NFD/NFKC/NFKD and lowercase
// through ICU (the tables are ICU's; nothing here carries its own).
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_UNICODE_H
#define LLMC_RUNTIME_TEXT_UNICODE_H

#include <cstdint>
#include <string>
#include <string_view>

namespace llmc::text {

/// U+FFFD as UTF-8.
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

/// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when the
/// bytes there are not one (Unicode Table 3-7). `*cp` gets the code point.
size_t utf8SequenceLength(std::string_view s, size_t i, uint32_t *cp = nullptr);

/// Length of the ill-formed prefix at s[i] that gets one U+FFFD under the
/// "maximal subpart" practice (Unicode 3.9, WHATWG's UTF-8 decoder, Rust's
/// from_utf8_lossy); only meaningful where utf8SequenceLength() is 0. When
/// `complete` is false and the subpart runs to the end of `s`, returns 0:
/// more bytes could still complete the sequence.
size_t utf8InvalidPrefixLength(std::string_view s, size_t i,
                               bool complete = true);

/// True when `s` is well-formed UTF-8.
bool isValidUtf8(std::string_view s);

/// `s` with every ill-formed subpart replaced by U+FFFD (maximal subparts).
std::string sanitizeUtf8(std::string_view s);

/// Appends the UTF-8 encoding of `cp` to `out`.
void appendUtf8(std::string &out, uint32_t cp);

/// Decodes the code point at s[i] of valid UTF-8 and advances i.
uint32_t nextCodePoint(std::string_view s, size_t &i);

/// Number of code points of valid UTF-8.
size_t codePointCount(std::string_view s);

/// Rust's char::is_whitespace (the White_Space property).
bool isWhitespace(uint32_t cp);
/// A Unicode word character (Alphabetic, M, Nd, Pc, Join_Control: `\w` of
/// Rust's regex crate), as the added-token `single_word` rule tests.
bool isWordChar(uint32_t cp);

/// Python's str.isspace() on one code point (White_Space plus the
/// separators U+001C..U+001F).
bool isPythonSpace(uint32_t cp);
/// Length of the leading run of `s` (valid UTF-8) whose characters
/// satisfy `pred`.
size_t leadingRun(std::string_view s, bool (*pred)(uint32_t));
/// Where the trailing run of `s` whose characters satisfy `pred` starts.
size_t trailingRunStart(std::string_view s, bool (*pred)(uint32_t));

/// Unicode normalization forms.
enum class NormalForm { NFC, NFD, NFKC, NFKD };
/// `s` (valid UTF-8) in normal form `form`, by ICU.
std::string normalize(std::string_view s, NormalForm form);
/// Full Unicode lowercase mapping (root locale, final sigma), by ICU.
std::string toLower(std::string_view s);
/// Full Unicode uppercase mapping (root locale), by ICU.
std::string toUpper(std::string_view s);
/// `s` without combining marks (general category M), the StripAccents
/// normalizer.
std::string stripMarks(std::string_view s);

/// The GPT-2 byte-level alphabet: every byte maps to one printable
/// character (bytes that are printable Latin-1 map to themselves, the rest
/// to U+0100 upwards, in byte order).
uint32_t byteToChar(uint8_t b);
/// The inverse of byteToChar(), or -1 for a character outside the alphabet.
int charToByte(uint32_t cp);

} // namespace llmc::text

#endif // LLMC_RUNTIME_TEXT_UNICODE_H
