//===- Communicator.cpp - shared helpers of the communicators -------------===//

#include "runtime/comm/Communicator.h"
#include "runtime/comm/DeviceOps.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace llmc::rt {

Communicator::~Communicator() = default;
DeviceOps::~DeviceOps() = default;

size_t dataTypeSize(DataType type) {
  switch (type) {
  case DataType::BF16:
    return 2;
  case DataType::F32:
  case DataType::I32:
    return 4;
  case DataType::I64:
    return 8;
  case DataType::U8:
    return 1;
  }
  return 1;
}

const char *dataTypeName(DataType type) {
  switch (type) {
  case DataType::BF16:
    return "bf16";
  case DataType::F32:
    return "f32";
  case DataType::I32:
    return "i32";
  case DataType::I64:
    return "i64";
  case DataType::U8:
    return "u8";
  }
  return "?";
}

double defaultCommTimeoutSeconds() {
  if (const char *v = std::getenv("LLMC_COMM_TIMEOUT_S")) {
    char *end = nullptr;
    double s = std::strtod(v, &end);
    if (end != v && *end == '\0' && s > 0)
      return s;
  }
  return 60.0;
}

std::string secondsText(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", seconds);
  return buf;
}

} // namespace llmc::rt
