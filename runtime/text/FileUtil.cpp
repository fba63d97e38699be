//===- FileUtil.cpp - files and JSON strings for the text tools -----------===//

#include "runtime/text/FileUtil.h"

#include "runtime/text/Unicode.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace llmc::text {

rt::Expected<std::string> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return rt::Expected<std::string>::fromError(rt::Status::error(
        path + ": cannot open the file (" + std::strerror(errno) + ")"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    return rt::Expected<std::string>::fromError(
        rt::Status::error(path + ": read error"));
  return ss.str();
}

bool fileExists(const std::string &path) {
  std::ifstream in(path);
  return bool(in);
}

rt::Expected<std::string> decodeJsonString(std::string_view literal) {
  using Result = rt::Expected<std::string>;
  nlohmann::json j = nlohmann::json::parse(literal.begin(), literal.end(),
                                           nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return Result::fromError(rt::Status::error("not valid JSON"));
  if (!j.is_string())
    return Result::fromError(rt::Status::error(
        std::string("expected a JSON string, got a JSON ") + j.type_name()));
  return j.get<std::string>();
}

std::string encodeJsonString(std::string_view text) {
  return nlohmann::json(sanitizeUtf8(text)).dump();
}

} // namespace llmc::text
