//===- ToolSupport.h - read a module, report, write the output -*- C++ -*-===//
//
// What llm-opt, llm-run, llm-plan, llm-compile and llm-import each wrote out:
// open the input (a file or `-` for stdin), parse it with diagnostics that
// name file:line:col, and write the output file only when the tool succeeds.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DRIVER_TOOLSUPPORT_H
#define LLMC_DRIVER_TOOLSUPPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>

namespace llmc {

/// A module parsed from an input file. While it lives, diagnostics emitted
/// in its context (the parser's and later the passes') print with the
/// file's location and source line.
class InputModule {
public:
  /// Parses `path` ("-": stdin) in `context`. Returns null after printing
  /// the reason ("TOOL: error: ..." when the file cannot be read, the
  /// parser's diagnostic when it is not valid IR).
  static std::unique_ptr<InputModule>
  parse(llvm::StringRef tool, llvm::StringRef path, mlir::MLIRContext &context);
  /// Parses the text of `buffer` in `context`; null after the parser's
  /// diagnostic.
  static std::unique_ptr<InputModule>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer, mlir::MLIRContext &context);

  mlir::ModuleOp get() { return *module; }
  mlir::ModuleOp operator*() { return *module; }
  mlir::ModuleOp operator->() { return *module; }

private:
  InputModule(mlir::MLIRContext &context);

  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

/// Writes `path` ("-": stdout) with `write`; the file appears only when
/// `write` returns success (a failed tool leaves no half-written output).
llvm::Error
writeOutputFile(llvm::StringRef path,
                llvm::function_ref<llvm::Error(llvm::raw_ostream &)> write);

} // namespace llmc

#endif // LLMC_DRIVER_TOOLSUPPORT_H
