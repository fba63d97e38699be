//===- ShardOptions.h - the tools' sharding options and --shard=auto -*- C++
//-*-===//
//
// llm-opt, llm-run, llm-compile and llm-plan take the same --shard, --gpus,
// --microbatches, --hardware, --hardware-file and --quantize options, with
// the same checks and messages: ShardingCommandLine registers them in a
// tool's option category. `--shard=auto` is resolved here, by the driver,
// before any pass runs (resolveShardSpec asks the planner); the sharding
// passes only ever see a concrete plan.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DRIVER_SHARDOPTIONS_H
#define LLMC_DRIVER_SHARDOPTIONS_H

#include "llmc/Passes/Pipelines.h"
#include "llmc/Passes/Quantize.h"
#include "llmc/Passes/ShardSpec.h"
#include "llmc/Plan/Hardware.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace llmc {

/// What a tool's sharding options ask for, checked.
struct ShardRequest {
  /// --shard, parsed; absent when it was not given.
  std::optional<ShardSpec> spec;
  /// --gpus; 0 when it was not given.
  int64_t gpus = 0;
  /// --microbatches (>= 1).
  int64_t microbatches = 1;
  /// --hardware and --hardware-file; empty when not given.
  std::string hardware;
  std::string hardwareFile;
  /// --quantize; nothing when it was not given.
  QuantizeSpec quantize;

  bool isAuto() const { return spec && spec->isAuto; }
};

/// The sharding options of one tool, registered in its option category on
/// construction; define one at namespace scope, after the category.
class ShardingCommandLine {
public:
  enum class Kind {
    /// llm-opt, llm-run, llm-compile: --shard=SPEC|auto, and --gpus and
    /// --hardware for auto.
    Shard,
    /// llm-plan: no --shard; --gpus and --hardware are what it plans for.
    Plan,
  };

  explicit ShardingCommandLine(llvm::cl::OptionCategory &category,
                               Kind kind = Kind::Shard);

  /// The values given, checked: a malformed --shard or --quantize, --gpus
  /// or --microbatches below 1, --shard=auto without --gpus, and (Kind::Shard)
  /// --hardware or --hardware-file without --shard=auto are errors naming
  /// the option and the rule.
  llvm::Expected<ShardRequest> request() const;

private:
  Kind kind;
  std::optional<llvm::cl::opt<std::string>> shard;
  llvm::cl::opt<int64_t> gpus;
  llvm::cl::opt<int64_t> microbatches;
  llvm::cl::opt<std::string> hardware;
  llvm::cl::opt<std::string> hardwareFile;
  llvm::cl::opt<std::string> quantize;
};

/// The built-in hardware database plus --hardware-file's entries.
llvm::Expected<HardwareDatabase> loadHardware(const ShardRequest &request);

/// The plan to shard `module` with: --shard as given, or for --shard=auto
/// the planner's best plan (llm-plan's default workload) for `request.gpus`
/// GPUs of `request.hardware`. `module` is the unsharded module as the
/// pipeline will see it (quantized already); it is not modified. Errors say
/// why no plan was chosen.
llvm::Expected<ShardSpec> resolveShardSpec(mlir::ModuleOp module,
                                           const ShardRequest &request);

/// Checks the concrete `spec` against `module` with the rules of
/// llm-shard-create-grid (run on a clone): the first refusal is returned as
/// one line (it names the degree and the rule), as a plan error is about the
/// command line, not about a line of the model's IR.
llvm::Error checkShardSpec(mlir::ModuleOp module, const ShardSpec &spec,
                           const ShardRequest &request);

/// The sharding pipeline's options for the resolved `spec`.
ShardingOptions pipelineOptions(const ShardSpec &spec,
                                const ShardRequest &request);

/// What llm-run and llm-compile do before their own work: resolve --shard
/// for `module` (the unsharded model, quantized), check it
/// (checkShardSpec) and run the sharding pipeline. An input that is already sharded is refused when --shard was
/// given (its plan is fixed; shard the unsharded model instead) and taken
/// as is otherwise; without --shard, `defaultSpec` (when set) is used.
/// Problems are reported (as "TOOL: error:" lines or the passes'
/// diagnostics) before failure is returned.
mlir::LogicalResult shardModule(llvm::StringRef tool, llvm::StringRef inputName,
                                mlir::ModuleOp module,
                                const ShardRequest &request,
                                std::optional<ShardSpec> defaultSpec = {});

} // namespace llmc

#endif // LLMC_DRIVER_SHARDOPTIONS_H
