//===- FileUtil.h - files and JSON strings for the text tools ---*- C++ -*-===//
#ifndef LLMC_RUNTIME_TEXT_FILEUTIL_H
#define LLMC_RUNTIME_TEXT_FILEUTIL_H

#include "runtime/abi/Status.h"

#include <string>
#include <string_view>

namespace llmc::text {

/// The bytes of `path`; the error names the path.
rt::Expected<std::string> readFile(const std::string &path);
/// True when `path` can be opened for reading.
bool fileExists(const std::string &path);

/// The string a JSON string literal (one line of a JSON-lines file) holds;
/// surrogate-pair escapes become their code point.
rt::Expected<std::string> decodeJsonString(std::string_view literal);
/// `text` as a JSON string literal (invalid UTF-8 replaced by U+FFFD).
std::string encodeJsonString(std::string_view text);

} // namespace llmc::text

#endif // LLMC_RUNTIME_TEXT_FILEUTIL_H
