//===- Attention.cu - input of back-edges.test (planted includes) -------===//
#include "runtime/abi/Ops.h"
#include "runtime/gemm/Gemm.h"
#include "runtime/model/Manifest.h"
