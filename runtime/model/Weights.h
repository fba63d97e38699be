//===- Weights.h - load a rank's weights onto its GPU -----------*- C++ -*-===//
//
// Allocates one device buffer for every weight the rank loads (its pipeline
// stage uses it and, for experts, it holds the owner's coordinate) and fills
// it from a checkpoint (only the rank's slice is read, converted to bf16)
// or from the deterministic random generator. Progress goes to stderr when
// the rank loads more than 2 GiB.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_MODEL_WEIGHTS_H
#define LLMC_RUNTIME_MODEL_WEIGHTS_H

#include "runtime/model/DeviceRank.h"
#include "runtime/model/Options.h"
#include "runtime/weights/Safetensors.h"

namespace llmc::rt {

/// Loads `rank`'s weights: from `checkpoint` when non-null (checked with
/// checkCheckpoint beforehand), else random with `spec.seed`. `threads`
/// bounds the CPU threads used to generate random weights.
Status loadRankWeights(DeviceRank &rank, const WeightsSpec &spec,
                       const Checkpoint *checkpoint, int threads);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_MODEL_WEIGHTS_H
