//===- Slice.h - input of back-edges.test (planted includes) ------------===//
#include "llmc/Passes/Passes.h"
