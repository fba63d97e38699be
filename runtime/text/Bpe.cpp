//===- Bpe.cpp - the BPE model of tokenizer.json --------------------------===//
//
// Byte-pair encoding as the tokenizers library runs it: a word starts as
// its characters (a character missing from the vocabulary becomes its
// <0xXX> byte tokens with byte_fallback, else the unk token, fused with a
// neighbouring unk when fuse_unk); then the adjacent pair of lowest merge
// rank is merged, leftmost first among equal ranks, until no pair has a
// merge. With ignore_merges a word that is itself in the vocabulary is one
// token. Merges are "a b" strings or ["a", "b"] pairs; a later duplicate
// overrides an earlier one, as the library's map does.
//
// Results are cached per word (words up to 256 bytes) in a sharded,
// mutex-guarded map so concurrent encodes share it.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Components.h"
#include "runtime/text/Unicode.h"

#include <array>
#include <cstdio>
#include <optional>
#include <tuple>
#include <functional>
#include <mutex>
#include <queue>

namespace llmc::text::detail {

namespace {

/// A word-result cache split into shards so threads rarely contend. Keyed
/// by the word's hash (the word is kept to confirm a hit), so a lookup
/// allocates nothing.
class WordCache {
public:
  static constexpr size_t kShards = 64;
  static constexpr size_t kMaxEntriesPerShard = 4096;
  static constexpr size_t kMaxWordBytes = 256;

  bool lookup(std::string_view word, size_t h, std::vector<int32_t> &out) const {
    if (word.size() > kMaxWordBytes)
      return false;
    Shard &s = shards_[h % kShards];
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.map.find(h);
    if (it == s.map.end() || it->second.word != word)
      return false;
    out.insert(out.end(), it->second.ids.begin(), it->second.ids.end());
    return true;
  }

  void insert(std::string_view word, size_t h, const int32_t *ids,
              size_t n) const {
    if (word.size() > kMaxWordBytes)
      return;
    Shard &s = shards_[h % kShards];
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.map.size() < kMaxEntriesPerShard)
      s.map.emplace(h, Entry{std::string(word), std::vector<int32_t>(ids, ids + n)});
  }

private:
  struct Entry {
    std::string word;
    std::vector<int32_t> ids;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<size_t, Entry> map;
  };
  mutable std::array<Shard, kShards> shards_;
};

struct MergeInfo {
  uint32_t rank;
  int32_t newId;
};

/// Open-addressing map from a token pair to its merge: the hot lookup of
/// BPE, flat so a probe touches one cache line.
class PairMap {
public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n)
      cap <<= 1;
    slots_.assign(cap, Slot{kEmpty, {0, 0}});
    mask_ = cap - 1;
  }
  void set(uint64_t key, MergeInfo v) {
    for (size_t i = hash(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty || slots_[i].key == key) {
        slots_[i] = {key, v};
        return;
      }
    }
  }
  const MergeInfo *find(uint64_t key) const {
    for (size_t i = hash(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key)
        return &slots_[i].value;
      if (slots_[i].key == kEmpty)
        return nullptr;
    }
  }

