//===- Generate.h - the main program of a compiled model --------*- C++ -*-===//
//
// DIR/llm-model's whole life: parse the flags, read the manifest, refuse a
// request or an environment that cannot work (before any GPU work where
// possible), create the ranks this process runs (one under a launcher, all
// of the plan as threads with --emulate-ranks), load weights, allocate the
// KV cache, then prefill and decode greedily, calling the generated
// llmc_forward once per step. Main.cpp only forwards main() here, so test
// programs can link the runtime without its main.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_GENERATE_GENERATE_H
#define LLMC_RUNTIME_GENERATE_GENERATE_H

namespace llmc::rt {

/// Runs the model binary; returns the process exit status (0 on success, 1
/// for a refused or failed run, 2 for a bad command line). Fatal errors
/// inside a rank print a message naming the rank and exit the process.
int runModelMain(int argc, char **argv);

} // namespace llmc::rt

#endif // LLMC_RUNTIME_GENERATE_GENERATE_H
