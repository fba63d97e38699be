//===- llm-import.cpp - Hugging Face checkpoint to llm dialect ------------===//
//
// llm-import MODEL [-o out.mlir]
//
// MODEL is a checkpoint folder (config.json, optionally *.safetensors or a
// sharded model.safetensors.index.json) or a config.json file. When the
// folder has safetensors, every weight the graph names is checked against
// them (presence, shape, and a float dtype the loaders convert: BF16, F16,
// F32, F64).
//
//===----------------------------------------------------------------------===//

#include "llmc/Driver/CommandLine.h"
#include "llmc/Driver/ToolSupport.h"
#include "llmc/Import/Importer.h"

#include "llmc/Dialect/Llm/LlmDialect.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"

using namespace llvm;

static cl::OptionCategory importCategory("llm-import options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<checkpoint folder or "
                                               "config.json>"),
                                      cl::cat(importCategory));
static cl::opt<std::string> outputPath("o",
                                       cl::desc("Output file (default: "
                                                "stdout)"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(importCategory));
static cl::opt<bool> skipWeights(
    "skip-weights-check",
    cl::desc("Do not check the folder's safetensors against the graph"),
    cl::init(false), cl::cat(importCategory));

static int fail(const Twine &message) {
  return llmc::reportToolError("llm-import", message);
}

/// True when `dir` holds safetensors files (single or sharded).
static bool hasSafetensors(StringRef dir) {
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (StringRef(it->path()).ends_with(".safetensors") ||
        StringRef(it->path()).ends_with(".safetensors.index.json"))
      return true;
  return false;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  llmc::parseToolCommandLine(argc, argv,
                             "llm-import: Hugging Face checkpoint -> llm "
                             "dialect\n",
                             {&importCategory});
  std::string configPath = modelPath;
  bool isDir = sys::fs::is_directory(modelPath);
  if (isDir) {
    SmallString<256> path(modelPath);
    sys::path::append(path, "config.json");
    configPath = std::string(path);
    if (!sys::fs::exists(configPath))
      return fail(modelPath + ": folder has no config.json");
  } else if (!sys::fs::exists(modelPath)) {
    return fail(modelPath + ": no such file or folder");
  }

  Expected<llmc::ModelConfig> config = llmc::loadModelConfig(configPath);
  if (!config)
    return fail(toString(config.takeError()));

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = llmc::buildModelGraph(
      &context, *config,
      sys::path::filename(isDir ? StringRef(modelPath)
                                : sys::path::parent_path(configPath)));
  if (failed(mlir::verify(*module)))
    return fail("internal error: the graph built from " + configPath +
                " does not verify");
  if (isDir && !skipWeights && hasSafetensors(modelPath))
    if (Error e = llmc::checkCheckpointWeights(*module, modelPath))
      return fail(toString(std::move(e)));

  if (Error e = llmc::writeOutputFile(outputPath, [&](raw_ostream &os) {
        module->print(os);
        os << "\n";
        return Error::success();
      }))
    return fail(toString(std::move(e)));
  return 0;
}
