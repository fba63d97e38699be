//===- Sampler.h - host-side sampling with per-sequence draws ---*- C++ -*-===//
//
// The sampling rule of SamplingParams on host logits, for the CPU
// implementations of ModelStep (the reference executor, the test fake).
// The GPU sampler (runtime/kernels sample()) follows the same rule and must
// take its uniform from drawUniform too, so one seed gives one token
// stream on every implementation and under any batching.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_SAMPLER_H
#define LLMC_RUNTIME_SERVE_SAMPLER_H

#include "runtime/serve/ModelStep.h"

#include <cstdint>

namespace llmc::serve {

/// The 64 random bits of draw `index` of a sequence seeded `seed`:
/// splitmix64(splitmix64(seed) + index).
uint64_t drawBits(uint64_t seed, uint64_t index);
/// drawBits as a uniform double in [0, 1) (its top 53 bits).
double drawUniform(uint64_t seed, uint64_t index);

/// Picks the next token of one sequence from fp32 `logits` [vocab] by the
/// rule of SamplingParams, with the uniform drawUniform(p.seed,
/// drawIndex), and fills the logprobs p.logprobs asks for. NaN logits
/// count as -infinity; all of them NaN or -infinity is an error.
Expected<SampledToken> sampleLogits(const float *logits, int64_t vocab,
                                    const SamplingParams &p,
                                    uint64_t drawIndex);

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_SAMPLER_H
