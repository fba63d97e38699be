//===- Buffers.cpp - liveness and buffer reuse for generated code ---------===//

#include "passes/lowering/Buffers.h"

using namespace mlir;
using namespace llmc::lowering;

void BufferPool::visit(Operation *op, ArrayRef<Value> canonicalOperands) {
  int64_t p = static_cast<int64_t>(position.size());
  position[op] = p;
  for (Value v : canonicalOperands) {
    int64_t &last = lastUse[v];
    if (last != kForever)
      last = std::max(last, p);
  }
}

bool BufferPool::diesAt(Value value, Operation *op) const {
  auto it = lastUse.find(value);
  return it == lastUse.end() || it->second <= positionOf(op);
}

Value BufferPool::take(const BufferKey &key) {
  auto it = free.find(key);
  if (it == free.end() || it->second.empty())
    return {};
  return it->second.pop_back_val();
}

void BufferPool::assign(Value value, Value buffer,
                        std::optional<BufferKey> key) {
  buffers[value] = buffer;
  if (key)
    keys[buffer] = *key;
}

void BufferPool::recycle(Value buffer, const BufferKey &key) {
  keys[buffer] = key;
  free[key].push_back(buffer);
}

void BufferPool::transfer(Value from, Value to) {
  buffers[to] = buffers.lookup(from);
  moved.insert(from);
}

void BufferPool::share(Value owner, const BufferKey &key,
                       ArrayRef<Value> views) {
  keys[owner] = key;
  for (Value view : views)
    ownerOf[view] = owner;
  liveViews[owner] = static_cast<int64_t>(views.size());
}

std::optional<BufferKey> BufferPool::keyOf(Value buffer) const {
  auto it = keys.find(buffer);
  if (it == keys.end())
    return std::nullopt;
  return it->second;
}

void BufferPool::release(Operation *op, ArrayRef<Value> values) {
  llvm::SmallDenseSet<Value, 8> seen;
  for (Value v : values) {
    if (!seen.insert(v).second || moved.contains(v) || !diesAt(v, op))
      continue;
    Value buffer = buffers.lookup(v);
    if (!buffer)
      continue;
    moved.insert(v); // released once
    if (Value owner = ownerOf.lookup(buffer)) {
      if (--liveViews[owner] == 0)
        free[keys[owner]].push_back(owner);
      continue;
    }
    if (auto key = keyOf(buffer))
      free[*key].push_back(buffer);
  }
}
