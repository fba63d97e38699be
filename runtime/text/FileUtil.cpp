//===- FileUtil.cpp - whole-file reads for the text library ---------------===//

#include "runtime/text/FileUtil.h"

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

} // namespace llmc::text
