//===- Test.cpp - input of back-edges.test (planted includes) -----------===//
#include "runtime/kernels/Kernels.h"
#include "test/runtime/Helper.h"
