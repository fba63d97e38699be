//===- AutoPlan.cpp - how --shard=auto reaches the planner ----------------===//

#include "llmc/Passes/AutoPlan.h"

namespace llmc {

namespace {
AutoPlanner &installedPlanner() {
  static AutoPlanner planner;
  return planner;
}
} // namespace

void setAutoPlanner(AutoPlanner planner) {
  installedPlanner() = std::move(planner);
}

const AutoPlanner &getAutoPlanner() { return installedPlanner(); }

} // namespace llmc
