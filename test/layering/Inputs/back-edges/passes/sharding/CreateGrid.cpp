//===- CreateGrid.cpp - input of back-edges.test (planted includes) -----===//
#include "llmc/Passes/Passes.h"
#include "llmc/Plan/Planner.h"
#include "runtime/plan/Grid.h"
#include "runtime/model/Manifest.h"
