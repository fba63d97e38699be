//===- FuzzSupport.h - helpers shared by the libFuzzer targets --*- C++ -*-===//
//
// Each fuzz target is one LLVMFuzzerTestOneInput over one parser. These
// helpers give the file-based readers a private scratch folder and turn a
// broken invariant into a crash libFuzzer reports (FUZZ_CHECK aborts in
// every build mode, unlike assert under NDEBUG).
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_TEST_FUZZ_FUZZSUPPORT_H
#define LLMC_TEST_FUZZ_FUZZSUPPORT_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <unistd.h>

namespace llmc::fuzz {

/// Aborts with the failed condition when `cond` is false.
#define FUZZ_CHECK(cond, what)                                                 \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s (%s)\n",          \
                   __FILE__, __LINE__, #cond, what);                           \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

/// A folder private to this process, created on first use and removed at
/// exit. Honours TMPDIR.
inline const std::string &scratchDir() {
  static const std::string dir = [] {
    std::string base = std::filesystem::temp_directory_path().string();
    std::string tmpl = base + "/llmc-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::perror("llmc fuzz: mkdtemp");
      std::abort();
    }
    static std::string toRemove = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(toRemove, ec);
    });
    return tmpl;
  }();
  return dir;
}

/// Replaces `path` with exactly `bytes`.
inline void writeFile(const std::string &path, std::string_view bytes) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    std::abort();
  }
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::perror(path.c_str());
    std::abort();
  }
  std::fclose(f);
}

} // namespace llmc::fuzz

#endif // LLMC_TEST_FUZZ_FUZZSUPPORT_H
