//===- FuzzStepPlan.cpp - libFuzzer target: the step-plan wire format -----===//
//
// The bytes rank 0 broadcasts to every rank each serving step. Any input is
// refused with a message or decodes to a plan whose encoding is exactly
// the input (nothing skipped or ignored); validateStepPlan of whatever
// decoded answers without crashing, and a plan it accepts has every block
// id and position in range. The result encoding is held to the same rule.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "runtime/serve/ModelStep.h"

using namespace llmc::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Expected<StepPlan> plan = decodeStepPlan(data, size);
  if (plan) {
    std::vector<uint8_t> again = encodeStepPlan(*plan);
    FUZZ_CHECK(again.size() == size &&
                   std::equal(again.begin(), again.end(), data),
               "an accepted plan re-encodes to other bytes");
    ModelFacts facts;
    facts.vocabSize = 128;
    facts.blockSize = 4;
    facts.numBlocks = 16;
    facts.maxModelLen = 64;
    facts.replicas = 2;
    if (Status s = validateStepPlan(*plan, facts); s) {
      for (const SequenceStep &seq : plan->sequences) {
        FUZZ_CHECK(seq.replica >= 0 && seq.replica < facts.replicas,
                   "replica");
        int64_t end = seq.startPos + int64_t(seq.tokens.size());
        FUZZ_CHECK(end <= facts.maxModelLen, "positions past the context");
        FUZZ_CHECK(int64_t(seq.blockTable.size()) * facts.blockSize >= end,
                   "block table does not cover the tokens");
        for (int32_t b : seq.blockTable)
          FUZZ_CHECK(b >= 0 && b < facts.numBlocks, "block id");
        for (int32_t t : seq.tokens)
          FUZZ_CHECK(t >= 0 && t < facts.vocabSize, "token id");
      }
    } else {
      FUZZ_CHECK(!s.message().empty(), "a refusal without a message");
    }
  } else {
    FUZZ_CHECK(!plan.status().message().empty(), "a refusal without a message");
  }
  Expected<StepResult> result = decodeStepResult(data, size);
  if (result) {
    std::vector<uint8_t> again = encodeStepResult(*result);
    FUZZ_CHECK(again.size() == size &&
                   std::equal(again.begin(), again.end(), data),
               "an accepted result re-encodes to other bytes");
  }
  return 0;
}
