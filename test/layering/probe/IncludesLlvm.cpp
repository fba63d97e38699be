//===- IncludesLlvm.cpp - a runtime source including an LLVM header -------===//
//
// Must not compile with a runtime library's flags (ProbeIncludes.cmake).
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/Status.h"

#include "llvm/ADT/StringRef.h"
