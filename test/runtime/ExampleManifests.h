//===- ExampleManifests.h - the runtime tests' input files ------*- C++ -*-===//
//
// The manifests and other files in test/runtime/Inputs, read by the tests
// of the manifest reader, the request checks, the checkpoint checks and the
// cost model.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_RUNTIME_EXAMPLEMANIFESTS_H
#define LLMC_TEST_RUNTIME_EXAMPLEMANIFESTS_H

#include "runtime/model/Manifest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace llmc::rt::testing {

/// The text of test/runtime/Inputs/`name`.
inline std::string readInput(const std::string &name) {
  std::ifstream in(std::string(LLMC_RUNTIME_TEST_INPUTS) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// test/runtime/Inputs/`name` parsed as a manifest (a test failure if it
/// does not parse).
inline Manifest exampleManifest(const std::string &name) {
  Expected<Manifest> m = parseManifest(readInput(name), name);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return *m;
}

} // namespace llmc::rt::testing

#endif // LLMC_TEST_RUNTIME_EXAMPLEMANIFESTS_H
