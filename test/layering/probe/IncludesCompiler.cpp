//===- IncludesCompiler.cpp - a runtime source including llmc passes ----===//
//
// Must not compile with a runtime library's flags (ProbeIncludes.cmake):
// the compiler's include/ is not on the runtime's path.
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/Status.h"

#include "llmc/Passes/Passes.h"
