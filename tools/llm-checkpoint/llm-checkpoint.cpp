//===- llm-checkpoint.cpp - write a random-weight safetensors checkpoint --===//
//
// llm-checkpoint CONFIG -o DIR [--seed=S] [--max-shard-bytes=N]
//                [--omit=NAME] [--reshape=NAME] [--dtype=F32]
//
// Writes DIR/config.json and the safetensors a Hugging Face checkpoint of
// that config would have, filled by the same per-tensor generator as
// `--weights=random:S`, so a run from DIR and a random run of the same seed
// agree up to the checkpoint dtype's rounding. Tests use it to build
// checkpoints without downloads; --omit, --reshape and --dtype make broken
// ones on purpose.
//
//===----------------------------------------------------------------------===//

#include "llmc/Import/Importer.h"

#include "dialects/llm/LlmDialect.h"
#include "runtime/weights/RandomWeights.h"
#include "runtime/weights/Safetensors.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"

#include <cstring>

using namespace llvm;

static cl::opt<std::string> configPath(cl::Positional, cl::Required,
                                       cl::desc("<config.json or folder>"));
static cl::opt<std::string> outputDir("o", cl::Required,
                                      cl::desc("Output checkpoint folder"),
                                      cl::value_desc("dir"));
static cl::opt<uint64_t> seed("seed", cl::desc("Random weight seed"),
                              cl::init(0));
static cl::opt<uint64_t> maxShardBytes(
    "max-shard-bytes",
    cl::desc("Split into model-0000K-of-0000N.safetensors files of at most "
             "this size plus model.safetensors.index.json (0: one file)"),
    cl::init(0));
static cl::list<std::string> omit("omit", cl::desc("Leave this tensor out"),
                                  cl::value_desc("name"));
static cl::list<std::string>
    reshape("reshape", cl::desc("Store this tensor with one extra row"),
            cl::value_desc("name"));
static cl::opt<std::string>
    dtypeOverride("dtype",
                  cl::desc("Store every tensor in this safetensors dtype "
                           "(F32, F16, BF16) instead of the config's"),
                  cl::init(""));

static int fail(const Twine &message) {
  WithColor::error(errs(), "llm-checkpoint") << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "llm-checkpoint: random-weight safetensors "
                              "checkpoint for a Hugging Face config\n");
  std::string config = configPath;
  if (sys::fs::is_directory(config)) {
    SmallString<256> path(config);
    sys::path::append(path, "config.json");
    config = std::string(path);
  }
  Expected<llmc::ModelConfig> parsed = llmc::loadModelConfig(config);
  if (!parsed)
    return fail(toString(parsed.takeError()));
  mlir::MLIRContext context;
  auto module = llmc::buildModelGraph(&context, *parsed, "checkpoint");

  if (std::error_code ec = sys::fs::create_directories(outputDir))
    return fail(outputDir + ": " + ec.message());
  SmallString<256> configCopy(outputDir.getValue());
  sys::path::append(configCopy, "config.json");
  if (std::error_code ec = sys::fs::copy_file(config, configCopy))
    return fail(configCopy + ": " + ec.message());

  std::vector<llmc::rt::TensorData> tensors;
  for (auto weight : module->getOps<llmc::llm::WeightOp>()) {
    std::string name = weight.getSymName().str();
    if (llvm::is_contained(omit, name))
      continue;
    mlir::RankedTensorType type = weight.getTensorType();
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    std::vector<float> values(type.getNumElements());
    if (auto status = llmc::rt::fillRandom(seed, name, shape, std::nullopt,
                                           values.data());
        !status)
      return fail(status.message());
    if (llvm::is_contained(reshape, name)) {
      shape[0] += 1;
      values.resize(values.size() + values.size() / (shape[0] - 1), 0.0f);
    }
    std::string dtypeName = dtypeOverride.empty()
                                ? llmc::safetensorsDTypeName(
                                      type.getElementType())
                                : dtypeOverride.getValue();
    std::optional<llmc::rt::DType> dtype = llmc::rt::parseDType(dtypeName);
    if (!dtype || (*dtype != llmc::rt::DType::F32 &&
                   *dtype != llmc::rt::DType::F16 &&
                   *dtype != llmc::rt::DType::BF16))
      return fail("--dtype must be F32, F16 or BF16, got '" + dtypeName + "'");
    llmc::rt::TensorData data{name, *dtype, shape, {}};
    data.bytes.resize(values.size() * llmc::rt::dtypeSize(*dtype));
    for (size_t i = 0; i < values.size(); ++i) {
      if (*dtype == llmc::rt::DType::F32) {
        std::memcpy(&data.bytes[i * 4], &values[i], 4);
      } else {
        uint16_t bits = *dtype == llmc::rt::DType::BF16
                            ? llmc::rt::floatToBf16(values[i])
                            : llmc::rt::floatToF16(values[i]);
        std::memcpy(&data.bytes[i * 2], &bits, 2);
      }
    }
    tensors.push_back(std::move(data));
  }
  llmc::rt::Status status =
      maxShardBytes > 0
          ? llmc::rt::writeShardedSafetensors(outputDir, tensors,
                                              maxShardBytes)
          : llmc::rt::writeSafetensors(
                outputDir + "/model.safetensors", tensors,
                {{"format", "pt"}});
  if (!status)
    return fail(status.message());
  return 0;
}
