//===- Weights.cpp - input of back-edges.test (planted includes) --------===//
#include "runtime/model/Manifest.h"
#include <mlir/IR/Builders.h>
