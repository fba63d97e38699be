//===- HttpTest.cpp - the OpenAI API end to end against llmc-serve-stub ---===//
//
// Each test starts llmc-serve-stub (the real server, engine and scheduler
// in front of the fake model) on a free port of 127.0.0.1 and talks HTTP to
// it: cpp-httplib's client for whole responses, raw sockets where a test
// must read part of a stream and hang up.
//
//===----------------------------------------------------------------------===//

#include "test/serve/ByteCodec.h"
#include "test/serve/FakeModel.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

extern char **environ;

using namespace llmc::serve;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

/// llmc-serve-stub as a child process, killed at the end of the test.
class Stub {
public:
  explicit Stub(std::vector<std::string> flags) {
    // Few HTTP threads: starting hundreds is slow under the sanitizers.
    std::vector<std::string> args = {LLMC_SERVE_STUB_PATH, "--port=0",
                                     "--http-threads=24"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char *> argv;
    for (std::string &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0)
      return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    fd_ = out[0];
    // The port, from "llmc serve: listening on http://127.0.0.1:PORT".
    const std::string marker = "listening on http://127.0.0.1:";
    if (waitOutput(marker, 10)) {
      size_t at = output_.find(marker) + marker.size();
      port_ = std::atoi(output_.c_str() + at);
    }
  }
  ~Stub() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0)
      close(fd_);
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  /// Reads the child's stdout until it contains `text`.
  bool waitOutput(const std::string &text, double seconds) {
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (output_.find(text) == std::string::npos) {
      int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                         end - Clock::now())
                         .count());
      if (left <= 0)
        return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, left) <= 0)
        return false;
      char buf[4096];
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0)
        return false;
      output_.append(buf, size_t(n));
    }
    return true;
  }
  /// Waits for the child to exit; its status, or -1 on timeout.
  int waitExit(double seconds) {
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(20, 0);
    return c;
  }

private:
  pid_t pid_ = -1;
  int fd_ = -1, port_ = -1;
  bool exited_ = false;
  std::string output_;
};

/// A raw HTTP connection: send a request, read what arrives, hang up.
class Raw {
public:
  explicit Raw(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0;
  }
  ~Raw() { hangUp(); }
  bool connected() const { return connected_; }
  void post(const std::string &path, const json &body) {
    std::string b = body.dump();
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: " +
                      std::to_string(b.size()) + "\r\n\r\n" + b;
    ASSERT_EQ(send(fd_, req.data(), req.size(), MSG_NOSIGNAL),
              ssize_t(req.size()));
  }
  /// Reads until `text` arrived (true) or the peer closed / time ran out.
  bool readUntil(const std::string &text, double seconds) {
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (got_.find(text) == std::string::npos) {
      int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                         end - Clock::now())
                         .count());
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, left) <= 0)
        return false;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        return got_.find(text) != std::string::npos;
      got_.append(buf, size_t(n));
    }
    return true;
  }
  const std::string &received() const { return got_; }
  void hangUp() {
    if (fd_ >= 0)
      close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
  bool connected_ = false;
  std::string got_;
};

/// The value of the first sample of `name` in a /metrics page (-1: none).
double metric(const std::string &page, const std::string &name) {
  size_t at = 0;
  while ((at = page.find(name, at)) != std::string::npos) {
    size_t after = at + name.size();
    if ((at == 0 || page[at - 1] == '\n') && after < page.size() &&
        (page[after] == '{' || page[after] == ' ')) {
      std::string line = page.substr(at, page.find('\n', at) - at);
      return std::atof(line.c_str() + line.rfind(' ') + 1);
    }
    at = after;
  }
  return -1;
}

/// Polls /metrics until `pred` holds for it.
bool waitMetrics(const Stub &s, const std::function<bool(const std::string &)> &pred,
                 double seconds = 10) {
  auto c = s.client();
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    auto r = c->Get("/metrics");
    if (r && r->status == 200 && pred(r->body))
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

json postJson(const Stub &s, const std::string &path, const json &body,
              int *status = nullptr, const httplib::Headers &h = {}) {
  auto r = s.client()->Post(path.c_str(), h, body.dump(), "application/json");
  EXPECT_TRUE(r) << "no response from " << path;
  if (!r)
    return json();
  if (status)
    *status = r->status;
  json j = json::parse(r->body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r->body;
  return j;
}

/// The SSE events of a whole streamed body ("data: X" -> X).
std::vector<std::string> events(const std::string &body) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    size_t end = body.find("\n\n", at);
    out.push_back(body.substr(at + 6, end - at - 6));
    at = end;
  }
  return out;
}

