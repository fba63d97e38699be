//===- llm-launch.cpp - input of back-edges.test (planted includes) -----===//
#include "runtime/model/Manifest.h"
#include "llmc/Plan/Planner.h"
