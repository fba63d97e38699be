//===- RuntimeHeaders.cpp - what a runtime source may include -------------===//
//
// The control of the include-scope probe (ProbeIncludes.cmake): compiled in
// runtime/'s scope with every runtime library's usage requirements, as part
// of the normal build, so the failures of the other probes cannot come from
// flags that compile nothing.
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/Status.h"
#include "runtime/model/Manifest.h"

#include <nlohmann/json.hpp>

namespace llmc::rt {

/// Uses what it includes, so the control cannot compile by skipping them.
Status probeRuntimeHeaders(const std::string &text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? Status::error("not JSON") : Status::ok();
}

} // namespace llmc::rt
