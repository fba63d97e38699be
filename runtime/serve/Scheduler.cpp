//===- Scheduler.cpp - continuous batching over a paged KV cache ----------===//

#include "runtime/serve/Scheduler.h"

#include "runtime/serve/KVSizing.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace llmc::serve {

const char *finishReasonName(FinishReason r) {
  switch (r) {
  case FinishReason::None:
    return "";
  case FinishReason::Stop:
    return "stop";
  case FinishReason::Length:
    return "length";
  case FinishReason::Cancelled:
    return "cancelled";
  case FinishReason::Error:
    return "error";
  }
  return "";
}

SchedulerConfig schedulerConfigFor(const ModelFacts &f) {
  SchedulerConfig c;
  c.blockSize = f.blockSize;
  c.numBlocks = f.numBlocks;
  c.replicas = f.replicas;
  c.maxModelLen = f.maxModelLen;
  c.vocabSize = f.vocabSize;
  c.eosTokenIds = f.eosTokenIds;
  return c;
}

Status validateSchedulerConfig(const SchedulerConfig &c) {
  auto atLeast = [](const char *flag, int64_t v, int64_t min) {
    return v >= min ? Status::ok()
                    : Status::error(std::string(flag) + " is " +
                                    std::to_string(v) + "; it must be at least " +
                                    std::to_string(min));
  };
  for (Status s : {atLeast("--block-size", c.blockSize, 1),
                   atLeast("KV blocks per replica", c.numBlocks, 1),
                   atLeast("batch replicas", c.replicas, 1),
                   atLeast("--max-model-len", c.maxModelLen, 2),
                   atLeast("vocabulary size", c.vocabSize, 1),
                   atLeast("--max-num-seqs", c.maxNumSeqs, 1)})
    if (!s)
      return s;
  if (c.maxNumBatchedTokens < c.maxNumSeqs)
    return Status::error(
        "--max-num-batched-tokens is " + std::to_string(c.maxNumBatchedTokens) +
        "; it must be at least --max-num-seqs (" +
        std::to_string(c.maxNumSeqs) +
        ") so that every running sequence gets its decode token each step");
  if (c.decodeStepTokens < 0)
    return Status::error("--decode-step-tokens is " +
                         std::to_string(c.decodeStepTokens) +
                         "; it must be >= 0 (0: steps with decode tokens "
                         "take the full --max-num-batched-tokens)");
  if (Status s = checkKVCapacity(c.numBlocks, c.blockSize, c.maxModelLen);
      !s)
    return s;
  for (int32_t id : c.eosTokenIds)
    if (id < 0 || id >= c.vocabSize)
      return Status::error("EOS token id " + std::to_string(id) +
                           " is outside the vocabulary of " +
                           std::to_string(c.vocabSize));
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Sequences
//===----------------------------------------------------------------------===//

struct Scheduler::Sequence {
  SequenceSpec spec;
  /// Prompt then generated tokens.
  std::vector<int32_t> tokens;
  int64_t numOutput = 0;
  /// Tokens whose keys and values are in the cache.
  int64_t numComputed = 0;
  int32_t replica = -1;  ///< -1 while waiting
  std::vector<int32_t> blocks;
  /// Chained hashes of the first hashes.size() blocks (all committed or
  /// taken from the cache).
  std::vector<uint64_t> hashes;
  uint64_t arrival = 0;
  bool admittedOnce = false;
  int64_t cachedPromptTokens = 0;

  int64_t pending() const { return int64_t(tokens.size()) - numComputed; }
};

Scheduler::Scheduler(SchedulerConfig config)
    : config_(std::move(config)), running_(size_t(config_.replicas)) {
  for (int32_t r = 0; r < config_.replicas; ++r)
    pools_.push_back(std::make_unique<BlockPool>(
        config_.numBlocks, config_.blockSize, config_.prefixCaching));
}

Scheduler::~Scheduler() = default;

Scheduler::Sequence *Scheduler::find(uint64_t id) {
  auto it = sequences_.find(id);
  return it == sequences_.end() ? nullptr : it->second.get();
}

bool Scheduler::contains(uint64_t id) const {
  return sequences_.count(id) != 0;
}

Status checkSequence(const SchedulerConfig &config, const SequenceSpec &spec) {
  if (spec.prompt.empty())
    return Status::error("the prompt is empty");
  if (int64_t(spec.prompt.size()) >= config.maxModelLen)
    return Status::error("the prompt has " +
                         std::to_string(spec.prompt.size()) +
                         " tokens; the max model length " +
                         std::to_string(config.maxModelLen) +
                         " leaves no room for a generated token");
  for (int32_t t : spec.prompt)
    if (t < 0 || t >= config.vocabSize)
      return Status::error("token id " + std::to_string(t) +
                           " is outside the vocabulary of " +
                           std::to_string(config.vocabSize));
  if (spec.maxTokens < 1)
    return Status::error("max_tokens is " +
                         std::to_string(spec.maxTokens) +
                         "; it must be at least 1");
  const SamplingParams &p = spec.sampling;
  if (!std::isfinite(p.temperature) || p.temperature < 0)
    return Status::error("temperature must be a finite number >= 0");
  if (!(p.topP > 0.0f && p.topP <= 1.0f))
    return Status::error("top_p must be in (0, 1]");
  if (p.topK < 0)
    return Status::error("top_k must be >= 0 (0: no limit)");
  if (p.logprobs < -1 || p.logprobs > config.vocabSize)
    return Status::error("logprobs must be in [-1, vocabulary size]");
  return Status::ok();
}

Status Scheduler::add(SequenceSpec spec) {
  if (sequences_.count(spec.id))
    return Status::error("request " + std::to_string(spec.id) +
                         " is already scheduled");
  if (Status st = checkSequence(config_, spec); !st)
    return Status::error("request " + std::to_string(spec.id) + ": " +
                         st.message());
  auto s = std::make_unique<Sequence>();
  s->tokens = spec.prompt;
  s->spec = std::move(spec);
  s->arrival = nextArrival_++;
  counters_.promptTokens += int64_t(s->tokens.size());
  waiting_.push_back(s.get());
  sequences_.emplace(s->spec.id, std::move(s));
  return Status::ok();
}

void Scheduler::release(Sequence &s) {
  if (s.replica >= 0)
    pools_[size_t(s.replica)]->release(s.blocks);
  s.blocks.clear();
  s.hashes.clear();
  s.numComputed = 0;
}

bool Scheduler::finish(uint64_t id) {
  Sequence *s = find(id);
  if (!s)
    return false;
  if (s->replica >= 0) {
    auto &run = running_[size_t(s->replica)];
    run.erase(std::find(run.begin(), run.end(), s));
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), s));
  }
  release(*s);
  sequences_.erase(id);
  return true;
}

