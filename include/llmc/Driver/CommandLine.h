//===- CommandLine.h - how every llmc tool parses its command line -*- C++ -*-===//
//
// llvm::cl with two corrections every tool needs. First, `--help` lists the
// tool's own options, not the few hundred LLVM registers in any binary that
// links it. Second, a mistyped option is an error. llvm::cl gives every
// one-letter option the Grouping flag, so its default `-h` (an alias of
// `--help`) matched the first letter of any unknown argument starting with
// `h` (`--hardwre=h100`, `--hw`, `--help-me`) as the group `-h ardwre=h100`,
// and printed the help and exited 0 before the rest of the group could be
// rejected. The tools spell the arguments `-h` and `--h` as `--help` before
// parsing and register their own `-h`, which only records that it matched:
// the rest of such a group is then reported as unknown (exit 1).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DRIVER_COMMANDLINE_H
#define LLMC_DRIVER_COMMANDLINE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CommandLine.h"

namespace llmc {

/// Prepares `argv` for llvm::cl: registers the strict `-h` in place of
/// llvm::cl's default one and rewrites the arguments `-h` and `--h` (before
/// a `--`) to `--help`. Call it before the command line is parsed
/// (parseToolCommandLine does).
void prepareCommandLine(int argc, char **argv);

/// After a parse that did not exit: exits 1, naming the argument, when the
/// strict `-h` matched as the first letter of a group of one-letter options
/// (no argument asking for the help does, after prepareCommandLine). For
/// tools whose parsing is done by a library (llm-opt: mlir::parseCLIOptions).
void rejectGroupedShortHelp(int argc, char **argv);

/// Parses the command line of an llmc tool: `--help` shows `categories`
/// (and --help / --version) only, and an unknown or mistyped option is an
/// error with a non-zero exit.
void parseToolCommandLine(
    int argc, char **argv, llvm::StringRef overview,
    llvm::ArrayRef<const llvm::cl::OptionCategory *> categories);

/// Prints "TOOL: error: MESSAGE" to stderr and returns 1, the exit code of
/// every refusal.
int reportToolError(llvm::StringRef tool, const llvm::Twine &message);

} // namespace llmc

#endif // LLMC_DRIVER_COMMANDLINE_H
