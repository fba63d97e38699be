//===- QuantizationConfig.h - config.json's quantization_config -*- C++ -*-===//
//
// Internal to lib/import: reads the quantization_config of an FP8 checkpoint
// (compressed-tensors or fp8) into ModelConfig::quantization, refusing every
// other method and every option llmc does not implement with the field
// named.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_LIB_IMPORT_QUANTIZATIONCONFIG_H
#define LLMC_LIB_IMPORT_QUANTIZATIONCONFIG_H

#include "lib/import/FieldReader.h"
#include "llmc/Import/ModelConfig.h"

namespace llmc {

/// Reads `quantization_config` of the top-level config object (after the
/// layer structure is known, so that MoE routers can be checked).
llvm::Error readQuantizationConfig(FieldReader &reader, ModelConfig &config);

} // namespace llmc

#endif // LLMC_LIB_IMPORT_QUANTIZATIONCONFIG_H