void Scheduler::preempt(Sequence &s) {
  auto &run = running_[size_t(s.replica)];
  run.erase(std::find(run.begin(), run.end(), &s));
  release(s);
  s.replica = -1;
  waiting_.push_front(&s);
  ++counters_.preemptions;
}

void Scheduler::commitFullBlocks(Sequence &s) {
  if (!config_.prefixCaching)
    return;
  BlockPool &pool = *pools_[size_t(s.replica)];
  int32_t bs = config_.blockSize;
  while (int64_t(s.hashes.size() + 1) * bs <= s.numComputed) {
    size_t i = s.hashes.size();
    uint64_t parent = i == 0 ? kRootBlockHash : s.hashes[i - 1];
    const int32_t *tokens = s.tokens.data() + i * size_t(bs);
    uint64_t h = hashBlock(parent, tokens, bs);
    pool.commit(s.blocks[i], parent, h, tokens);
    s.hashes.push_back(h);
  }
}

void Scheduler::appendStep(Sequence &s, int64_t count, StepPlan &plan) {
  SequenceStep step;
  step.seqId = s.spec.id;
  step.replica = s.replica;
  step.startPos = s.numComputed;
  step.tokens.assign(s.tokens.begin() + s.numComputed,
                     s.tokens.begin() + s.numComputed + count);
  step.blockTable = s.blocks;
  step.sample = s.numComputed + count == int64_t(s.tokens.size());
  step.sampling = s.spec.sampling;
  step.drawIndex = uint64_t(s.numOutput);
  plan.sequences.push_back(std::move(step));
}