/// What the stub generates for `prompt` greedily, by the fake model's
/// oracle and the byte codec (the stub's defaults).
std::string expectedText(const std::string &prompt, int64_t maxTokens) {
  test::FakeModelConfig mc;
  mc.vocabSize = 300;
  mc.blockSize = 16;
  mc.numBlocks = 4096;
  mc.maxModelLen = 2048;
  mc.eosTokenIds = {256};
  test::FakeModel model(mc);
  SequenceSpec s;
  s.prompt.assign(prompt.begin(), prompt.end());
  for (int32_t &t : s.prompt)
    t &= 0xff;
  s.maxTokens = maxTokens;
  s.ignoreEos = true;
  s.sampling = {0, 1, 0, 0, -1};
  std::vector<int32_t> ids;
  for (const SampledToken &t : model.reference(s))
    ids.push_back(t.token);
  return test::ByteCodec(256).decode(ids);
}

} // namespace

TEST(Http, HealthIsUnavailableUntilTheModelIsReady) {
  std::string ready = ::testing::TempDir() + "llmc-serve-ready-" +
                      std::to_string(getpid());
  unlink(ready.c_str());
  Stub s({"--fake-ready-file=" + ready});
  ASSERT_GT(s.port(), 0);
  auto c = s.client();
  auto h = c->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503);
  int status = 0;
  json j = postJson(s, "/v1/completions", {{"prompt", "a"}}, &status);
  EXPECT_EQ(status, 503);
  EXPECT_NE(j["error"]["message"].get<std::string>().find("loading"),
            std::string::npos);
  close(open(ready.c_str(), O_CREAT | O_WRONLY, 0600)); // the model is ready
  ASSERT_TRUE(s.waitOutput("llmc serve: ready", 10));
  unlink(ready.c_str());
  h = c->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto m = c->Get("/v1/models");
  ASSERT_TRUE(m);
  json models = json::parse(m->body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "fake-model");
  EXPECT_EQ(models["data"][0]["max_model_len"], 2048);
}

