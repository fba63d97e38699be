//===- HttpServer.cpp - the OpenAI-compatible HTTP server -----------------===//
//
// cpp-httplib runs each request on a worker thread of its pool and keeps
// the thread for the whole response, streamed or not; the engine's
// callbacks (engine thread) fill a per-request Channel that the worker
// drains into SSE events or one JSON body.
//
// Client disconnects: cpp-httplib 0.11 gives handlers no socket, and a
// write to a closed socket fails only on the second write, so a request
// waiting for its first token (or a non-streaming one) would otherwise run
// to its end for nobody. The handler finds its connection's socket once by
// its addresses (findConnection) and, while waiting, polls it for the
// peer's close (POLLRDHUP); a close cancels the request, which releases its
// KV blocks before the next step. Write failures cancel too. The same
// socket gets TCP_NODELAY so streamed tokens are not held back by Nagle.
//
//===----------------------------------------------------------------------===//

#include "runtime/serve/HttpServer.h"

#include "runtime/serve/OpenAI.h"

#include <httplib.h>

#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

namespace llmc::serve {

namespace {

using Clock = std::chrono::steady_clock;

//===----------------------------------------------------------------------===//
// The client's connection
//===----------------------------------------------------------------------===//

bool addressIs(const sockaddr_storage &a, socklen_t len,
               const std::string &host, int port) {
  char h[NI_MAXHOST], s[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr *>(&a), len, h, sizeof(h), s,
                  sizeof(s), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  return host == h && port == std::atoi(s);
}

/// The connected socket serving `req` (matched on both ends' addresses),
/// or -1.
int findConnection(const httplib::Request &req) {
  DIR *dir = opendir("/proc/self/fd");
  if (!dir)
    return -1;
  int found = -1;
  while (dirent *e = readdir(dir)) {
    char *end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir))
      continue;
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof(local), pl = sizeof(peer);
    if (getsockname(int(fd), reinterpret_cast<sockaddr *>(&local), &ll) != 0 ||
        getpeername(int(fd), reinterpret_cast<sockaddr *>(&peer), &pl) != 0)
      continue;
    if (addressIs(local, ll, req.local_addr, req.local_port) &&
        addressIs(peer, pl, req.remote_addr, req.remote_port)) {
      found = int(fd);
      break;
    }
  }
  closedir(dir);
  if (found >= 0) {
    int one = 1;
    setsockopt(found, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return found;
}

/// Whether the client closed its end (or the connection broke).
bool peerGone(int fd) {
  if (fd < 0)
    return false;
  pollfd p{fd, short(POLLRDHUP), 0};
  return ::poll(&p, 1, 0) > 0 &&
         (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

//===----------------------------------------------------------------------===//
// One request's tokens, from the engine thread to the worker
//===----------------------------------------------------------------------===//

struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_ptr<OutputText> output;
  bool wantTokens = false;
  // Produced since the worker last took them.
  std::string text;
  std::vector<TokenEvent> tokens;
  bool stopString = false;
  bool done = false;
  FinishEvent finish;

  bool onToken(const TokenEvent &ev) {
    OutputText::Piece piece = output->push(ev.token);
    std::lock_guard<std::mutex> lock(mu);
    text += piece.text;
    if (wantTokens)
      tokens.push_back(ev);
    stopString = stopString || piece.stopped;
    cv.notify_all();
    return !piece.stopped;
  }
  void onFinish(const FinishEvent &ev) {
    std::string rest;
    bool flush = ev.reason == FinishReason::Stop ||
                 ev.reason == FinishReason::Length;
    std::lock_guard<std::mutex> lock(mu);
    if (flush && !stopString)
      text += output->finish();
    finish = ev;
    done = true;
    cv.notify_all();
  }
  /// The OpenAI finish_reason of a finished request.
  std::string reason() const {
    return stopString ? "stop" : finishReasonName(finish.reason);
  }
};

/// The error a request that ended without a result reports.
ApiError endedError(const FinishEvent &f) {
  ApiError e;
  if (f.reason == FinishReason::Error) {
    e.status = 500;
    e.type = "server_error";
    e.message = "generation failed: " + f.error;
  } else {
    e.status = 503;
    e.type = "server_error";
    e.message = "the request was cancelled: the server is stopping";
  }
  return e;
}

void sendError(httplib::Response &res, const ApiError &e) {
  res.status = e.status;
  res.set_content(errorBody(e), "application/json");
}

ApiError unavailable(const std::string &message) {
  ApiError e;
  e.status = 503;
  e.type = "server_error";
  e.message = message;
  return e;
}

bool constantTimeEquals(const std::string &a, const std::string &b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= (unsigned char)(a[i] ^ b[i]);
  return diff == 0;
}

} // namespace

//===----------------------------------------------------------------------===//
// The server
//===----------------------------------------------------------------------===//

struct HttpServer::Impl {
  HttpOptions options;
  httplib::Server svr;
  int listenFd = -1;
  int port = -1;

  std::mutex mu;
  Engine *engine = nullptr;
  const TextCodec *codec = nullptr;
  std::string model;

  std::atomic<bool> draining{false}, stopRequested{false}, runActive{false};
  std::atomic<int64_t> open{0};
  int64_t created = int64_t(std::time(nullptr));
  std::mt19937_64 ids{std::random_device{}()};

  struct Backend {
    Engine *engine = nullptr;
    const TextCodec *codec = nullptr;
    std::string model;
  };
  Backend backend() {
    std::lock_guard<std::mutex> lock(mu);
    return {engine, codec, model};
  }
  std::string newId(const char *prefix) {
    std::lock_guard<std::mutex> lock(mu);
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%s%016llx", prefix,
                  (unsigned long long)ids());
    return buf;
  }

  void routes();
  void generate(const httplib::Request &req, httplib::Response &res,
                Endpoint endpoint);
  void stopListener();
};

void HttpServer::Impl::routes() {
  svr.set_pre_routing_handler(
      [this](const httplib::Request &req, httplib::Response &res) {
        bool v1 = req.path == "/v1" || req.path.rfind("/v1/", 0) == 0;
        if (!v1 || options.apiKey.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        if (constantTimeEquals(req.get_header_value("Authorization"),
                               "Bearer " + options.apiKey))
          return httplib::Server::HandlerResponse::Unhandled;
        ApiError e;
        e.status = 401;
        e.message = "missing or wrong API key: send 'Authorization: Bearer "
                    "<key>' with the key given to --api-key";
        e.code = "invalid_api_key";
        sendError(res, e);
        res.set_header("WWW-Authenticate", "Bearer");
        return httplib::Server::HandlerResponse::Handled;
      });
  svr.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request &req, httplib::Response &res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        ApiError e;
        e.status = res.status;
        e.message = res.status == 404 ? "no route " + req.method + " " + req.path
                                      : "HTTP error " + std::to_string(res.status);
        e.code = res.status == 404 ? "not_found" : "";
        sendError(res, e);
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr.set_exception_handler([](const httplib::Request &, httplib::Response &res,
                               std::exception_ptr ep) {
    ApiError e;
    e.status = 500;
    e.type = "server_error";
    e.message = "internal error";
    try {
      if (ep)
        std::rethrow_exception(ep);
    } catch (const std::exception &x) {
      e.message = std::string("internal error: ") + x.what();
    } catch (...) {
    }
    sendError(res, e);
  });

  svr.Get("/health", [this](const httplib::Request &, httplib::Response &res) {
    Backend b = backend();
    if (!b.engine)
      return sendError(res, unavailable("the model is loading"));
    if (draining)
      return sendError(res, unavailable("the server is shutting down"));
    if (!b.engine->healthy())
      return sendError(res, unavailable("the model failed"));
    res.status = 200;
  });
  svr.Get("/metrics", [this](const httplib::Request &, httplib::Response &res) {
    Backend b = backend();
    std::string ready = "# HELP llmc:server_ready 1 when the model serves.\n"
                        "# TYPE llmc:server_ready gauge\nllmc:server_ready " +
                        std::string(b.engine && !draining ? "1" : "0") + "\n";
    res.set_content(ready + (b.engine ? b.engine->metricsText() : ""),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.Get("/v1/models", [this](const httplib::Request &, httplib::Response &res) {
    Backend b = backend();
    if (!b.engine)
      return sendError(res, unavailable("the model is loading"));
    res.set_content(modelsBody(b.model, b.engine->config().scheduler.maxModelLen,
                               created),
                    "application/json");
  });
  svr.Post("/v1/completions",
           [this](const httplib::Request &req, httplib::Response &res) {
             generate(req, res, Endpoint::Completions);
           });
  svr.Post("/v1/chat/completions",
           [this](const httplib::Request &req, httplib::Response &res) {
             generate(req, res, Endpoint::Chat);
           });
}

void HttpServer::Impl::generate(const httplib::Request &req,
                                httplib::Response &res, Endpoint endpoint) {
  Backend b = backend();
  if (!b.engine)
    return sendError(res, unavailable("the model is loading"));
  if (draining)
    return sendError(res, unavailable("the server is shutting down"));

  // Shared with the engine's callbacks and the streaming provider, which
  // may outlive this function.
  struct State {
    ApiRequest api;
    Channel channel;
    std::unique_ptr<ResponseWriter> writer;
    Engine *engine = nullptr;
    uint64_t id = 0;
    int fd = -1;
  };
  auto st = std::make_shared<State>();
  ApiContext ctx;
  ctx.codec = b.codec;
  ctx.modelName = b.model;
  ctx.maxModelLen = b.engine->config().scheduler.maxModelLen;
  ctx.vocabSize = b.engine->facts().vocabSize;
  ApiError err;
  if (!parseApiRequest(req.body, endpoint, ctx, st->api, err))
    return sendError(res, err);

  const ApiRequest &api = st->api;
  st->channel.output = b.codec->output(api.spec.prompt, api.stop);
  st->channel.wantTokens = api.wantLogprobs;
  st->engine = b.engine;
  st->writer = std::make_unique<ResponseWriter>(
      st->api, *b.codec, b.model,
      newId(endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-"), created);

  GenerationRequest g;
  g.spec = api.spec;
  g.seeded = api.seeded;
  g.onToken = [st](const TokenEvent &ev) { return st->channel.onToken(ev); };
  g.onFinish = [st](const FinishEvent &ev) { st->channel.onFinish(ev); };
  SubmitResult sub = b.engine->submit(std::move(g));
  switch (sub.code) {
  case SubmitResult::Code::Ok:
    break;
  case SubmitResult::Code::Invalid: {
    ApiError e;
    e.message = sub.message;
    return sendError(res, e);
  }
  case SubmitResult::Code::QueueFull: {
    ApiError e;
    e.status = 429;
    e.type = "rate_limit_error";
    e.code = "rate_limit_exceeded";
    e.message = sub.message;
    res.set_header("Retry-After", "1");
    return sendError(res, e);
  }
  case SubmitResult::Code::Unavailable:
    return sendError(res, unavailable(sub.message));
  }
  st->id = sub.id;
  st->fd = findConnection(req);
  ++open;
  auto poll = std::chrono::duration<double>(options.disconnectPollSeconds);
  Usage usage;

  if (!api.stream) {
    std::unique_lock<std::mutex> lock(st->channel.mu);
    while (!st->channel.done) {
      st->channel.cv.wait_for(lock, poll);
      if (!st->channel.done && peerGone(st->fd)) {
        lock.unlock();
        b.engine->cancel(st->id);
        res.status = 499; // nobody reads it: the client is gone
        --open;
        return;
      }
    }
    const FinishEvent &f = st->channel.finish;
    if (f.reason == FinishReason::Error || f.reason == FinishReason::Cancelled) {
      sendError(res, endedError(f));
    } else {
      usage = {f.promptTokens, f.completionTokens, f.cachedPromptTokens};
      res.set_content(st->writer->response(st->channel.text,
                                           st->channel.tokens,
                                           st->channel.reason(), usage),
                      "application/json");
    }
    --open;
    return;
  }

  res.set_header("Cache-Control", "no-cache");
  auto first = std::make_shared<bool>(true);
  res.set_chunked_content_provider(
      "text/event-stream",
      [st, first, poll](size_t, httplib::DataSink &sink) {
        auto event = [&](const std::string &data) {
          std::string s = "data: " + data + "\n\n";
          return sink.write(s.data(), s.size());
        };
        Channel &ch = st->channel;
        const ApiRequest &api = st->api;
        if (*first) {
          *first = false;
          // Chat streams open with the assistant role, as OpenAI's do.
          if (api.endpoint == Endpoint::Chat &&
              !event(st->writer->chunk("", {}, ""))) {
            st->engine->cancel(st->id);
            return false;
          }
        }
        std::string text;
        std::vector<TokenEvent> tokens;
        bool done;
        {
          std::unique_lock<std::mutex> lock(ch.mu);
          while (ch.text.empty() && ch.tokens.empty() && !ch.done) {
            ch.cv.wait_for(lock, poll);
            if (ch.text.empty() && ch.tokens.empty() && !ch.done &&
                peerGone(st->fd)) {
              lock.unlock();
              st->engine->cancel(st->id);
              return false;
            }
          }
          text.swap(ch.text);
          tokens.swap(ch.tokens);
          done = ch.done;
        }
        if (!done) {
          if (!event(st->writer->chunk(text, tokens, ""))) {
            st->engine->cancel(st->id);
            return false;
          }
          return true;
        }
        const FinishEvent &f = ch.finish;
        if (f.reason == FinishReason::Error ||
            f.reason == FinishReason::Cancelled) {
          event(errorBody(endedError(f)));
        } else {
          event(st->writer->chunk(text, tokens, ch.reason()));
          if (api.includeUsage)
            event(st->writer->usageChunk(
                {f.promptTokens, f.completionTokens, f.cachedPromptTokens}));
        }
        event("[DONE]");
        sink.done();
        return true;
      },
      [this, st](bool) {
        bool done;
        {
          std::lock_guard<std::mutex> lock(st->channel.mu);
          done = st->channel.done;
        }
        if (!done)
          st->engine->cancel(st->id);
        --open;
      });
}

void HttpServer::Impl::stopListener() {
  stopRequested = true;
  while (runActive) {
    svr.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

HttpServer::HttpServer(HttpOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  Impl *p = impl_.get();
  int64_t threads = std::max<int64_t>(p->options.threads, 4);
  p->svr.new_task_queue = [threads] {
    return new httplib::ThreadPool(size_t(threads));
  };
  // SO_REUSEADDR (restart while old connections linger) but not
  // cpp-httplib's default SO_REUSEPORT, which lets a second server bind
  // the same port, even one picked for --port=0, and split the traffic.
  p->svr.set_socket_options([p](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    p->listenFd = sock;
  });
  p->svr.set_tcp_nodelay(true);
  p->svr.set_keep_alive_max_count(100000);
  p->svr.set_payload_max_length(size_t(64) << 20);
  p->routes();
}

HttpServer::~HttpServer() {
  impl_->stopListener();
}

Status HttpServer::bind() {
  Impl &p = *impl_;
  errno = 0;
  if (p.options.port == 0) {
    p.port = p.svr.bind_to_any_port(p.options.host);
    if (p.port <= 0)
      p.port = -1;
  } else {
    p.port = p.svr.bind_to_port(p.options.host, p.options.port)
                 ? p.options.port
                 : -1;
  }
  if (p.port < 0)
    return Status::error("cannot listen on " + p.options.host + ":" +
                         std::to_string(p.options.port) +
                         (errno ? std::string(": ") + std::strerror(errno)
                                : std::string()) +
                         "; is the port in use or the address not local?");
  // cpp-httplib listens with a backlog of 5; a burst of clients (a load
  // test at concurrency 128) would see dropped SYNs and 1 s retries.
  if (p.listenFd >= 0)
    ::listen(p.listenFd, 4096);
  return Status::ok();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::attach(Engine &engine, const TextCodec &codec,
                        const std::string &modelName) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->engine = &engine;
  impl_->codec = &codec;
  impl_->model = modelName;
}

Status HttpServer::run() {
  Impl &p = *impl_;
  p.runActive = true;
  if (p.stopRequested) {
    p.runActive = false;
    return Status::ok();
  }
  bool ok = p.svr.listen_after_bind();
  p.runActive = false;
  if (!ok && !p.stopRequested)
    return Status::error("the HTTP server stopped unexpectedly");
  return Status::ok();
}

void HttpServer::drainAndStop(double timeoutSeconds) {
  Impl &p = *impl_;
  p.draining = true;
  Engine *engine = p.backend().engine;
  if (engine) {
    engine->drain();
    if (!engine->waitIdle(timeoutSeconds))
      engine->stop();
  }
  // Let the workers write the last events ([DONE]) of finished requests.
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (p.open > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.stopListener();
}

void HttpServer::stop() {
  Impl &p = *impl_;
  p.draining = true;
  if (Engine *engine = p.backend().engine)
    engine->stop();
  p.stopListener();
}

int64_t HttpServer::openResponses() const { return impl_->open; }

//===----------------------------------------------------------------------===//
// Signals
//===----------------------------------------------------------------------===//

void blockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

struct SignalDrain::Impl {
  HttpServer &server;
  double timeout;
  std::atomic<bool> exit{false}, signalled{false};
  std::thread watcher, drainer;

  Impl(HttpServer &s, double t) : server(s), timeout(t) {}
  void watch() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    timespec tick{0, 50 * 1000 * 1000};
    while (!exit) {
      int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig != SIGTERM && sig != SIGINT)
        continue;
      if (!signalled.exchange(true)) {
        std::fprintf(stderr, "llmc serve: %s: draining (up to %.0f s), then "
                             "exiting; send it again to stop now\n",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT", timeout);
        drainer = std::thread([this] { server.drainAndStop(timeout); });
      } else {
        std::fprintf(stderr, "llmc serve: second signal: stopping now\n");
        server.stop();
      }
    }
  }
};

SignalDrain::SignalDrain(HttpServer &server, double drainTimeoutSeconds)
    : impl_(std::make_unique<Impl>(server, drainTimeoutSeconds)) {
  impl_->watcher = std::thread([p = impl_.get()] { p->watch(); });
}

SignalDrain::~SignalDrain() {
  impl_->exit = true;
  impl_->watcher.join();
  if (impl_->drainer.joinable())
    impl_->drainer.join();
}

bool SignalDrain::signalled() const { return impl_->signalled; }

} // namespace llmc::serve
