//===- StubServer.cpp - the HTTP server in front of the fake model --------===//
//
// llmc-serve-stub: the serving stack of `llm-model serve` (serve flags,
// engine, HTTP server, SIGTERM drain) with the fake model and the
// one-token-per-byte codec, listening on 127.0.0.1, for the end-to-end
// tests and for trying the load generator without a GPU. Besides the serve
// flags:
//   --fake-vocab=N          vocabulary (default 300; 256 is EOS)
//   --fake-blocks=N         KV blocks (default 4096)
//   --fake-max-model-len=N  context (default 2048)
//   --fake-replicas=N       batch replicas (default 1)
//   --fake-step-ms=F        sleep per model step (default 0)
//   --fake-ready-file=PATH  the model is "loading" until PATH exists (so a
//                           test decides when it becomes ready)
// Prints "llmc serve: listening on http://HOST:PORT" once bound and
// "llmc serve: ready" once the model is attached.
//
//===----------------------------------------------------------------------===//

#include "runtime/serve/ServeMain.h"
#include "runtime/serve/ServeOptions.h"
#include "test/serve/ByteCodec.h"
#include "test/serve/FakeModel.h"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include <unistd.h>

using namespace llmc::serve;

namespace {

int usage(const char *why) {
  std::fprintf(stderr, "llmc-serve-stub: error: %s\n", why);
  return 2;
}

bool number(const std::string &arg, const char *name, double &out) {
  std::string prefix = std::string("--") + name + "=";
  if (arg.rfind(prefix, 0) != 0)
    return false;
  char *end = nullptr;
  std::string v = arg.substr(prefix.size());
  out = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || out < 0) {
    std::fprintf(stderr, "llmc-serve-stub: error: %s needs a number >= 0\n",
                 prefix.c_str());
    std::exit(2);
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  blockTerminationSignals();
  std::vector<std::string> args(argv + 1, argv + argc);
  Expected<ServeOptions> so = extractServeOptions(args);
  if (!so)
    return usage(so.status().message().c_str());
  test::FakeModelConfig mc;
  mc.name = "fake-model";
  mc.vocabSize = 300;
  mc.blockSize = so->blockSize;
  mc.numBlocks = 4096;
  mc.maxModelLen = 2048;
  mc.eosTokenIds = {256};
  double stepMs = 0, v = 0;
  std::string readyFile;
  for (const std::string &a : args) {
    if (number(a, "fake-vocab", v))
      mc.vocabSize = int64_t(v);
    else if (number(a, "fake-blocks", v))
      mc.numBlocks = int64_t(v);
    else if (number(a, "fake-max-model-len", v))
      mc.maxModelLen = int64_t(v);
    else if (number(a, "fake-replicas", v))
      mc.replicas = int32_t(v);
    else if (number(a, "fake-step-ms", stepMs))
      continue;
    else if (a.rfind("--fake-ready-file=", 0) == 0)
      readyFile = a.substr(18);
    else
      return usage(("unknown argument '" + a + "'").c_str());
  }
  mc.stepSeconds = stepMs / 1000;
  if (mc.vocabSize < 257)
    return usage("--fake-vocab must be at least 257 (bytes and EOS)");
  test::FakeModel model(mc);
  Expected<EngineConfig> config = engineConfigFor(*so, model.facts());
  if (!config)
    return usage(config.status().message().c_str());
  std::string name =
      so->servedModelName.empty() ? mc.name : so->servedModelName;

  test::ByteCodec codec(256);
  std::unique_ptr<Engine> engine;
  return serveMain(
      "llmc-serve-stub", *so, httpThreadsFor(*so, *config),
      [&](const std::function<bool()> &stopping) -> Expected<LoadedServer> {
        while (!readyFile.empty() && access(readyFile.c_str(), F_OK) != 0 &&
               !stopping())
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        Expected<std::unique_ptr<Engine>> e = Engine::create(model, *config);
        if (!e)
          return Expected<LoadedServer>::fromError(e.status());
        engine = std::move(*e);
        return LoadedServer{engine.get(), &codec, name, ""};
      });
}
