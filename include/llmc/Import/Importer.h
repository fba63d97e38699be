//===- Importer.h - Hugging Face checkpoint to llm dialect --------*- C++ -*-===//
//
// llm-import's library: config.json -> ModelConfig -> llm graph, and the
// check that a checkpoint's safetensors hold every weight the graph names.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_IMPORT_IMPORTER_H
#define LLMC_IMPORT_IMPORTER_H

#include "llmc/Import/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace llmc {

/// Builds the whole-model graph: module-level llm.weight declarations and a
/// `@forward(input_ids, positions, kv_cache) -> (logits, next_ids)` function
/// with one llm.decoder_layer per layer.
mlir::OwningOpRef<mlir::ModuleOp>
buildModelGraph(mlir::MLIRContext *context, const ModelConfig &config,
                llvm::StringRef sourceName);

/// Checks every llm.weight of `module` against the safetensors files of
/// `checkpoint` (a folder or one file): present, same shape, same dtype.
/// The error names the tensor, the file and what differs.
llvm::Error checkCheckpointWeights(mlir::ModuleOp module,
                                   llvm::StringRef checkpoint);

/// The safetensors dtype name ("BF16", "F32", ...) of an MLIR element type,
/// or "" when safetensors has none.
std::string safetensorsDTypeName(mlir::Type elementType);

} // namespace llmc

#endif // LLMC_IMPORT_IMPORTER_H
