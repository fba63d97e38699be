//===- Relative.cu - input of back-edges.test (planted includes) --------===//
#include "../model/Manifest.h"
