//===- TextGeneration.h - llm-run --text / --chat -----------------*- C++ -*-===//

#ifndef LLMC_TOOLS_LLMRUN_TEXTGENERATION_H
#define LLMC_TOOLS_LLMRUN_TEXTGENERATION_H

#include "llmc/Reference/Weights.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/CommandLine.h"

#include <cstdint>

namespace llmc {

/// The category of --text, --chat, --tokenizer and --temperature, listed
/// by `llm-run --help`.
llvm::cl::OptionCategory &textOptionCategory();

/// Whether --text or --chat was given (then --prompt is not needed).
bool textRequested();

/// Generates from --text (a completion prompt) or --chat (messages rendered
/// with the chat template) with the tokenizer of --tokenizer (default: the
/// --weights folder) and prints the text as it is decoded. `maxNewTokens`
/// 0: generation_config.json's limit, else the rest of the context.
/// Returns the exit code.
int runTextGeneration(mlir::ModuleOp module, const ref::WeightSource &weights,
                      const std::string &weightsSpec, int64_t maxNewTokens,
                      uint64_t seed, uint64_t memoryLimit);

} // namespace llmc

#endif // LLMC_TOOLS_LLMRUN_TEXTGENERATION_H
