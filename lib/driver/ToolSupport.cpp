//===- ToolSupport.cpp - read a module, report, write the output ----------===//

#include "llmc/Driver/ToolSupport.h"
#include "llmc/Driver/CommandLine.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace llvm;
using namespace llmc;

InputModule::InputModule(mlir::MLIRContext &context)
    : diagnostics(sourceMgr, &context) {}

std::unique_ptr<InputModule> InputModule::parse(StringRef tool, StringRef path,
                                                mlir::MLIRContext &context) {
  std::string error;
  std::unique_ptr<MemoryBuffer> buffer = mlir::openInputFile(path, &error);
  if (!buffer) {
    reportToolError(tool, error);
    return nullptr;
  }
  return parse(std::move(buffer), context);
}

std::unique_ptr<InputModule>
InputModule::parse(std::unique_ptr<MemoryBuffer> buffer,
                   mlir::MLIRContext &context) {
  std::unique_ptr<InputModule> input(new InputModule(context));
  input->sourceMgr.AddNewSourceBuffer(std::move(buffer), SMLoc());
  input->module =
      mlir::parseSourceFile<mlir::ModuleOp>(input->sourceMgr, &context);
  if (!input->module)
    return nullptr;
  return input;
}

Error llmc::writeOutputFile(StringRef path,
                            function_ref<Error(raw_ostream &)> write) {
  std::string error;
  std::unique_ptr<ToolOutputFile> output = mlir::openOutputFile(path, &error);
  if (!output)
    return createStringError(error);
  if (Error e = write(output->os()))
    return e;
  output->keep();
  return Error::success();
}
