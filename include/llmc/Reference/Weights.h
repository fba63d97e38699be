//===- Weights.h - where the reference executor's weights come from -*- C++ -*-===//
//
// `--weights=random[:SEED]` draws every tensor from llmc::rt::fillRandom, a
// pure function of (seed, name, flat index in the full tensor), so every
// plan's slices agree with the unsharded tensor; `--weights=DIR` reads a
// safetensors checkpoint. Either way a rank asks only for its own slice,
// converted to fp32.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_REFERENCE_WEIGHTS_H
#define LLMC_REFERENCE_WEIGHTS_H

#include "llmc/Reference/Tensor.h"

#include "runtime/weights/Fp8Weights.h"
#include "runtime/weights/Slice.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>

namespace llmc::rt {
class Checkpoint;
} // namespace llmc::rt

namespace llmc::ref {

/// Random weights or a checkpoint; safe to share between rank threads.
class WeightSource {
public:
  /// Deterministic random weights (llmc::rt::fillRandom) for `seed`.
  static WeightSource random(uint64_t seed);
  /// The safetensors checkpoint at `path` (a folder, a file or an
  /// index.json).
  static llvm::Expected<WeightSource> checkpoint(llvm::StringRef path);
  /// Parses `--weights`: "random", "random:SEED" or a checkpoint path.
  static llvm::Expected<WeightSource> parse(llvm::StringRef spec);

  /// The tensor `name` of full shape `fullShape`, or `slice` of it, in fp32.
  /// For a checkpoint, the stored shape must equal `fullShape`.
  llvm::Expected<Tensor> load(llvm::StringRef name,
                              const std::vector<int64_t> &fullShape,
                              const std::optional<rt::Slice> &slice) const;

  /// The E4M3 values of `slice` (or all) of FP8 weight `spec.name`: codes
  /// from an FP8 checkpoint, or quantized while loading from a float
  /// checkpoint tensor or random weights (runtime/weights/Fp8Weights.h).
  llvm::Expected<Tensor> loadFp8(const rt::Fp8WeightSpec &spec,
                                 const std::optional<rt::Slice> &slice) const;
  /// The fp32 scales of `spec` in its declared layout, or `slice` (a block
  /// of rows) of them.
  llvm::Expected<Tensor>
  loadFp8Scales(const rt::Fp8WeightSpec &spec,
                const std::optional<rt::Slice> &slice) const;

  /// "random:7" or the checkpoint path, for messages.
  std::string describe() const;

private:
  WeightSource() = default;

  uint64_t seed_ = 0;
  std::shared_ptr<const rt::Checkpoint> checkpoint_;
  std::string path_;
};

} // namespace llmc::ref

#endif // LLMC_REFERENCE_WEIGHTS_H
