//===- Regex.cpp - PCRE2 for the split patterns of tokenizer.json ---------===//
//
// Oniguruma's Unicode \s is U+0009..U+000D, U+0085 and the Z categories;
// PCRE2's also takes U+180E. Its \w is letters, marks, digits and connector
// punctuation, PCRE2's (10.42) letters, numbers and '_'. Both are spelled
// out explicitly here so the two engines agree on every code point.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdio>
#include <mutex>

namespace llmc::text {

using rt::Expected;
using rt::Status;

namespace {

constexpr std::string_view kSpaceClass = "\\t-\\r\\x{85}\\p{Z}";
constexpr std::string_view kWordClass = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";

} // namespace

Expected<std::string> translateOniguruma(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  int classDepth = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      std::string_view set;
      bool negated = false;
      if (e == 's' || e == 'S')
        set = kSpaceClass, negated = e == 'S';
      else if (e == 'w' || e == 'W')
        set = kWordClass, negated = e == 'W';
      if (set.empty()) {
        out.push_back(c);
        out.push_back(e);
        ++i;
        continue;
      }
      if (classDepth == 0) {
        out += negated ? "[^" : "[";
        out += set;
        out += "]";
      } else if (!negated) {
        out += set;
      } else {
        return Expected<std::string>::fromError(Status::error(
            "pattern '" + std::string(p) + "': \\" + std::string(1, e) +
            " inside a character class (offset " + std::to_string(i) +
            ") is not supported"));
      }
      ++i;
      continue;
    }
    if (c == '[') {
      // "[:alpha:]" inside a class is a POSIX class, not a nested class.
      if (classDepth > 0 && i + 1 < p.size() && p[i + 1] == ':') {
        size_t close = p.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(p.substr(i, close + 2 - i));
          i = close + 1;
          continue;
        }
      }
      out.push_back(c);
      ++classDepth;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < p.size() && p[i + 1] == '^') {
        out.push_back('^');
        ++i;
      }
      if (i + 1 < p.size() && p[i + 1] == ']') {
        out.push_back(']');
        ++i;
      }
      continue;
    }
    if (c == ']' && classDepth > 0)
      --classDepth;
    out.push_back(c);
  }
  return out;
}

struct Regex::Code {
  pcre2_code *code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

namespace {

/// Per-thread matching state: one ovector pair is all findAll reads, so one
/// match-data block serves every pattern.
struct ThreadMatchState {
  pcre2_match_data *data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context *context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack *stack = pcre2_jit_stack_create(64 * 1024, 8 << 20, nullptr);
  ThreadMatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

ThreadMatchState &matchState() {
  thread_local ThreadMatchState state;
  return state;
}

} // namespace

Expected<Regex> Regex::compile(std::string_view pattern) {
  Expected<std::string> translated = translateOniguruma(pattern);
  if (!translated)
    return Expected<Regex>::fromError(translated.status());
  return build(pattern, *translated, PCRE2_MULTILINE);
}

Expected<Regex> Regex::build(std::string_view original,
                             const std::string &pcrePattern,
                             uint32_t extraOptions) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_compile_context *cc = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
  pcre2_code *code = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(pcrePattern.data()), pcrePattern.size(),
      PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | extraOptions, &err,
      &offset, cc);
  pcre2_compile_context_free(cc);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    return Expected<Regex>::fromError(Status::error(
        "pattern '" + std::string(original) + "' does not compile (offset " +
        std::to_string(offset) + "): " + reinterpret_cast<char *>(buf)));
  }
  // JIT is an optimisation: without it (an unsupported CPU, a sanitizer
  // build) pcre2_match interprets the same code.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  auto holder = std::make_shared<Code>();
  holder->code = code;
  Regex r;
  r.code_ = std::move(holder);
  r.pattern_ = std::string(original);
  return r;
}

void Regex::findAll(std::string_view text,
                    std::vector<std::pair<size_t, size_t>> &out) const {
  ThreadMatchState &st = matchState();
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(code_->code,
                         reinterpret_cast<PCRE2_SPTR>(text.data()),
                         text.size(), pos, PCRE2_NO_UTF_CHECK, st.data,
                         st.context);
    if (rc == PCRE2_ERROR_NOMATCH)
      break;
    if (rc < 0) {
      // A resource limit of the JIT (its stack): retry this search with
      // the interpreter, whose heap-based backtracking has far more room.
      rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()),
                       text.size(), pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                       st.data, st.context);
      if (rc == PCRE2_ERROR_NOMATCH)
        break;
      if (rc < 0) {
        // Never silently: the rest of the text is left unsplit, and the
        // process says so once.
        static std::once_flag warned;
        std::call_once(warned, [&] {
          PCRE2_UCHAR buf[256];
          pcre2_get_error_message(rc, buf, sizeof(buf));
          std::fprintf(stderr,
                       "llmc text: pattern '%s' gave up on a %zu-byte input "
                       "(%s); the rest of that input is not split by it\n",
                       pattern_.c_str(), text.size(),
                       reinterpret_cast<char *>(buf));
        });
        break;
      }
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st.data);
    size_t b = ov[0], e = ov[1];
    out.emplace_back(b, e);
    if (e > b) {
      pos = e;
    } else {
      if (e >= text.size())
        break;
      // Step over one whole character.
      pos = e + 1;
      while (pos < text.size() && (uint8_t(text[pos]) & 0xC0) == 0x80)
        ++pos;
    }
  }
}

bool Regex::search(std::string_view text) const {
  ThreadMatchState &st = matchState();
  int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()),
                       text.size(), 0, PCRE2_NO_UTF_CHECK, st.data,
                       st.context);
  return rc >= 0;
}



} // namespace llmc::text