//===----------------------------------------------------------------------===//
// Scheduling
//===----------------------------------------------------------------------===//

namespace {

int64_t blocksFor(int64_t tokens, int32_t blockSize) {
  return (tokens + blockSize - 1) / blockSize;
}

} // namespace

bool Scheduler::tryAdmit(Sequence &s, std::vector<int64_t> &budget,
                         const std::vector<bool> &blocked, StepPlan &plan) {
  int32_t bs = config_.blockSize;
  int64_t len = int64_t(s.tokens.size());
  // At least the last token is computed, so the step has logits to sample
  // from: only blocks before it may come from the cache.
  int64_t lookup = (len - 1) / bs;
  std::vector<uint64_t> hashes;
  if (config_.prefixCaching)
    hashes = blockHashes(s.tokens, bs, lookup);

  struct Option {
    int32_t replica;
    std::vector<int32_t> hits;
  };
  std::vector<Option> options;
  for (int32_t r = 0; r < config_.replicas; ++r) {
    if (blocked[size_t(r)] || budget[size_t(r)] <= 0 ||
        int64_t(running_[size_t(r)].size()) >= config_.maxNumSeqs)
      continue;
    options.push_back({r, pools_[size_t(r)]->match(hashes, s.tokens)});
  }
  // Longest cached prefix first, then the least loaded replica.
  std::stable_sort(options.begin(), options.end(),
                   [&](const Option &a, const Option &b) {
                     if (a.hits.size() != b.hits.size())
                       return a.hits.size() > b.hits.size();
                     size_t ra = running_[size_t(a.replica)].size();
                     size_t rb = running_[size_t(b.replica)].size();
                     if (ra != rb)
                       return ra < rb;
                     return pools_[size_t(a.replica)]->numFree() >
                            pools_[size_t(b.replica)]->numFree();
                   });
  for (Option &o : options) {
    BlockPool &pool = *pools_[size_t(o.replica)];
    int64_t cached = int64_t(o.hits.size()) * bs;
    int64_t count = std::min(len - cached, budget[size_t(o.replica)]);
    int64_t need = blocksFor(cached + count, bs) - int64_t(o.hits.size());
    if (need > pool.numFree() - pool.countFree(o.hits))
      continue;
    pool.acquire(o.hits);
    s.replica = o.replica;
    s.blocks = o.hits;
    s.hashes.assign(hashes.begin(), hashes.begin() + ptrdiff_t(o.hits.size()));
    for (int64_t i = 0; i < need; ++i)
      s.blocks.push_back(pool.allocate());
    s.numComputed = cached;
    if (!s.admittedOnce) {
      s.admittedOnce = true;
      s.cachedPromptTokens = cached;
      counters_.prefixQueryTokens += int64_t(s.spec.prompt.size());
      counters_.prefixHitTokens += cached;
    }
    running_[size_t(o.replica)].push_back(&s);
    appendStep(s, count, plan);
    budget[size_t(o.replica)] -= count;
    return true;
  }
  return false;
}

