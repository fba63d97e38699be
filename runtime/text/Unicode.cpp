//===- Unicode.cpp - UTF-8 handling and Unicode normalization -------------===//
//
// UTF-8 validation follows Unicode Table 3-7 (well-formed byte sequences);
// repair replaces each maximal subpart of an ill-formed sequence by one
// U+FFFD, which is what both reference implementations do (Rust's
// String::from_utf8_lossy and the WHATWG decoder used by JavaScript), so a
// tokenizer fed invalid bytes sees the same text they would.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Unicode.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include <array>
#include <mutex>
#include <stdexcept>

namespace llmc::text {

namespace {

/// Valid range of the second byte after lead byte `b` (Table 3-7); the
/// third and fourth bytes are always 80..BF.
bool secondByteRange(uint8_t lead, uint8_t &lo, uint8_t &hi) {
  lo = 0x80;
  hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF)
    return true;
  if (lead == 0xE0)
    lo = 0xA0;
  else if (lead == 0xED)
    hi = 0x9F;
  else if (lead == 0xF0)
    lo = 0x90;
  else if (lead == 0xF4)
    hi = 0x8F;
  else if (!((lead >= 0xE1 && lead <= 0xEC) || (lead >= 0xEE && lead <= 0xEF) ||
             (lead >= 0xF1 && lead <= 0xF3)))
    return false;
  return true;
}

size_t sequenceLengthOfLead(uint8_t lead) {
  if (lead < 0x80)
    return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return 2;
  if (lead >= 0xE0 && lead <= 0xEF)
    return 3;
  if (lead >= 0xF0 && lead <= 0xF4)
    return 4;
  return 0;
}

} // namespace

size_t utf8SequenceLength(std::string_view s, size_t i, uint32_t *cp) {
  uint8_t lead = uint8_t(s[i]);
  size_t n = sequenceLengthOfLead(lead);
  if (n == 0 || i + n > s.size())
    return 0;
  if (n == 1) {
    if (cp)
      *cp = lead;
    return 1;
  }
  uint8_t lo, hi;
  secondByteRange(lead, lo, hi);
  uint8_t b1 = uint8_t(s[i + 1]);
  if (b1 < lo || b1 > hi)
    return 0;
  for (size_t k = 2; k < n; ++k) {
    uint8_t b = uint8_t(s[i + k]);
    if (b < 0x80 || b > 0xBF)
      return 0;
  }
  if (cp) {
    uint32_t v = lead & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k)
      v = (v << 6) | (uint8_t(s[i + k]) & 0x3F);
    *cp = v;
  }
  return n;
}

size_t utf8InvalidPrefixLength(std::string_view s, size_t i, bool complete) {
  uint8_t lead = uint8_t(s[i]);
  size_t n = sequenceLengthOfLead(lead);
  if (n <= 1)
    return 1; // a stray continuation byte or an impossible lead
  uint8_t lo, hi;
  secondByteRange(lead, lo, hi);
  size_t k = 1;
  for (; k < n && i + k < s.size(); ++k) {
    uint8_t b = uint8_t(s[i + k]);
    bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok)
      return k;
  }
  // Every byte present is a valid continuation: the sequence was cut short.
  if (!complete)
    return 0;
  return k;
}

bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8SequenceLength(s, i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

std::string sanitizeUtf8(std::string_view s) {
  // Fast path: nearly every input is already valid.
  size_t i = 0;
  while (i < s.size()) {
    if (uint8_t(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = utf8SequenceLength(s, i);
    if (n == 0)
      break;
    i += n;
  }
  if (i == s.size())
    return std::string(s);
  std::string out(s.substr(0, i));
  while (i < s.size()) {
    size_t n = utf8SequenceLength(s, i);
    if (n) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append(kReplacementChar);
      i += utf8InvalidPrefixLength(s, i);
    }
  }
  return out;
}

void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

uint32_t nextCodePoint(std::string_view s, size_t &i) {
  uint32_t cp = 0;
  size_t n = utf8SequenceLength(s, i, &cp);
  if (n == 0) { // not reached for valid input; step over one byte
    ++i;
    return 0xFFFD;
  }
  i += n;
  return cp;
}

size_t codePointCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

bool isWhitespace(uint32_t cp) { return u_isUWhiteSpace(UChar32(cp)); }

bool isWordChar(uint32_t cp) {
  UChar32 c = UChar32(cp);
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC) ||
      u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL))
    return true;
  int8_t t = u_charType(c);
  return t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK ||
         t == U_COMBINING_SPACING_MARK || t == U_DECIMAL_DIGIT_NUMBER ||
         t == U_CONNECTOR_PUNCTUATION;
}

