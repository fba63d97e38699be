//===- Gemm.h - input of back-edges.test (planted includes) -------------===//
#include "runtime/kernels/Kernels.h"