StepPlan Scheduler::schedule() {
  StepPlan plan;
  plan.stepIndex = nextStep_;
  int32_t bs = config_.blockSize;
  std::vector<int64_t> budget(size_t(config_.replicas),
                              config_.maxNumBatchedTokens);
  std::vector<bool> preempted(size_t(config_.replicas), false);
  // A replica whose step carries decode tokens takes the decode-step
  // budget (never fewer tokens than it has decoding sequences).
  if (config_.decodeStepTokens > 0)
    for (int32_t r = 0; r < config_.replicas; ++r) {
      int64_t decoding = 0;
      for (const Sequence *s : running_[size_t(r)])
        decoding += s->pending() == 1 ? 1 : 0;
      if (decoding > 0)
        budget[size_t(r)] = std::min(
            config_.maxNumBatchedTokens,
            std::max(config_.decodeStepTokens, decoding));
    }

  for (int32_t r = 0; r < config_.replicas; ++r) {
    std::vector<Sequence *> &run = running_[size_t(r)];
    BlockPool &pool = *pools_[size_t(r)];
    for (size_t i = 0; i < run.size() && budget[size_t(r)] > 0;) {
      Sequence &s = *run[i];
      int64_t count = std::min(s.pending(), budget[size_t(r)]);
      if (count <= 0) {
        ++i;
        continue;
      }
      int64_t need = blocksFor(s.numComputed + count, bs) -
                     int64_t(s.blocks.size());
      bool self = false;
      while (need > pool.numFree()) {
        Sequence *victim = run.back();
        self = victim == &s;
        preempt(*victim);
        preempted[size_t(r)] = true;
        if (self)
          break;
      }
      if (self)
        break;
      for (int64_t k = 0; k < need; ++k)
        s.blocks.push_back(pool.allocate());
      appendStep(s, count, plan);
      budget[size_t(r)] -= count;
      ++i;
    }
  }

  // Arrival order; a replica that preempted this step takes nobody new
  // (it is short of blocks), and the queue stops at the first sequence no
  // replica can take, so later arrivals never overtake it.
  while (!waiting_.empty()) {
    Sequence &s = *waiting_.front();
    if (!tryAdmit(s, budget, preempted, plan))
      break;
    waiting_.pop_front();
  }
  if (!plan.sequences.empty()) {
    ++nextStep_;
    ++counters_.steps;
  }
  return plan;
}

Expected<std::vector<TokenUpdate>>
Scheduler::update(const StepPlan &plan, const StepResult &result) {
  using R = Expected<std::vector<TokenUpdate>>;
  size_t expected = 0;
  for (const SequenceStep &st : plan.sequences)
    expected += st.sample ? 1 : 0;
  if (result.sampled.size() != expected)
    return R::fromError(Status::error(
        "step " + std::to_string(plan.stepIndex) + ": the model returned " +
        std::to_string(result.sampled.size()) + " sampled tokens for " +
        std::to_string(expected) + " sequences that sample"));

  std::vector<TokenUpdate> updates;
  size_t next = 0;
  for (const SequenceStep &st : plan.sequences) {
    const SampledToken *sampled = nullptr;
    if (st.sample) {
      sampled = &result.sampled[next++];
      if (sampled->seqId != st.seqId)
        return R::fromError(Status::error(
            "step " + std::to_string(plan.stepIndex) +
            ": sampled token " + std::to_string(next - 1) + " is for sequence " +
            std::to_string(sampled->seqId) + ", expected " +
            std::to_string(st.seqId)));
      if (sampled->token < 0 || sampled->token >= config_.vocabSize)
        return R::fromError(Status::error(
            "step " + std::to_string(plan.stepIndex) + ": sequence " +
            std::to_string(st.seqId) + " sampled token " +
            std::to_string(sampled->token) + ", outside the vocabulary of " +
            std::to_string(config_.vocabSize)));
    }
    Sequence *s = find(st.seqId);
    // Gone (finished or cancelled) or preempted since this plan was made.
    if (!s || s->replica != st.replica || s->numComputed != st.startPos)
      continue;
    s->numComputed += int64_t(st.tokens.size());
    commitFullBlocks(*s);
    if (!sampled)
      continue;
    TokenUpdate u;
    u.seqId = s->spec.id;
    u.sampled = *sampled;
    u.index = s->numOutput;
    s->tokens.push_back(sampled->token);
    ++s->numOutput;
    ++counters_.generatedTokens;
    const SequenceSpec &spec = s->spec;
    auto has = [](const std::vector<int32_t> &v, int32_t t) {
      return std::find(v.begin(), v.end(), t) != v.end();
    };
    if ((!spec.ignoreEos && has(config_.eosTokenIds, sampled->token)) ||
        has(spec.stopTokenIds, sampled->token))
      u.finish = FinishReason::Stop;
    else if (s->numOutput >= spec.maxTokens ||
             int64_t(s->tokens.size()) >= config_.maxModelLen)
      u.finish = FinishReason::Length;
    if (u.finish != FinishReason::None)
      finish(u.seqId);
    updates.push_back(std::move(u));
  }
  return updates;
}

