//===- ServeMain.h - the common body of the serve commands -------*- C++ -*-===//
//
// `llm-run serve`, `llm-model serve` and the test stub differ in how they
// load a model; after their flags are parsed they all listen first (so
// /health answers 503 while loading), load on another thread, attach,
// serve, and drain on SIGTERM. serveMain is that sequence.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_SERVEMAIN_H
#define LLMC_RUNTIME_SERVE_SERVEMAIN_H

#include "runtime/serve/HttpServer.h"
#include "runtime/serve/ServeOptions.h"

#include <functional>
#include <string>

namespace llmc::serve {

/// What a serve command serves once its model is loaded. The objects
/// belong to the caller and must outlive serveMain.
struct LoadedServer {
  Engine *engine = nullptr;       ///< running; serveMain stops it at the end
  const TextCodec *codec = nullptr;
  std::string modelName;
  std::string readyNote;          ///< appended to the "ready" line
};

/// Loads the model; `stopping()` turns true when a signal arrived (a
/// loader that waits may give up). An error ends the command.
using ServeLoader =
    std::function<Expected<LoadedServer>(const std::function<bool()> &stopping)>;

/// Binds options.host:port and prints "llmc serve: listening on
/// http://HOST:PORT", runs `load` on its own thread, attaches what it
/// returns and prints "llmc serve: ready[ (note)]", serves until SIGTERM
/// or SIGINT drains the server (SignalDrain, options.drainTimeoutSeconds),
/// stops the engine and prints "llmc serve: stopped". Returns the exit
/// code: 0 after a drain, 1 when binding, loading or serving failed (one
/// "TOOL: error: ..." line on stderr). Call blockTerminationSignals()
/// first in main().
int serveMain(const std::string &tool, const ServeOptions &options,
              int64_t httpThreads, const ServeLoader &load);

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_SERVEMAIN_H