bool isPythonSpace(uint32_t cp) {
  return (cp >= 0x1c && cp <= 0x1f) || isWhitespace(cp);
}

size_t leadingRun(std::string_view s, bool (*pred)(uint32_t)) {
  size_t b = 0;
  while (b < s.size()) {
    size_t i = b;
    if (!pred(nextCodePoint(s, i)))
      break;
    b = i;
  }
  return b;
}

size_t trailingRunStart(std::string_view s, bool (*pred)(uint32_t)) {
  size_t e = s.size();
  while (e > 0) {
    size_t start = e - 1;
    while (start > 0 && (uint8_t(s[start]) & 0xC0) == 0x80)
      --start;
    size_t i = start;
    if (!pred(nextCodePoint(s, i)))
      break;
    e = start;
  }
  return e;
}

namespace {

icu::UnicodeString toIcu(std::string_view s) {
  return icu::UnicodeString::fromUTF8(
      icu::StringPiece(s.data(), int32_t(s.size())));
}

std::string fromIcu(const icu::UnicodeString &u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

const icu::Normalizer2 *normalizerFor(NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2 *n = nullptr;
  switch (form) {
  case NormalForm::NFC:
    n = icu::Normalizer2::getNFCInstance(status);
    break;
  case NormalForm::NFD:
    n = icu::Normalizer2::getNFDInstance(status);
    break;
  case NormalForm::NFKC:
    n = icu::Normalizer2::getNFKCInstance(status);
    break;
  case NormalForm::NFKD:
    n = icu::Normalizer2::getNFKDInstance(status);
    break;
  }
  if (U_FAILURE(status) || !n)
    throw std::runtime_error(std::string("ICU normalizer unavailable: ") +
                             u_errorName(status));
  return n;
}

} // namespace

std::string normalize(std::string_view s, NormalForm form) {
  const icu::Normalizer2 *n = normalizerFor(form);
  icu::UnicodeString u = toIcu(s);
  UErrorCode status = U_ZERO_ERROR;
  // Most text is already normalized; isNormalized is a cheap check.
  if (n->isNormalized(u, status) && U_SUCCESS(status))
    return std::string(s);
  status = U_ZERO_ERROR;
  icu::UnicodeString out = n->normalize(u, status);
  if (U_FAILURE(status))
    throw std::runtime_error(std::string("ICU normalization failed: ") +
                             u_errorName(status));
  return fromIcu(out);
}

std::string toLower(std::string_view s) {
  icu::UnicodeString u = toIcu(s);
  u.toLower(icu::Locale::getRoot());
  return fromIcu(u);
}

std::string toUpper(std::string_view s) {
  icu::UnicodeString u = toIcu(s);
  u.toUpper(icu::Locale::getRoot());
  return fromIcu(u);
}

std::string stripMarks(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    uint32_t cp = nextCodePoint(s, i);
    if (!(U_GET_GC_MASK(UChar32(cp)) & U_GC_M_MASK))
      out.append(s.substr(start, i - start));
  }
  return out;
}

namespace {

struct ByteTables {
  std::array<uint32_t, 256> toChar{};
  std::array<int, 324> toByte{}; // characters < U+0144
  ByteTables() {
    toByte.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
      toChar[b] = printable ? uint32_t(b) : next++;
    }
    for (int b = 0; b < 256; ++b)
      toByte[toChar[b]] = b;
  }
};

const ByteTables &byteTables() {
  static const ByteTables tables;
  return tables;
}

} // namespace

uint32_t byteToChar(uint8_t b) { return byteTables().toChar[b]; }

int charToByte(uint32_t cp) {
  const ByteTables &t = byteTables();
  return cp < t.toByte.size() ? t.toByte[cp] : -1;
}

} // namespace llmc::text