//===----------------------------------------------------------------------===//
// Introspection
//===----------------------------------------------------------------------===//

SchedulerStats Scheduler::stats() const {
  SchedulerStats st = counters_;
  st.waiting = int64_t(waiting_.size());
  st.running = 0;
  st.blocksUsed = st.blocksTotal = st.blocksCachedFree = 0;
  for (int32_t r = 0; r < config_.replicas; ++r) {
    st.running += int64_t(running_[size_t(r)].size());
    st.blocksUsed += pools_[size_t(r)]->numUsed();
    st.blocksTotal += pools_[size_t(r)]->numBlocks();
    st.blocksCachedFree += pools_[size_t(r)]->numCachedFree();
  }
  return st;
}

int64_t Scheduler::cachedPromptTokens(uint64_t id) const {
  auto it = sequences_.find(id);
  return it == sequences_.end() ? 0 : it->second->cachedPromptTokens;
}

const BlockPool &Scheduler::pool(int32_t replica) const {
  return *pools_[size_t(replica)];
}

Status Scheduler::checkInvariants() const {
  std::vector<std::vector<int32_t>> refs(
      size_t(config_.replicas), std::vector<int32_t>(size_t(config_.numBlocks)));
  size_t inQueues = waiting_.size();
  for (const auto &run : running_)
    inQueues += run.size();
  if (inQueues != sequences_.size())
    return Status::error("scheduler: " + std::to_string(sequences_.size()) +
                         " sequences but " + std::to_string(inQueues) +
                         " in the running and waiting queues");
  for (const Sequence *s : waiting_)
    if (s->replica != -1 || !s->blocks.empty() || s->numComputed != 0)
      return Status::error("scheduler: waiting sequence " +
                           std::to_string(s->spec.id) + " holds blocks");
  for (int32_t r = 0; r < config_.replicas; ++r) {
    const BlockPool &pool = *pools_[size_t(r)];
    if (Status st = pool.checkConsistency(); !st)
      return st;
    if (int64_t(running_[size_t(r)].size()) > config_.maxNumSeqs)
      return Status::error("scheduler: replica " + std::to_string(r) +
                           " runs more than --max-num-seqs sequences");
    for (const Sequence *s : running_[size_t(r)]) {
      std::string who = "scheduler: sequence " + std::to_string(s->spec.id);
      if (s->replica != r)
        return Status::error(who + " is in the wrong replica's queue");
      if (int64_t(s->blocks.size()) <
          blocksFor(s->numComputed, config_.blockSize))
        return Status::error(who + " has computed tokens without blocks");
      std::set<int32_t> seen;
      for (int32_t b : s->blocks) {
        if (b < 0 || b >= config_.numBlocks || !seen.insert(b).second)
          return Status::error(who + " holds block " + std::to_string(b) +
                               " twice or out of range");
        ++refs[size_t(r)][size_t(b)];
      }
      // Blocks past the committed prefix are written by this sequence
      // alone.
      for (size_t i = s->hashes.size(); i < s->blocks.size(); ++i) {
        int32_t b = s->blocks[i];
        if (pool.refCount(b) != 1 || pool.isCached(b))
          return Status::error(who + " writes block " + std::to_string(b) +
                               " which is shared or cached");
      }
    }
    for (int64_t b = 0; b < config_.numBlocks; ++b) {
      if (refs[size_t(r)][size_t(b)] != pool.refCount(int32_t(b)))
        return Status::error(
            "scheduler: replica " + std::to_string(r) + " block " +
            std::to_string(b) + " has " +
            std::to_string(pool.refCount(int32_t(b))) + " references but " +
            std::to_string(refs[size_t(r)][size_t(b)]) +
            " sequences hold it");
      if (pool.refCount(int32_t(b)) > 1 && !pool.isCached(int32_t(b)))
        return Status::error("scheduler: replica " + std::to_string(r) +
                             " block " + std::to_string(b) +
                             " is shared but not a committed cache block");
    }
  }
  return Status::ok();
}

} // namespace llmc::serve
