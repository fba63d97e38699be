//===- llm-launch.cpp - start the ranks of a compiled model on one node ---===//
//
// `llm-launch -n N [--] BIN ARGS...`: see runtime/launch/Launcher.h. Plain
// C++17 (no MLIR or LLVM), so it ships next to DIR/llm-model.
//
//===----------------------------------------------------------------------===//

#include "runtime/launch/Launcher.h"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  llmc::rt::Expected<llmc::rt::LaunchOptions> options =
      llmc::rt::parseLaunchArgs(args);
  if (!options) {
    std::cerr << "llm-launch: error: " << options.status().message() << "\n"
              << llmc::rt::launchUsage();
    return 2;
  }
  if (options->help) {
    std::cout << llmc::rt::launchUsage();
    return 0;
  }
  return llmc::rt::runLaunch(*options, std::cerr);
}
