//===- FuzzDialect.cpp - libFuzzer target: llm/dist IR parser + verifiers --===//
//
// Arbitrary text through the path llm-opt takes before any pass: parse with
// every llmc dialect registered, then verify. Errors are diagnostics; a
// module that verifies must also print and parse back (what every tool
// writing IR for the next one relies on).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "llmc/Passes/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    llmc::registerLlmcDialects(*r);
    return r;
  }();
  // MLIR's lexer relies on a NUL after the buffer, as files read through
  // MemoryBuffer (what llm-opt parses) have; libFuzzer's data has none.
  const std::string text(reinterpret_cast<const char *>(data), size);

  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return success();
  });
  // Verification separately, as llm-opt's MlirOptMain does after parsing.
  ParserConfig config(&context, /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config);
  if (!module || failed(verify(*module)))
    return 0;

  std::string printed;
  {
    llvm::raw_string_ostream os(printed);
    module->print(os);
  }
  diagnostics.clear();
  OwningOpRef<ModuleOp> again =
      parseSourceString<ModuleOp>(printed, ParserConfig(&context));
  if (!again) {
    std::string what = "a verified module does not parse back:\n" +
                       diagnostics + "--- printed:\n" + printed;
    FUZZ_CHECK(false, what.c_str());
  }
  return 0;
}
