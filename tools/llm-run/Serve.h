//===- Serve.h - llm-run serve: the reference executor as a server -*- C++ -*-===//

#ifndef LLMC_TOOLS_LLMRUN_SERVE_H
#define LLMC_TOOLS_LLMRUN_SERVE_H

namespace llmc {

/// `llm-run serve model.mlir ...` (argv[1] is "serve"): the OpenAI server
/// of runtime/serve in front of the CPU reference executor. Call first in
/// main(), before any thread starts. Returns the exit code.
int runServe(int argc, char **argv);

} // namespace llmc

#endif // LLMC_TOOLS_LLMRUN_SERVE_H