private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  struct Slot {
    uint64_t key;
    MergeInfo value;
  };
  size_t hash(uint64_t key) const {
    return size_t((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_;
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

struct Symbol {
  int32_t id;
  int32_t prev, next;
  bool alive;
};

struct QueueItem {
  uint32_t rank;
  uint32_t pos;
  int32_t newId;
  bool operator>(const QueueItem &o) const {
    return rank != o.rank ? rank > o.rank : pos > o.pos;
  }
};

class BpeModel : public Model {
public:
  /// Token texts; `vocab` and `vocabR` point into it (never resized after
  /// loading).
  std::vector<std::string> storage;
  std::unordered_map<std::string_view, int32_t> vocab;
  std::vector<const std::string *> vocabR;
  PairMap merges;
  /// Ids of the single characters below kCharTable (-1: not a token), so
  /// the first step of BPE needs no string hashing.
  static constexpr uint32_t kCharTable = 0x3100;
  std::vector<int32_t> charIds;
  std::optional<std::string> unkToken;
  int32_t unkId = -1;
  std::string continuingPrefix, endSuffix;
  bool fuseUnk = false, byteFallback = false, ignoreMerges = false;
  std::array<int32_t, 256> byteTokenIds{};
  bool haveAllByteTokens = false;
  WordCache cache;

  static uint64_t key(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }

  int32_t lookup(std::string_view s) const {
    auto it = vocab.find(s);
    return it == vocab.end() ? -1 : it->second;
  }

  const std::string *idToToken(int32_t id) const override {
    if (id < 0 || size_t(id) >= vocabR.size())
      return nullptr;
    return vocabR[id];
  }
  int32_t tokenToId(std::string_view token) const override {
    return lookup(token);
  }
  int32_t idLimit() const override { return int32_t(vocabR.size()); }

  void tokenize(std::string_view word,
                std::vector<int32_t> &out) const override {
    if (word.empty())
      return;
    if (ignoreMerges) {
      int32_t id = lookup(word);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    size_t h = std::hash<std::string_view>()(word);
    if (cache.lookup(word, h, out))
      return;
    size_t before = out.size();
    mergeWord(word, out);
    cache.insert(word, h, out.data() + before, out.size() - before);
  }

  void mergeWord(std::string_view w, std::vector<int32_t> &out) const {
    std::vector<Symbol> symbols;
    symbols.reserve(w.size());
    auto add = [&](int32_t id) {
      int32_t n = int32_t(symbols.size());
      symbols.push_back({id, n - 1, -1, true});
      if (n > 0)
        symbols[n - 1].next = n;
    };
    int32_t pendingUnk = -1;
    std::string scratch;
    for (size_t i = 0; i < w.size();) {
      size_t start = i;
      nextCodePoint(w, i);
      std::string_view ch = w.substr(start, i - start);
      int32_t id;
      if (continuingPrefix.empty() && endSuffix.empty()) {
        size_t k = 0;
        uint32_t cp = nextCodePoint(ch, k);
        id = cp < kCharTable ? charIds[cp] : lookup(ch);
      } else {
        scratch.clear();
        if (start != 0)
          scratch += continuingPrefix;
        scratch += ch;
        if (i == w.size())
          scratch += endSuffix;
        id = lookup(scratch);
      }
      if (id >= 0) {
        if (pendingUnk >= 0) {
          add(pendingUnk);
          pendingUnk = -1;
        }
        add(id);
        continue;
      }
      std::string_view s = scratch.empty() ? ch : std::string_view(scratch);
      if (byteFallback && byteTokensFor(s)) {
        // As in the tokenizers library, a pending unk is not flushed here.
        for (unsigned char b : s)
          add(byteTokenIds[b]);
        continue;
      }
      if (unkId >= 0) {
        if (pendingUnk >= 0 && !fuseUnk)
          add(pendingUnk);
        pendingUnk = unkId;
      }
      // Without an unk token the character is dropped, as the library does.
    }
    if (pendingUnk >= 0)
      add(pendingUnk);

    using Queue = std::priority_queue<QueueItem, std::vector<QueueItem>,
                                      std::greater<QueueItem>>;
    std::vector<QueueItem> storage;
    storage.reserve(symbols.size());
    Queue queue(std::greater<QueueItem>(), std::move(storage));
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      if (const MergeInfo *m = merges.find(key(symbols[i].id, symbols[i + 1].id)))
        queue.push({m->rank, uint32_t(i), m->newId});
    }
    while (!queue.empty()) {
      QueueItem top = queue.top();
      queue.pop();
      Symbol &cur = symbols[top.pos];
      if (!cur.alive || cur.next < 0)
        continue;
      Symbol &right = symbols[cur.next];
      const MergeInfo *m = merges.find(key(cur.id, right.id));
      if (!m || m->newId != top.newId)
        continue; // stale entry
      cur.id = top.newId;
      right.alive = false;
      cur.next = right.next;
      if (cur.next >= 0)
        symbols[cur.next].prev = int32_t(top.pos);
      if (cur.prev >= 0) {
        if (const MergeInfo *p = merges.find(key(symbols[cur.prev].id, cur.id)))
          queue.push({p->rank, uint32_t(cur.prev), p->newId});
      }
      if (cur.next >= 0) {
        if (const MergeInfo *n = merges.find(key(cur.id, symbols[cur.next].id)))
          queue.push({n->rank, top.pos, n->newId});
      }
    }
    for (const Symbol &s : symbols)
      if (s.alive)
        out.push_back(s.id);
  }

  bool byteTokensFor(std::string_view s) const {
    if (haveAllByteTokens)
      return true;
    for (unsigned char b : s)
      if (byteTokenIds[b] < 0)
        return false;
    return true;
  }
};

/// Splits a merge line "a b" into its two tokens (exactly one space).
std::pair<std::string, std::string> splitMergeLine(const Field &f) {
  std::string line = f.str();
  size_t sp = line.find(' ');
  if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
    f.fail("a merge must be two tokens separated by one space, got '" + line +
           "'");
  return {line.substr(0, sp), line.substr(sp + 1)};
}

} // namespace

std::unique_ptr<Model> makeModel(const Field &f) {
  std::string type = f.has("type") ? f.at("type").str() : "BPE";
  if (type != "BPE")
    f.at("type").fail("unsupported model type '" + type +
                      "' (supported: BPE; WordPiece, WordLevel and Unigram "
                      "are not implemented)");
  auto m = std::make_unique<BpeModel>();
  if (f.has("dropout")) {
    Field d = f.at("dropout");
    if (d.number() != 0.0)
      d.fail("BPE dropout is random at encode time and is not supported");
  }
  m->fuseUnk = f.boolean("fuse_unk", false);
  m->byteFallback = f.boolean("byte_fallback", false);
  m->ignoreMerges = f.boolean("ignore_merges", false);
  m->continuingPrefix = f.str("continuing_subword_prefix", "");
  m->endSuffix = f.str("end_of_word_suffix", "");

  Field vocab = f.at("vocab");
  const Json::object_t &entries = vocab.object();
  // Bound the id range before sizing tables from it.
  constexpr int64_t kMaxId = int64_t(1) << 26;
  int64_t maxId = -1;
  m->vocab.reserve(entries.size());
  m->storage.reserve(entries.size());
  for (const auto &[token, idJson] : entries) {
    Field idField{idJson, vocab.file, vocab.path + "[\"" + token + "\"]"};
    int64_t id = idField.integer();
    if (id < 0 || id >= kMaxId)
      idField.fail("token id " + std::to_string(id) + " is outside [0, " +
                   std::to_string(kMaxId) + ")");
    if (!isValidUtf8(token))
      idField.fail("token is not valid UTF-8");
    m->storage.push_back(token);
    m->vocab.emplace(m->storage.back(), int32_t(id));
    maxId = std::max(maxId, id);
  }
  m->vocabR.assign(size_t(maxId + 1), nullptr);
  for (const std::string &token : m->storage)
    m->vocabR[m->vocab[token]] = &token;

  if (f.has("unk_token")) {
    Field unk = f.at("unk_token");
    m->unkToken = unk.str();
    m->unkId = m->lookup(*m->unkToken);
    if (m->unkId < 0)
      unk.fail("unk_token '" + *m->unkToken + "' is not in model.vocab");
  }

  m->haveAllByteTokens = true;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    m->byteTokenIds[b] = m->lookup(name);
    if (m->byteTokenIds[b] < 0)
      m->haveAllByteTokens = false;
  }

  Field merges = f.at("merges");
  const Json::array_t &list = merges.array();
  m->merges.reserve(list.size());
  m->charIds.assign(BpeModel::kCharTable, -1);
  for (const std::string &token : m->storage) {
    size_t k = 0;
    uint32_t cp = nextCodePoint(token, k);
    if (k == token.size() && cp < BpeModel::kCharTable)
      m->charIds[cp] = m->vocab[token];
  }
  std::string merged;
  for (size_t i = 0; i < list.size(); ++i) {
    Field entry = merges.at(i);
    std::string a, b;
    if (entry.value.is_string()) {
      std::tie(a, b) = splitMergeLine(entry);
    } else if (entry.value.is_array() && entry.value.size() == 2) {
      a = entry.at(0).str();
      b = entry.at(1).str();
    } else {
      entry.fail("a merge must be \"a b\" or [\"a\", \"b\"]");
    }
    int32_t ia = m->lookup(a), ib = m->lookup(b);
    if (ia < 0)
      entry.fail("merge token '" + a + "' is not in model.vocab");
    if (ib < 0)
      entry.fail("merge token '" + b + "' is not in model.vocab");
    size_t cut = std::min(m->continuingPrefix.size(), b.size());
    merged = a;
    merged.append(b, cut, std::string::npos);
    int32_t id = m->lookup(merged);
    if (id < 0)
      entry.fail("merged token '" + merged + "' is not in model.vocab");
    m->merges.set(BpeModel::key(ia, ib), {uint32_t(i), id});
  }
  return m;
}

} // namespace llmc::text::detail
