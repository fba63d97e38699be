//===- HttpServer.h - the OpenAI-compatible HTTP server ---------*- C++ -*-===//
//
// Routes (cpp-httplib from Debian, one worker thread per open request):
//   POST /v1/completions, POST /v1/chat/completions  (SSE when "stream")
//   GET  /v1/models, GET /health, GET /metrics
// The server listens before the model is ready (/health and /v1 answer 503
// until attach()), checks `Authorization: Bearer KEY` on every /v1 route
// when an API key is set, cancels a request whose client disconnects (its
// blocks are released before the next step), and on drain refuses new
// requests while the accepted ones finish. Text goes through TextCodec
// (Text.h), requests through Engine. docs/serving.md describes the API.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SERVE_HTTPSERVER_H
#define LLMC_RUNTIME_SERVE_HTTPSERVER_H

#include "runtime/serve/Engine.h"
#include "runtime/serve/Text.h"

#include <memory>
#include <string>

namespace llmc::serve {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8000;       ///< 0: any free port
  std::string apiKey;    ///< "": no authentication
  int64_t threads = 64;  ///< worker threads (each open request holds one)
  /// How often a waiting request checks whether its client is gone.
  double disconnectPollSeconds = 0.02;
};

class HttpServer {
public:
  explicit HttpServer(HttpOptions options);
  ~HttpServer();

  /// Binds and listens; port() is then the port (the one chosen for 0).
  Status bind();
  int port() const;

  /// Serves `engine` with `codec` under the model id `modelName` from now
  /// on (/health turns 200). Both outlive the server.
  void attach(Engine &engine, const TextCodec &codec,
              const std::string &modelName);

  /// Accepts connections until stop() (call after bind(), from one thread).
  Status run();

  /// Thread-safe: the graceful end (SIGTERM). Refuses new requests (503;
  /// /health 503), lets the engine finish the accepted ones for up to
  /// `timeoutSeconds` (then cancels the rest), waits for their responses to
  /// be written, and stops run().
  void drainAndStop(double timeoutSeconds);
  /// Thread-safe: stops run() now (open requests are cancelled).
  void stop();

  /// Generation responses not completely written yet.
  int64_t openResponses() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

/// Blocks SIGTERM and SIGINT in the calling thread, so that threads it
/// starts afterwards (engine, HTTP workers) inherit the mask and only a
/// SignalDrain sees them, and ignores SIGPIPE (a client that disconnects
/// mid-write must not kill the server). Call first in main().
void blockTerminationSignals();

/// Waits for SIGTERM or SIGINT on its own thread: the first drains
/// `server` (drainAndStop), a second one stops it at once.
class SignalDrain {
public:
  SignalDrain(HttpServer &server, double drainTimeoutSeconds);
  ~SignalDrain();
  /// Whether a signal arrived.
  bool signalled() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace llmc::serve

#endif // LLMC_RUNTIME_SERVE_HTTPSERVER_H
