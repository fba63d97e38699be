//===- Driver.cpp - llm-compile: shard, lower, translate, build ------------===//
//
// The order matters: the manifest is read off the per-rank IR before the
// lowering replaces it, and the lowering's arena figures then complete it.
// Every file is written before nvcc runs, so a failed build leaves the
// sources and the exact command (DIR/src/build.sh) to reproduce it.
//
//===----------------------------------------------------------------------===//

#include "llmc/Codegen/Codegen.h"
#include "llmc/Codegen/DecodePlan.h"
#include "llmc/Passes/Grid.h"
#include "llmc/Passes/Lowering.h"

#include "llmc/Dialect/Llm/LlmDialect.h"

#include "runtime/model/Manifest.h"

#include "lib/codegen/RuntimeConfig.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/Cpp/CppEmitter.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace llvm;
using namespace llmc;

char DiagnosedError::ID;

namespace {

/// Lines of nvcc's output shown when it fails.
constexpr size_t kStderrTail = 40;

Error writeFile(StringRef path, StringRef text) {
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_Text);
  if (ec)
    return createStringError("cannot write '" + path.str() +
                             "': " + ec.message());
  os << text;
  os.close();
  if (os.has_error())
    return createStringError("cannot write '" + path.str() +
                             "': " + os.error().message());
  return Error::success();
}

/// Quotes a command-line word for a POSIX shell when it needs it.
std::string shellQuote(StringRef word) {
  if (!word.empty() && word.find_first_of(" \t\n'\"\\$`;&|<>()*?[]#~") ==
                           StringRef::npos)
    return word.str();
  std::string quoted = "'";
  for (char c : word)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// The last `lines` lines of `text`.
std::string tail(StringRef text, size_t lines) {
  SmallVector<StringRef> all;
  text.rtrim().split(all, '\n');
  size_t first = all.size() > lines ? all.size() - lines : 0;
  std::string out;
  if (first > 0)
    out += "  ... (" + std::to_string(first) + " earlier lines)\n";
  for (size_t i = first; i < all.size(); ++i)
    out += "  " + all[i].str() + "\n";
  return out;
}

/// The runtime's static libraries, in link order (from CMake).
SmallVector<std::string> runtimeLibraries() {
  SmallVector<StringRef> parts;
  StringRef(LLMC_RUNTIME_LIBRARIES).split(parts, ';', -1, false);
  return SmallVector<std::string>(parts.begin(), parts.end());
}

Error runNvcc(const std::string &nvcc, const Target &target,
              StringRef outputDir, ArrayRef<int64_t> badHeadDims) {
  if (!sys::fs::can_execute(nvcc))
    return createStringError(
        "nvcc not found at '" + nvcc +
        "'; install the CUDA toolkit, pass --nvcc=PATH, or pass --no-build "
        "to write only the sources and manifest.json");
  if (!badHeadDims.empty()) {
    SmallVector<std::string> dims;
    for (int64_t hd : badHeadDims)
      dims.push_back(std::to_string(hd));
    return createStringError(
        "head_dim " + llvm::join(dims, ", ") +
        " of this model is not supported by the runtime's attention and "
        "RoPE kernels (head_dim must be a multiple of 16 from 16 to 256); "
        "the sources and manifest.json are written, nvcc was not run");
  }
  if (!LLMC_HAVE_RUNTIME)
    return createStringError(
        "this llm-compile was built without the CUDA runtime libraries "
        "(LLMCRuntimeGenerate and the libraries below it: configure llmc "
        "with the CUDA toolkit and NCCL); pass --no-build to write only the sources and "
        "manifest.json");
  for (const std::string &lib : runtimeLibraries())
    if (!sys::fs::exists(lib))
      return createStringError(
          "runtime library '" + lib +
          "' does not exist; build it (cmake --build BUILD --target "
          "LLMCRuntimeGenerate) or pass --no-build");

  std::vector<std::string> command = nvccCommand(nvcc, target, outputDir.str());
  SmallVector<StringRef> args(command.begin(), command.end());
  SmallString<128> log;
  if (std::error_code ec = sys::fs::createTemporaryFile("llm-compile-nvcc",
                                                        "log", log))
    return createStringError("cannot create a temporary file: " +
                             ec.message());
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string message;
  int rc = sys::ExecuteAndWait(nvcc, args, std::nullopt, redirects,
                               /*SecondsToWait=*/0, /*MemoryLimit=*/0,
                               &message);
  std::string output;
  if (auto buffer = MemoryBuffer::getFile(log))
    output = (*buffer)->getBuffer().str();
  sys::fs::remove(log);
  if (rc != 0)
    return createStringError(
        "nvcc failed (" +
        (rc < 0 ? message : "exit code " + std::to_string(rc)) +
        ") building '" + outputDir.str() +
        "/llm-model'; the command is in src/build.sh. Its output:\n" +
        tail(output, kStderrTail));
  return Error::success();
}

/// The first FP8 construct of `module` the CUDA lowering does not handle,
/// with the reason; null for none (docs/quantization.md, "Not done").
std::pair<Operation *, StringRef> unsupportedFp8(ModuleOp module) {
  std::pair<Operation *, StringRef> found{nullptr, ""};
  module.walk([&](Operation *op) {
    StringRef why;
    if (auto e = dyn_cast<llm::ExpertsOp>(op); e && e.hasScales())
      why = "FP8 expert weights are not lowered to CUDA yet; quantize dense "
            "models only";
    else if (auto s = dyn_cast<llm::SharedExpertOp>(op);
             s && s.getGateScale())
      why = "FP8 shared-expert weights are not lowered to CUDA yet";
    else if (auto q = dyn_cast<llm::QuantizeOp>(op);
             q && q.getScale().getDefiningOp<llm::ParamOp>())
      why = "static (checkpoint input_scale) FP8 activation scales are not "
            "lowered to CUDA yet; only dynamic per-token scales are";
    if (why.empty())
      return WalkResult::advance();
    found = {op, why};
    return WalkResult::interrupt();
  });
  return found;
}

} // namespace