TEST(Http, CompletionsWholeAndStreamedAgreeWithTheOracle) {
  Stub s({});
  ASSERT_TRUE(s.waitOutput("ready", 10));
  json req = {{"model", "fake-model"}, {"prompt", "Hello"},
              {"max_tokens", 12},      {"temperature", 0},
              {"ignore_eos", true}};
  int status = 0;
  json whole = postJson(s, "/v1/completions", req, &status);
  ASSERT_EQ(status, 200) << whole;
  EXPECT_EQ(whole["object"], "text_completion");
  EXPECT_EQ(whole["model"], "fake-model");
  EXPECT_EQ(whole["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(whole["usage"]["prompt_tokens"], 5);
  EXPECT_EQ(whole["usage"]["completion_tokens"], 12);
  EXPECT_EQ(whole["usage"]["total_tokens"], 17);
  std::string text = whole["choices"][0]["text"];
  EXPECT_EQ(text, expectedText("Hello", 12));

  req["stream"] = true;
  req["stream_options"] = {{"include_usage", true}};
  auto r = s.client()->Post("/v1/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  std::vector<std::string> ev = events(r->body);
  ASSERT_GE(ev.size(), 3u) << r->body;
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string streamed;
  for (size_t i = 0; i + 2 < ev.size(); ++i) {
    json c = json::parse(ev[i]);
    EXPECT_EQ(c["object"], "text_completion");
    streamed += c["choices"][0]["text"].get<std::string>();
    EXPECT_EQ(c["choices"][0]["finish_reason"].is_null(), i + 3 < ev.size());
  }
  EXPECT_EQ(streamed, text);
  json usage = json::parse(ev[ev.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 12);

  // Logprobs: one entry per generated token.
  req = {{"prompt", {72, 105}}, {"max_tokens", 4}, {"temperature", 0},
         {"ignore_eos", true}, {"logprobs", 2}};
  json lp = postJson(s, "/v1/completions", req);
  json l = lp["choices"][0]["logprobs"];
  EXPECT_EQ(l["tokens"].size(), 4u);
  EXPECT_EQ(l["token_logprobs"].size(), 4u);
  EXPECT_EQ(l["top_logprobs"][0].size(), 2u);
  EXPECT_LT(l["token_logprobs"][0].get<double>(), 0.0);
}

TEST(Http, ChatStreamsAndStopStringsEndTheText) {
  Stub s({});
  ASSERT_TRUE(s.waitOutput("ready", 10));
  json req = {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
              {"max_tokens", 30}, {"temperature", 0}, {"ignore_eos", true},
              {"stream", true}};
  auto r = s.client()->Post("/v1/chat/completions", req.dump(),
                            "application/json");
  ASSERT_TRUE(r);
  std::vector<std::string> ev = events(r->body);
  ASSERT_GE(ev.size(), 3u);
  json first = json::parse(ev[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < ev.size(); ++i) {
    json c = json::parse(ev[i]);
    if (c["choices"][0]["delta"].contains("content"))
      text += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  json last = json::parse(ev[ev.size() - 2]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(text, expectedText("<|user|>\nhi\n<|assistant|>\n", 30));

  // A stop string from the middle of that text: the answer ends before it.
  size_t begin = 4;
  while (begin < text.size() && (text[begin] & 0xC0) == 0x80)
    ++begin;
  size_t end = begin + 1;
  while (end < text.size() && (text[end] & 0xC0) == 0x80)
    ++end;
  ASSERT_LT(end, text.size());
  std::string stop = text.substr(begin, end - begin + 1);
  while (end + 1 < text.size() && (text[end + 1] & 0xC0) == 0x80)
    stop += text[++end];
  req["stream"] = false;
  req["stop"] = {stop};
  int status = 0;
  json whole = postJson(s, "/v1/chat/completions", req, &status);
  ASSERT_EQ(status, 200) << whole;
  EXPECT_EQ(whole["object"], "chat.completion");
  EXPECT_EQ(whole["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(whole["choices"][0]["message"]["content"],
            text.substr(0, text.find(stop)));
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "stop");
  EXPECT_LT(whole["usage"]["completion_tokens"].get<int>(), 30);
}

TEST(Http, ErrorsAreOpenAIShaped) {
  Stub s({"--fake-max-model-len=64", "--fake-blocks=64"});
  ASSERT_TRUE(s.waitOutput("ready", 10));
  int status = 0;
  json e = postJson(s, "/v1/completions", {{"prompt", "a"}, {"n", 3}},
                    &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(e["error"]["param"], "n");
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  e = postJson(s, "/v1/completions",
               {{"prompt", std::string(70, 'x')}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(e["error"]["code"], "context_length_exceeded");
  e = postJson(s, "/v1/chat/completions", {{"model", "other"}, {"messages", 1}},
               &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(e["error"]["code"], "model_not_found");
  auto r = s.client()->Post("/v1/completions", "{oops", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("not valid JSON"), std::string::npos);
  r = s.client()->Get("/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "not_found");
}

TEST(Http, ApiKeyGuardsEveryV1Route) {
  Stub s({"--api-key=sesame"});
  ASSERT_TRUE(s.waitOutput("ready", 10));
  auto c = s.client();
  auto r = c->Get("/v1/models");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "invalid_api_key");
  r = c->Get("/v1/models", {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  int status = 0;
  postJson(s, "/v1/completions", {{"prompt", "a"}}, &status);
  EXPECT_EQ(status, 401);
  r = c->Get("/v1/models", {{"Authorization", "Bearer sesame"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  postJson(s, "/v1/completions", {{"prompt", "a"}, {"max_tokens", 2}}, &status,
           {{"Authorization", "Bearer sesame"}});
  EXPECT_EQ(status, 200);
  r = c->Get("/health"); // not under /v1
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Http, DisconnectsCancelAndFreeBlocks) {
  Stub s({"--fake-step-ms=5"});
  ASSERT_TRUE(s.waitOutput("ready", 10));
  json req = {{"prompt", std::string(40, 'a')}, {"max_tokens", 1000},
              {"ignore_eos", true}, {"stream", true}};
  {
    Raw streaming(s.port());
    ASSERT_TRUE(streaming.connected());
    streaming.post("/v1/completions", req);
    ASSERT_TRUE(streaming.readUntil("data: {", 10));
    Raw whole(s.port());
    req["stream"] = false;
    whole.post("/v1/completions", req);
    ASSERT_TRUE(waitMetrics(s, [](const std::string &m) {
      return metric(m, "llmc:num_requests_running") == 2;
    }));
    EXPECT_GT(metric(s.client()->Get("/metrics")->body, "llmc:kv_blocks_used"),
              0);
  }
  // Both hung up: both cancelled, every block free, long before 1000
  // tokens (5 s) would have been generated.
  auto start = Clock::now();
  ASSERT_TRUE(waitMetrics(s, [](const std::string &m) {
    return metric(m, "llmc:num_requests_running") == 0 &&
           metric(m, "llmc:kv_blocks_used") == 0 &&
           m.find("finished_reason=\"cancelled\"} 2") != std::string::npos;
  }, 5)) << s.client()->Get("/metrics")->body;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 2.0);
}

TEST(Http, AFullQueueAnswers429) {
  Stub s({"--fake-step-ms=5", "--max-num-seqs=1", "--max-queued-requests=1"});
  ASSERT_TRUE(s.waitOutput("ready", 10));
  json req = {{"prompt", "abc"}, {"max_tokens", 1000}, {"ignore_eos", true}};
  Raw a(s.port());
  a.post("/v1/completions", req);
  ASSERT_TRUE(waitMetrics(s, [](const std::string &m) {
    return metric(m, "llmc:num_requests_running") == 1;
  }));
  Raw b(s.port());
  b.post("/v1/completions", req);
  ASSERT_TRUE(waitMetrics(s, [](const std::string &m) {
    return metric(m, "llmc:num_requests_waiting") == 1;
  }));
  auto r = s.client()->Post("/v1/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  json e = json::parse(r->body);
  EXPECT_EQ(e["error"]["code"], "rate_limit_exceeded");
  a.hangUp();
  b.hangUp();
  EXPECT_TRUE(waitMetrics(s, [](const std::string &m) {
    return metric(m, "llmc:kv_blocks_used") == 0 &&
           metric(m, "llmc:num_requests_waiting") == 0;
  }));
  std::string page = s.client()->Get("/metrics")->body;
  EXPECT_EQ(metric(page, "llmc:request_rejected_total"), 1);
  EXPECT_EQ(metric(page, "llmc:server_ready"), 1);
  EXPECT_GT(metric(page, "llmc:prompt_tokens_total"), 0);
  EXPECT_NE(page.find("# TYPE llmc:time_to_first_token_seconds histogram"),
            std::string::npos);
}

TEST(Http, SigtermDrainsRunningRequestsThenExits) {
  Stub s({"--fake-step-ms=10"});
  ASSERT_TRUE(s.waitOutput("ready", 10));
  Raw stream(s.port());
  stream.post("/v1/completions", {{"prompt", "drain me"},
                                  {"max_tokens", 150},
                                  {"ignore_eos", true},
                                  {"stream", true}});
  ASSERT_TRUE(stream.readUntil("data: {", 10));
  ASSERT_EQ(kill(s.pid(), SIGTERM), 0);
  // Draining: /health turns 503 and new requests are refused while the
  // running one finishes.
  auto c = s.client();
  auto end = Clock::now() + std::chrono::seconds(5);
  int health = 200;
  while (health == 200 && Clock::now() < end) {
    auto h = c->Get("/health");
    ASSERT_TRUE(h);
    health = h->status;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(health, 503);
  auto r = c->Post("/v1/completions", json{{"prompt", "x"}}.dump(),
                   "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  ASSERT_TRUE(stream.readUntil("data: [DONE]", 10)) << stream.received();
  EXPECT_NE(stream.received().find("\"finish_reason\":\"length\""),
            std::string::npos);
  stream.hangUp();
  EXPECT_EQ(s.waitExit(10), 0);
  EXPECT_TRUE(s.waitOutput("llmc serve: stopped", 1));
}
