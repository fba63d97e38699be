//===- Planner.cpp - input of back-edges.test (planted includes) --------===//
#include "llmc/Passes/Passes.h"
#include "llmc/Dialect/Llm/LlmDialect.h"
#include "runtime/model/Manifest.h"