std::vector<std::string> llmc::nvccCommand(const std::string &nvcc,
                                           const Target &target,
                                           const std::string &outputDir) {
  SmallString<128> source(outputDir), binary(outputDir);
  sys::path::append(source, "src", "model.cu");
  sys::path::append(binary, "llm-model");
  std::vector<std::string> cmd = {nvcc,
                                  "-std=c++17",
                                  "-O3",
                                  "-arch=" + target.arch,
                                  "-I" + std::string(LLMC_RUNTIME_INCLUDE_DIR),
                                  "-o",
                                  binary.str().str(),
                                  source.str().str()};
  for (const std::string &lib : runtimeLibraries())
    cmd.push_back(lib);
  SmallVector<StringRef> dirs;
  StringRef(LLMC_CUDA_LIBRARY_DIRS).split(dirs, ';', -1, false);
  for (StringRef dir : dirs) {
    cmd.push_back("-L" + dir.str());
    // The binary finds NCCL and cuBLASLt where they were at build time.
    cmd.push_back("-Xlinker");
    cmd.push_back("-rpath=" + dir.str());
  }
  SmallVector<StringRef> extra;
  StringRef(LLMC_RUNTIME_EXTRA_LINK_FLAGS).split(extra, ';', -1, false);
  for (StringRef flag : extra)
    cmd.push_back(flag.str());
  for (StringRef lib : {"-lcublasLt", "-lnccl", "-lcudart", "-lpthread",
                        "-ldl", "-lrt"})
    cmd.push_back(lib.str());
  return cmd;
}

/// Refuses limits (--max-batch, --max-seq, --max-tokens-per-step) whose KV
/// cache and scratch arena alone do not fit one GPU of the target: such a
/// binary could only fail at start-up. Computed in floating point, as the
/// products overflow 64 bits for absurd limits.
static Error checkDeviceMemory(const rt::Manifest &m, const Target &target) {
  double capacity = double(target.memoryBytes);
  for (int64_t rank = 0, e = m.plan.numRanks(); rank < e; ++rank) {
    auto [first, end] = m.slotsOf(rank);
    double cache = double(m.cacheBatch()) * double(m.kvCache.kvHeads) *
                   double(m.limits.maxSeq) *
                   double(m.kvCache.bytesPerVector()) * 2.0 *
                   double(end - first);
    double bytes = cache + double(m.arenaBytes);
    if (bytes <= capacity)
      continue;
    return createStringError(
        formatv("rank {0} needs {1:F1} GiB for its KV cache and scratch "
                "arena alone (--max-batch={2}, --max-seq={3}, "
                "--max-tokens-per-step={4}), more than the {5:F1} GiB of one "
                "{6} GPU; lower these limits or shard over more GPUs",
                rank, bytes / double(1ull << 30), m.limits.maxBatch,
                m.limits.maxSeq, m.limits.maxTokensPerStep,
                capacity / double(1ull << 30), target.name)
            .str());
  }
  return Error::success();
}

