//===- FileUtil.h - whole-file reads for the text library -------*- C++ -*-===//
#ifndef LLMC_RUNTIME_TEXT_FILEUTIL_H
#define LLMC_RUNTIME_TEXT_FILEUTIL_H

#include "runtime/weights/Status.h"

#include <string>

namespace llmc::text {

/// The bytes of `path`; the error names the path.
rt::Expected<std::string> readFile(const std::string &path);
/// True when `path` can be opened for reading.
bool fileExists(const std::string &path);

} // namespace llmc::text

#endif // LLMC_RUNTIME_TEXT_FILEUTIL_H
