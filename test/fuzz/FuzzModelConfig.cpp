//===- FuzzModelConfig.cpp - libFuzzer target: config.json importer -------===//
//
// Any text is either refused by parseModelConfig with a message naming the
// file, or accepted; an accepted config builds a graph that verifies
// (llm-import reports anything else as an internal error).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "llmc/Import/Importer.h"

#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

using namespace llmc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<ModelConfig> config = parseModelConfig("config.json", text);
  if (!config) {
    std::string message = llvm::toString(config.takeError());
    FUZZ_CHECK(llvm::StringRef(message).starts_with("config.json: "),
               message.c_str());
    return 0;
  }
  FUZZ_CHECK(config->slidingWindow.size() == size_t(config->numLayers),
             "slidingWindow has one entry per layer");
  FUZZ_CHECK(config->layerIsMoE.size() == size_t(config->numLayers),
             "layerIsMoE has one entry per layer");

  // A fresh context per input: nothing uniqued by one input leaks into the
  // next, and its memory is returned.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.loadDialect<llm::LlmDialect, mlir::func::FuncDialect>();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      buildModelGraph(&context, *config, "fuzz");
  FUZZ_CHECK(module, "buildModelGraph returned no module");
  FUZZ_CHECK(mlir::succeeded(mlir::verify(*module)), diagnostics.c_str());
  return 0;
}
