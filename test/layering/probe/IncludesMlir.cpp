//===- IncludesMlir.cpp - a runtime source including an MLIR header -------===//
//
// Must not compile with a runtime library's flags (ProbeIncludes.cmake).
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/Status.h"

#include "mlir/IR/Builders.h"
