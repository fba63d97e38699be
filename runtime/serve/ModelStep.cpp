//===- ModelStep.cpp - step plans: checks and the flat byte encoding ------===//
//
// The encoding is explicit little-endian with length prefixes, written and
// read field by field (no struct memcpy), so ranks on any host agree and a
// reader can check every count against the bytes left before it allocates.
//
//===----------------------------------------------------------------------===//

#include "runtime/serve/ModelStep.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace llmc::serve {

bool SamplingParams::operator==(const SamplingParams &o) const {
  return temperature == o.temperature && topP == o.topP && topK == o.topK &&
         seed == o.seed && logprobs == o.logprobs;
}

bool SequenceStep::operator==(const SequenceStep &o) const {
  return seqId == o.seqId && replica == o.replica && startPos == o.startPos &&
         tokens == o.tokens && blockTable == o.blockTable &&
         sample == o.sample && sampling == o.sampling &&
         drawIndex == o.drawIndex;
}

bool StepPlan::operator==(const StepPlan &o) const {
  return kind == o.kind && stepIndex == o.stepIndex && sequences == o.sequences;
}

bool SampledToken::operator==(const SampledToken &o) const {
  return seqId == o.seqId && token == o.token && logprob == o.logprob &&
         top == o.top;
}

int64_t StepPlan::numTokens() const {
  int64_t n = 0;
  for (const SequenceStep &s : sequences)
    n += int64_t(s.tokens.size());
  return n;
}

std::vector<size_t> StepPlan::replicaShare(int32_t replica) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < sequences.size(); ++i)
    if (sequences[i].replica == replica)
      out.push_back(i);
  return out;
}

//===----------------------------------------------------------------------===//
// Checks
//===----------------------------------------------------------------------===//

