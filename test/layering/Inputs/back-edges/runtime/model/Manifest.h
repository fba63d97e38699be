//===- Manifest.h - input of back-edges.test (planted includes) ---------===//
#include "runtime/abi/Ops.h"