Error llmc::compileModel(ModuleOp module, const CompileOptions &options) {
  Expected<Target> target = resolveTarget(options.target);
  if (!target)
    return target.takeError();
  SmallString<128> dir(options.outputDir), src(options.outputDir);
  sys::path::append(src, "src");
  if (!options.emitcOutput) {
    if (options.outputDir.empty())
      return createStringError("no output directory; pass -o DIR");
    if (std::error_code ec = sys::fs::create_directories(src))
      return createStringError("cannot create output directory '" +
                               options.outputDir + "': " + ec.message());
    if (sys::fs::access(src, sys::fs::AccessMode::Write))
      return createStringError("output directory '" + options.outputDir +
                               "' is not writable");
  }

  MLIRContext *ctx = module.getContext();

  auto forward = llm::lookupEntry(module);
  dist::PlanAttr plan = dist::getPlan(module);
  if (forward && plan && plan.getSequenceAxis()) {
    forward.emitError("llm-compile: the plan '")
        << plan.getGrid().specText()
        << "' uses sequence parallelism (sp), which the CUDA code generator "
           "does not support yet; compile a plan without sp (tp, pp, ep, dp)";
    return make_error<DiagnosedError>();
  }

  if (auto [op, why] = unsupportedFp8(module); op) {
    op->emitError("llm-compile: ") << why << " (docs/quantization.md)";
    return make_error<DiagnosedError>();
  }

  Expected<rt::Manifest> manifest = buildManifest(module, options, *target);
  if (!manifest)
    return manifest.takeError();
  DecodePlan decodePlan = planDecode(*manifest, *target);
  manifest->decode = decodePlan.decode;
  if (options.explainOutput)
    for (const std::string &line : decodePlan.explanation)
      *options.explainOutput << "decode plan: " << line << "\n";
  std::vector<int64_t> badHeadDims = unsupportedHeadDims(module);

  PassManager lower(ctx);
  LowerToEmitCOptions lowerOptions;
  lowerOptions.target = target->arch;
  lowerOptions.tpReduce = options.tpReduce;
  lowerOptions.qkvViews = options.qkvViews;
  lowerOptions.residual = options.residual;
  lower.addPass(createLowerToEmitC(lowerOptions));
  if (failed(lower.run(module)))
    return make_error<DiagnosedError>();
  setArenaBytes(*manifest, module);
  if (Error e = checkDeviceMemory(*manifest, *target))
    return e;
  if (options.emitcOutput) {
    module.print(*options.emitcOutput);
    return Error::success();
  }

  std::string cpp;
  raw_string_ostream os(cpp);
  if (failed(emitc::translateToCpp(module, os)))
    return make_error<DiagnosedError>();

  SmallString<128> modelPath(src), manifestPath(dir), scriptPath(src);
  sys::path::append(modelPath, "model.cu");
  sys::path::append(manifestPath, "manifest.json");
  sys::path::append(scriptPath, "build.sh");
  if (Error e = writeFile(modelPath, cpp))
    return e;
  if (rt::Status s = rt::writeManifestFile(*manifest, manifestPath.str().str());
      !s)
    return createStringError("cannot write '" + manifestPath.str().str() +
                             "': " + s.message());

  std::string nvcc = options.nvcc.empty() ? LLMC_NVCC : options.nvcc;
  std::string script = "#!/bin/sh\n# How llm-compile builds ../llm-model "
                       "(run from any directory).\nset -e\n";
  for (const std::string &word : nvccCommand(nvcc, *target, options.outputDir))
    script += shellQuote(word) + " \\\n  ";
  script.resize(script.size() - 4);
  script += "\n";
  if (Error e = writeFile(scriptPath, script))
    return e;

  if (!options.build)
    return Error::success();
  return runNvcc(nvcc, *target, options.outputDir, badHeadDims);
}
