//===- FakeModel.cpp - a ModelStep whose output depends on its KV blocks --===//

#include "test/serve/FakeModel.h"

#include "runtime/serve/Sampler.h"
#include "runtime/weights/RandomWeights.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace llmc::serve::test {

namespace {

constexpr uint64_t kChainStart = 0x243f6a8885a308d3ull;
constexpr uint64_t kFoldStart = 0x13198a2e03707344ull;
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

/// The KV entry of `token` at `pos` after the entry `prev`.
uint64_t chain(uint64_t prev, int32_t token, int64_t pos) {
  return rt::splitmix64(prev ^ rt::splitmix64(uint64_t(uint32_t(token)) +
                                              uint64_t(pos) * kGolden));
}

/// "Attention": every entry, in position order, into one value.
uint64_t fold(uint64_t h, uint64_t state) { return rt::splitmix64(h + state); }

std::vector<float> logitsOf(uint64_t h, int64_t vocab, float scale) {
  std::vector<float> l(static_cast<size_t>(vocab));
  for (int64_t v = 0; v < vocab; ++v)
    l[size_t(v)] = scale * float(rt::splitmix64(h ^ (uint64_t(v) * kGolden)) >>
                                 40) *
                   0x1p-24f;
  return l;
}

} // namespace

FakeModel::FakeModel(FakeModelConfig config) : config_(std::move(config)) {
  facts_.name = config_.name;
  facts_.vocabSize = config_.vocabSize;
  facts_.blockSize = config_.blockSize;
  facts_.numBlocks = config_.numBlocks;
  facts_.maxModelLen = config_.maxModelLen;
  facts_.replicas = config_.replicas;
  facts_.maxTokensPerStep = config_.maxTokensPerStep;
  facts_.maxSeqsPerStep = config_.maxSeqsPerStep;
  facts_.eosTokenIds = config_.eosTokenIds;
  kv_.assign(size_t(config_.replicas),
             std::vector<Entry>(size_t(config_.numBlocks * config_.blockSize)));
}

FakeModel::Entry &FakeModel::entry(int32_t replica,
                                   const std::vector<int32_t> &table,
                                   int64_t pos) {
  int32_t block = table[size_t(pos / config_.blockSize)];
  return kv_[size_t(replica)][size_t(int64_t(block) * config_.blockSize +
                                     pos % config_.blockSize)];
}

Expected<StepResult> FakeModel::step(const StepPlan &plan) {
  using R = Expected<StepResult>;
  if (Status s = validateStepPlan(plan, facts_); !s)
    return R::fromError(s);
  if (failNextStep.exchange(false)) {
    return R::fromError(Status::error("the fake model was told to fail"));
  }
  if (config_.stepSeconds > 0)
    std::this_thread::sleep_for(
        std::chrono::duration<double>(config_.stepSeconds));
  ++steps_;
  StepResult result;
  for (const SequenceStep &s : plan.sequences) {
    std::string who = "fake model: step " + std::to_string(plan.stepIndex) +
                      ", sequence " + std::to_string(s.seqId);
    auto read = [&](int64_t pos) -> Expected<uint64_t> {
      Entry &e = entry(s.replica, s.blockTable, pos);
      if (e.pos != pos)
        return Expected<uint64_t>::fromError(Status::error(
            who + ": position " + std::to_string(pos) + " (block " +
            std::to_string(s.blockTable[size_t(pos / config_.blockSize)]) +
            ") holds " +
            (e.pos < 0 ? std::string("nothing")
                       : "position " + std::to_string(e.pos))));
      return e.state;
    };
    uint64_t prev = kChainStart;
    if (s.startPos > 0) {
      Expected<uint64_t> p = read(s.startPos - 1);
      if (!p)
        return R::fromError(p.status());
      prev = *p;
    }
    for (size_t k = 0; k < s.tokens.size(); ++k) {
      int64_t pos = s.startPos + int64_t(k);
      if (onWrite)
        onWrite(s.replica, s.blockTable[size_t(pos / config_.blockSize)]);
      prev = chain(prev, s.tokens[k], pos);
      entry(s.replica, s.blockTable, pos) = {prev, pos};
    }
    tokensProcessed_ += int64_t(s.tokens.size());
    if (!s.sample)
      continue;
    uint64_t h = kFoldStart;
    int64_t end = s.startPos + int64_t(s.tokens.size());
    for (int64_t pos = 0; pos < end; ++pos) {
      Expected<uint64_t> state = read(pos);
      if (!state)
        return R::fromError(state.status());
      h = fold(h, *state);
    }
    std::vector<float> logits =
        logitsOf(h, config_.vocabSize, config_.logitScale);
    Expected<SampledToken> t = sampleLogits(logits.data(), config_.vocabSize,
                                            s.sampling, s.drawIndex);
    if (!t)
      return R::fromError(t.status());
    t->seqId = s.seqId;
    result.sampled.push_back(std::move(*t));
  }
  return result;
}

std::vector<SampledToken> FakeModel::reference(const SequenceSpec &spec) const {
  std::vector<int32_t> tokens = spec.prompt;
  std::vector<uint64_t> states;
  std::vector<SampledToken> out;
  auto has = [](const std::vector<int32_t> &v, int32_t t) {
    return std::find(v.begin(), v.end(), t) != v.end();
  };
  for (;;) {
    while (states.size() < tokens.size()) {
      uint64_t prev = states.empty() ? kChainStart : states.back();
      states.push_back(chain(prev, tokens[states.size()],
                             int64_t(states.size())));
    }
    uint64_t h = kFoldStart;
    for (uint64_t s : states)
      h = fold(h, s);
    std::vector<float> logits =
        logitsOf(h, config_.vocabSize, config_.logitScale);
    SampledToken t = *sampleLogits(logits.data(), config_.vocabSize,
                                   spec.sampling, uint64_t(out.size()));
    t.seqId = spec.id;
    tokens.push_back(t.token);
    out.push_back(t);
    if ((!spec.ignoreEos && has(config_.eosTokenIds, t.token)) ||
        has(spec.stopTokenIds, t.token) ||
        int64_t(out.size()) >= spec.maxTokens ||
        int64_t(tokens.size()) >= config_.maxModelLen)
      return out;
  }
}

} // namespace llmc::serve::test
