//===- Codegen.h - llm-compile: per-rank program to a CUDA binary -*- C++ -*-===//
//
// The driver behind llm-compile: from the per-rank program (llm-compile
// quantizes and shards first, as llm-opt does) write manifest.json, lower it with
// llm-lower-to-emitc, translate the emitc module to C++ (DIR/src/model.cu)
// and build DIR/llm-model with nvcc against the prebuilt runtime libraries.
// docs/codegen.md describes the generated code and the manifest.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_CODEGEN_H
#define LLMC_CODEGEN_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace llmc {
namespace rt {
struct Manifest;
} // namespace rt

/// A GPU architecture llm-compile builds for.
struct Target {
  /// What the user wrote (e.g. "h100" or "sm_90a").
  std::string name;
  /// The nvcc architecture, e.g. "sm_90a".
  std::string arch;
  /// Device memory of the named GPU in bytes (its largest variant); for a
  /// bare architecture, the largest of the known GPUs.
  uint64_t memoryBytes = 0;
};

/// Resolves --target: h100 and h200 are sm_90a, a100 is sm_80, and sm_XX
/// (optionally with an `a`/`f` suffix) is taken as written. The error lists
/// the valid names.
llvm::Expected<Target> resolveTarget(llvm::StringRef name);

/// The valid --target values, for help texts and errors.
std::string validTargets();

/// What llm-compile was asked for.
struct CompileOptions {
  std::string target = "h100";
  /// Output directory: DIR/src/model.cu, DIR/manifest.json, DIR/llm-model.
  std::string outputDir;
  /// Largest batch (prompts per run, over all replicas); 0: 1.
  int64_t maxBatch = 0;
  /// Largest prompt + generated length; 0: the model's
  /// max_position_embeddings, at most 4096.
  int64_t maxSeq = 0;
  /// Largest number of rows of one forward call on one rank; 0: the local
  /// batch times max_seq (a whole prompt in one prefill step).
  int64_t maxTokensPerStep = 0;
  /// Precision of the all-reduce after a row-parallel linear: "fp32" (one
  /// linearAllReduce call: fp32 partials, one rounding, as the unsharded
  /// linear) or "bf16" (linear + allReduce of bf16 partials: half the
  /// bytes on the wire).
  std::string tpReduce = "fp32";
  /// q|k|v as column views of one buffer one GEMM writes (false: their own
  /// buffers and a split kernel; llm-lower-to-emitc's qkv-views).
  bool qkvViews = true;
  /// The residual stream's precision: "bf16" (as transformers in bf16) or
  /// "fp32" (unrounded sums; llm-lower-to-emitc's residual).
  std::string residual = "bf16";
  /// Run nvcc (false: sources and manifest only).
  bool build = true;
  /// nvcc to use; empty: the one found at configure time, else
  /// /usr/local/cuda/bin/nvcc.
  std::string nvcc;
  /// When set, print the lowered emitc module here and write nothing
  /// (llm-compile --emit=emitc, for tests of the lowering).
  llvm::raw_ostream *emitcOutput = nullptr;
  /// When set, print the decode kernel plan (llmc/Codegen/DecodePlan.h)
  /// here: what manifest.json's "decode" holds and why (--explain).
  llvm::raw_ostream *explainOutput = nullptr;
};

/// Computes the manifest of a sharded module (before lowering); the arena
/// size is filled in later from the lowering's `llmc.arena` attribute.
llvm::Expected<rt::Manifest> buildManifest(mlir::ModuleOp sharded,
                                           const CompileOptions &options,
                                           const Target &target);

/// Sets `manifest.arenaBytes` from the lowered module's `llmc.arena`.
void setArenaBytes(rt::Manifest &manifest, mlir::ModuleOp lowered);

/// The nvcc command line that builds `outputDir`/llm-model.
std::vector<std::string> nvccCommand(const std::string &nvcc,
                                     const Target &target,
                                     const std::string &outputDir);

/// The error compileModel returns after reporting a problem in the IR as
/// MLIR diagnostics: callers print nothing more.
class DiagnosedError : public llvm::ErrorInfo<DiagnosedError> {
public:
  static char ID;
  void log(llvm::raw_ostream &os) const override {
    os << "compilation failed (diagnostics above)";
  }
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }
};

/// Runs the whole flow on `module`, the per-rank program (sharded, or the
/// unsharded model for one GPU), rewritten in place. Problems in the IR
/// are reported as MLIR diagnostics (then a DiagnosedError is returned);
/// problems of the environment (target, output directory, nvcc) are the
/// returned error's message.
llvm::Error compileModel(mlir::ModuleOp module, const CompileOptions &options);

} // namespace llmc

#endif // LLMC_CODEGEN_CODEGEN_H
