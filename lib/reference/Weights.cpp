//===- Weights.cpp - where the reference executor's weights come from -----===//

#include "llmc/Reference/Weights.h"
#include "llmc/Reference/Quantized.h"

#include "runtime/model/Options.h"
#include "runtime/weights/RandomWeights.h"
#include "runtime/weights/Safetensors.h"

#include "llvm/ADT/StringExtras.h"

using llvm::createStringError;
using llvm::Expected;

namespace llmc::ref {

WeightSource WeightSource::random(uint64_t seed) {
  WeightSource w;
  w.seed_ = seed;
  return w;
}

Expected<WeightSource> WeightSource::checkpoint(llvm::StringRef path) {
  rt::Expected<std::unique_ptr<rt::Checkpoint>> opened =
      rt::Checkpoint::open(path.str());
  if (!opened)
    return createStringError("cannot open weights '%s': %s",
                             path.str().c_str(),
                             opened.status().message().c_str());
  WeightSource w;
  w.checkpoint_ = std::shared_ptr<const rt::Checkpoint>(std::move(*opened));
  w.path_ = path.str();
  return w;
}

Expected<WeightSource> WeightSource::parse(llvm::StringRef spec) {
  // The runtime's grammar, so llm-run and llm-model accept the same values.
  rt::Expected<rt::WeightsSpec> parsed = rt::parseWeightsSpec(spec.str());
  if (!parsed)
    return createStringError("%s", parsed.status().message().c_str());
  if (parsed->random)
    return random(parsed->seed);
  return checkpoint(parsed->checkpoint);
}

std::string WeightSource::describe() const {
  return checkpoint_ ? path_ : "random:" + std::to_string(seed_);
}

namespace {
/// The shape of `slice` of a tensor of `fullShape` (the whole shape without
/// a slice); `what` names the tensor when the slice does not fit.
Expected<std::vector<int64_t>>
localShape(const std::string &what, const std::vector<int64_t> &fullShape,
           const std::optional<rt::Slice> &slice) {
  if (!slice)
    return fullShape;
  if (rt::Status s = rt::checkSlice(fullShape, *slice); !s)
    return createStringError("%s: %s", what.c_str(), s.message().c_str());
  return rt::slicedShape(fullShape, *slice);
}
} // namespace

Expected<Tensor> WeightSource::load(llvm::StringRef name,
                                    const std::vector<int64_t> &fullShape,
                                    const std::optional<rt::Slice> &slice) const {
  Expected<std::vector<int64_t>> shape =
      localShape("weight '" + name.str() + "'", fullShape, slice);
  if (!shape)
    return shape.takeError();
  Tensor out(*shape);
  if (!checkpoint_) {
    if (rt::Status s = rt::fillRandom(seed_, std::string_view(name.data(),
                                                              name.size()),
                                      fullShape, slice, out.data.data());
        !s)
      return createStringError("weight '%s': %s", name.str().c_str(),
                               s.message().c_str());
    return out;
  }
  std::string_view key(name.data(), name.size());
  const rt::TensorInfo *info = checkpoint_->find(key);
  if (!info)
    return createStringError("weight '%s' is not in the checkpoint '%s'",
                             name.str().c_str(), path_.c_str());
  // A one-element tensor (an FP8 input_scale) may be stored as a scalar.
  bool bothSingle = rt::numElements(info->shape) == 1 &&
                    rt::numElements(fullShape) == 1;
  if (info->shape != fullShape && !bothSingle)
    return createStringError(
        "weight '%s' is %s in the checkpoint '%s' but the model expects %s",
        name.str().c_str(), shapeString(info->shape).c_str(), path_.c_str(),
        shapeString(fullShape).c_str());
  if (rt::Status s = checkpoint_->readF32(key, out.data.data(), slice); !s)
    return createStringError("weight '%s': %s", name.str().c_str(),
                             s.message().c_str());
  return out;
}

Expected<Tensor> WeightSource::loadFp8(
    const rt::Fp8WeightSpec &spec,
    const std::optional<rt::Slice> &slice) const {
  Expected<std::vector<int64_t>> shape =
      localShape("weight '" + spec.name + "'", spec.fullShape, slice);
  if (!shape)
    return shape.takeError();
  std::vector<uint8_t> codes(size_t(rt::numElements(*shape)));
  rt::Fp8Source source{checkpoint_.get(), seed_};
  if (rt::Status s = source.codes(spec, slice, codes.data()); !s)
    return createStringError("FP8 weight '%s' (%s): %s", spec.name.c_str(),
                             describe().c_str(), s.message().c_str());
  return decodeE4M3(codes, *shape);
}

Expected<Tensor> WeightSource::loadFp8Scales(
    const rt::Fp8WeightSpec &spec,
    const std::optional<rt::Slice> &slice) const {
  Expected<std::vector<int64_t>> shape = localShape(
      "FP8 scale '" + spec.scaleName + "'", spec.scaleFullShape, slice);
  if (!shape)
    return shape.takeError();
  Tensor out(*shape);
  rt::Fp8Source source{checkpoint_.get(), seed_};
  if (rt::Status s = source.scales(spec, slice, out.data.data()); !s)
    return createStringError("FP8 scale '%s' (%s): %s", spec.scaleName.c_str(),
                             describe().c_str(), s.message().c_str());
  return out;
}

} // namespace llmc::ref
