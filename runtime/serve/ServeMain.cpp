//===- ServeMain.cpp - the common body of the serve commands --------------===//

#include "runtime/serve/ServeMain.h"

#include <cstdio>
#include <thread>

namespace llmc::serve {

int serveMain(const std::string &tool, const ServeOptions &options,
              int64_t httpThreads, const ServeLoader &load) {
  auto error = [&](const std::string &message) {
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), message.c_str());
    return 1;
  };
  HttpOptions http;
  http.host = options.host;
  http.port = options.port;
  http.apiKey = options.apiKey;
  http.threads = httpThreads;
  HttpServer server(http);
  if (Status s = server.bind(); !s)
    return error(s.message());
  std::printf("llmc serve: listening on http://%s:%d\n", options.host.c_str(),
              server.port());
  std::fflush(stdout);

  Engine *engine = nullptr;
  std::string loadError;
  SignalDrain signals(server, options.drainTimeoutSeconds);
  std::thread loader([&] {
    Expected<LoadedServer> loaded =
        load([&signals] { return signals.signalled(); });
    if (!loaded) {
      loadError = loaded.status().message();
      server.stop();
      return;
    }
    engine = loaded->engine;
    server.attach(*loaded->engine, *loaded->codec, loaded->modelName);
    std::printf("llmc serve: ready%s%s%s\n",
                loaded->readyNote.empty() ? "" : " (",
                loaded->readyNote.c_str(),
                loaded->readyNote.empty() ? "" : ")");
    std::fflush(stdout);
  });
  Status ran = server.run();
  loader.join();
  if (engine)
    engine->stop();
  if (!loadError.empty())
    return error(loadError);
  if (!ran)
    return error(ran.message());
  std::printf("llmc serve: stopped\n");
  return 0;
}

} // namespace llmc::serve