Status validateStepPlan(const StepPlan &plan, const ModelFacts &facts) {
  std::vector<int64_t> tokensPerReplica(size_t(std::max(facts.replicas, 1)));
  std::vector<int64_t> seqsPerReplica(tokensPerReplica.size());
  for (size_t i = 0; i < plan.sequences.size(); ++i) {
    const SequenceStep &s = plan.sequences[i];
    std::string who = "step " + std::to_string(plan.stepIndex) +
                      ": sequence " + std::to_string(s.seqId);
    for (size_t j = 0; j < i; ++j)
      if (plan.sequences[j].seqId == s.seqId)
        return Status::error(who + " appears twice in one step");
    if (s.replica < 0 || s.replica >= facts.replicas)
      return Status::error(who + ": replica " + std::to_string(s.replica) +
                           " is not in [0, " + std::to_string(facts.replicas) +
                           ")");
    if (s.tokens.empty())
      return Status::error(who + ": has no tokens to process");
    // startPos is range-checked before the sum so a huge one cannot wrap.
    int64_t end = s.startPos >= 0 && s.startPos <= facts.maxModelLen
                      ? s.startPos + int64_t(s.tokens.size())
                      : -1;
    if (end < 0 || end > facts.maxModelLen)
      return Status::error(who + ": positions [" + std::to_string(s.startPos) +
                           ", " + std::to_string(end) +
                           ") are outside [0, max model length " +
                           std::to_string(facts.maxModelLen) + ")");
    int64_t needBlocks = (end + facts.blockSize - 1) / facts.blockSize;
    if (int64_t(s.blockTable.size()) < needBlocks)
      return Status::error(who + ": block table has " +
                           std::to_string(s.blockTable.size()) +
                           " blocks but positions up to " +
                           std::to_string(end) + " need " +
                           std::to_string(needBlocks) + " of " +
                           std::to_string(facts.blockSize) + " tokens");
    for (int32_t b : s.blockTable)
      if (b < 0 || b >= facts.numBlocks)
        return Status::error(who + ": block id " + std::to_string(b) +
                             " is not in [0, " +
                             std::to_string(facts.numBlocks) + ")");
    for (int32_t t : s.tokens)
      if (t < 0 || t >= facts.vocabSize)
        return Status::error(who + ": token id " + std::to_string(t) +
                             " is not in the vocabulary [0, " +
                             std::to_string(facts.vocabSize) + ")");
    const SamplingParams &p = s.sampling;
    if (!std::isfinite(p.temperature) || !(p.topP > 0.0f && p.topP <= 1.0f) ||
        p.topK < 0 || p.logprobs < -1)
      return Status::error(who + ": sampling parameters out of range "
                                 "(temperature finite, top_p in (0, 1], "
                                 "top_k >= 0, logprobs >= -1)");
    tokensPerReplica[size_t(s.replica)] += int64_t(s.tokens.size());
    seqsPerReplica[size_t(s.replica)] += 1;
  }
  for (size_t r = 0; r < tokensPerReplica.size(); ++r) {
    if (facts.maxTokensPerStep > 0 &&
        tokensPerReplica[r] > facts.maxTokensPerStep)
      return Status::error(
          "step " + std::to_string(plan.stepIndex) + ": replica " +
          std::to_string(r) + " gets " + std::to_string(tokensPerReplica[r]) +
          " tokens, more than the model's " +
          std::to_string(facts.maxTokensPerStep) + " per step");
    if (facts.maxSeqsPerStep > 0 && seqsPerReplica[r] > facts.maxSeqsPerStep)
      return Status::error(
          "step " + std::to_string(plan.stepIndex) + ": replica " +
          std::to_string(r) + " gets " + std::to_string(seqsPerReplica[r]) +
          " sequences, more than the model's " +
          std::to_string(facts.maxSeqsPerStep) + " per step");
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

namespace {

constexpr char kPlanMagic[8] = {'L', 'L', 'M', 'C', 'S', 'T', 'P', '1'};
constexpr char kResultMagic[8] = {'L', 'L', 'M', 'C', 'S', 'T', 'R', '1'};

class Writer {
public:
  void bytes(const void *p, size_t n) {
    const auto *b = static_cast<const uint8_t *>(p);
    out.insert(out.end(), b, b + n);
  }
  void u8(uint8_t v) { out.push_back(v); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i)
      out.push_back(uint8_t(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i)
      out.push_back(uint8_t(v >> (8 * i)));
  }
  void i32(int32_t v) { u32(uint32_t(v)); }
  void i64(int64_t v) { u64(uint64_t(v)); }
  void f32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    u32(bits);
  }
  void ids(const std::vector<int32_t> &v) {
    u32(uint32_t(v.size()));
    for (int32_t x : v)
      i32(x);
  }
  std::vector<uint8_t> out;
};

/// Reads fields in order; the first failure sticks and names the field.
class Reader {
public:
  Reader(const uint8_t *data, size_t size, const char *what)
      : p_(data), left_(data ? size : 0), what_(what) {}

  bool ok() const { return error_.empty(); }
  Status status() const {
    return ok() ? Status::ok() : Status::error(error_);
  }
  size_t left() const { return left_; }

  void magic(const char (&m)[8]) {
    if (!take(8, "magic"))
      return;
    if (std::memcmp(p_ - 8, m, 8) != 0)
      fail("magic", "is not " + std::string(m, 8));
  }
  uint8_t u8(const char *field) {
    return take(1, field) ? p_[-1] : 0;
  }
  uint32_t u32(const char *field) {
    if (!take(4, field))
      return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v |= uint32_t(p_[i - 4]) << (8 * i);
    return v;
  }
  uint64_t u64(const char *field) {
    if (!take(8, field))
      return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= uint64_t(p_[i - 8]) << (8 * i);
    return v;
  }
  int32_t i32(const char *field) { return int32_t(u32(field)); }
  int64_t i64(const char *field) { return int64_t(u64(field)); }
  float f32(const char *field) {
    uint32_t bits = u32(field);
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  /// A count of entries of `entryBytes` each that must fit in what is left.
  uint32_t count(const char *field, size_t entryBytes) {
    uint32_t n = u32(field);
    if (ok() && uint64_t(n) * entryBytes > left_)
      fail(field, "says " + std::to_string(n) + " entries but only " +
                      std::to_string(left_) + " bytes are left");
    return ok() ? n : 0;
  }
  std::vector<int32_t> ids(const char *field) {
    uint32_t n = count(field, 4);
    std::vector<int32_t> v(n);
    for (uint32_t i = 0; i < n; ++i)
      v[i] = i32(field);
    return v;
  }
  void fail(const std::string &field, const std::string &why) {
    if (ok())
      error_ = std::string(what_) + ": " + field + " " + why;
  }
  void end() {
    if (ok() && left_ != 0)
      fail("buffer", "has " + std::to_string(left_) +
                         " bytes after the last field");
  }

private:
  bool take(size_t n, const char *field) {
    if (!ok())
      return false;
    if (left_ < n) {
      fail(field, "is cut off (" + std::to_string(left_) + " of " +
                      std::to_string(n) + " bytes left)");
      return false;
    }
    p_ += n;
    left_ -= n;
    return true;
  }

  const uint8_t *p_;
  size_t left_;
  const char *what_;
  std::string error_;
};

/// Bytes of a sequence with no tokens and no blocks: the smallest entry.
constexpr size_t kMinSequenceBytes = 8 + 4 + 8 + 1 + 4 + 4 + 4 + 8 + 4 + 8 +
                                     4 + 4;
constexpr size_t kMinSampledBytes = 8 + 4 + 4 + 4;

} // namespace

std::vector<uint8_t> encodeStepPlan(const StepPlan &plan) {
  Writer w;
  w.bytes(kPlanMagic, 8);
  w.u8(uint8_t(plan.kind));
  w.u64(plan.stepIndex);
  w.u32(uint32_t(plan.sequences.size()));
  for (const SequenceStep &s : plan.sequences) {
    w.u64(s.seqId);
    w.i32(s.replica);
    w.i64(s.startPos);
    w.u8(s.sample ? 1 : 0);
    w.f32(s.sampling.temperature);
    w.f32(s.sampling.topP);
    w.i32(s.sampling.topK);
    w.u64(s.sampling.seed);
    w.i32(s.sampling.logprobs);
    w.u64(s.drawIndex);
    w.ids(s.tokens);
    w.ids(s.blockTable);
  }
  return std::move(w.out);
}

Expected<StepPlan> decodeStepPlan(const uint8_t *data, size_t size) {
  Reader r(data, size, "step plan");
  StepPlan plan;
  r.magic(kPlanMagic);
  uint8_t kind = r.u8("kind");
  if (r.ok() && kind > uint8_t(StepPlan::Kind::Shutdown))
    r.fail("kind", "is " + std::to_string(kind) + ", not 0 or 1");
  plan.kind = StepPlan::Kind(kind);
  plan.stepIndex = r.u64("step index");
  uint32_t n = r.count("sequence count", kMinSequenceBytes);
  plan.sequences.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    SequenceStep s;
    s.seqId = r.u64("seq id");
    s.replica = r.i32("replica");
    s.startPos = r.i64("start position");
    uint8_t sample = r.u8("sample flag");
    if (r.ok() && sample > 1)
      r.fail("sample flag", "is " + std::to_string(sample) + ", not 0 or 1");
    s.sample = sample == 1;
    s.sampling.temperature = r.f32("temperature");
    s.sampling.topP = r.f32("top_p");
    s.sampling.topK = r.i32("top_k");
    s.sampling.seed = r.u64("seed");
    s.sampling.logprobs = r.i32("logprobs");
    s.drawIndex = r.u64("draw index");
    s.tokens = r.ids("token count");
    s.blockTable = r.ids("block count");
    plan.sequences.push_back(std::move(s));
  }
  r.end();
  if (!r.ok())
    return Expected<StepPlan>::fromError(r.status());
  return plan;
}

std::vector<uint8_t> encodeStepResult(const StepResult &result) {
  Writer w;
  w.bytes(kResultMagic, 8);
  w.u32(uint32_t(result.sampled.size()));
  for (const SampledToken &t : result.sampled) {
    w.u64(t.seqId);
    w.i32(t.token);
    w.f32(t.logprob);
    w.u32(uint32_t(t.top.size()));
    for (const TokenLogprob &e : t.top) {
      w.i32(e.token);
      w.f32(e.logprob);
    }
  }
  return std::move(w.out);
}

Expected<StepResult> decodeStepResult(const uint8_t *data, size_t size) {
  Reader r(data, size, "step result");
  StepResult result;
  r.magic(kResultMagic);
  uint32_t n = r.count("sampled count", kMinSampledBytes);
  result.sampled.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    SampledToken t;
    t.seqId = r.u64("seq id");
    t.token = r.i32("token");
    t.logprob = r.f32("logprob");
    uint32_t k = r.count("top logprob count", 8);
    t.top.resize(k);
    for (uint32_t j = 0; j < k; ++j) {
      t.top[j].token = r.i32("top token");
      t.top[j].logprob = r.f32("top logprob");
    }
    result.sampled.push_back(std::move(t));
  }
  r.end();
  if (!r.ok())
    return Expected<StepResult>::fromError(r.status());
  return result;
}

} // namespace llmc::serve
