//===- CommandLine.cpp - how every llmc tool parses its command line ------===//

#include "llmc/Driver/CommandLine.h"

#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace llvm;

namespace {
/// The strict `-h`: records that it matched. One letter, so llvm::cl makes
/// it a Grouping option as it did the default alias; unlike the alias it
/// does not print the help and exit while a group is being matched, so the
/// unknown rest of the group is reported.
cl::opt<bool> &shortHelp() {
  static cl::opt<bool> option("h", cl::desc("Alias for --help"), cl::Hidden);
  return option;
}
} // namespace

void llmc::prepareCommandLine(int argc, char **argv) {
  (void)shortHelp();
  static char help[] = "--help";
  for (int i = 1; i < argc; ++i) {
    StringRef arg(argv[i]);
    if (arg == "--")
      break;
    if (arg == "-h" || arg == "--h")
      argv[i] = help;
  }
}

void llmc::rejectGroupedShortHelp(int argc, char **argv) {
  if (!shortHelp())
    return;
  // The argument that is no option but starts with `h`: `-h` matched its
  // first letter and further one-letter options the rest.
  auto options = cl::getRegisteredOptions();
  StringRef tool = sys::path::filename(argv[0]);
  for (int i = 1; i < argc; ++i) {
    StringRef arg(argv[i]);
    if (arg == "--")
      break;
    if (!arg.consume_front("-"))
      continue;
    arg.consume_front("-");
    if (arg.starts_with("h") && !options.count(arg.split('=').first)) {
      WithColor::error(errs(), tool)
          << "unknown command line argument '" << argv[i] << "'; try '"
          << tool << " --help'\n";
      break;
    }
  }
  std::exit(1);
}

void llmc::parseToolCommandLine(
    int argc, char **argv, StringRef overview,
    ArrayRef<const cl::OptionCategory *> categories) {
  prepareCommandLine(argc, argv);
  if (!categories.empty())
    cl::HideUnrelatedOptions(categories);
  cl::ParseCommandLineOptions(argc, argv, overview);
  rejectGroupedShortHelp(argc, argv);
}

int llmc::reportToolError(StringRef tool, const Twine &message) {
  WithColor::error(errs(), tool) << message << "\n";
  return 1;
}
