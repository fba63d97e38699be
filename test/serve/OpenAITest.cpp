//===- OpenAITest.cpp - OpenAI request checks and response shapes ---------===//

#include "runtime/serve/OpenAI.h"
#include "test/serve/ByteCodec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace llmc::serve;
using json = nlohmann::json;

namespace {

test::ByteCodec codec;

ApiContext context() {
  ApiContext c;
  c.codec = &codec;
  c.modelName = "m";
  c.maxModelLen = 64;
  c.vocabSize = 300;
  return c;
}

ApiRequest parseOk(const json &body, Endpoint e = Endpoint::Completions) {
  ApiRequest r;
  ApiError err;
  EXPECT_TRUE(parseApiRequest(body.dump(), e, context(), r, err))
      << err.message;
  return r;
}

ApiError parseBad(const std::string &body,
                  Endpoint e = Endpoint::Completions) {
  ApiRequest r;
  ApiError err;
  EXPECT_FALSE(parseApiRequest(body, e, context(), r, err)) << body;
  return err;
}

ApiError parseBad(const json &body, Endpoint e = Endpoint::Completions) {
  return parseBad(body.dump(), e);
}

json chat(json extra = json::object()) {
  json b = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  b.update(extra);
  return b;
}

} // namespace

TEST(OpenAIRequest, CompletionFields) {
  ApiRequest r = parseOk({{"model", "m"},
                          {"prompt", "ab"},
                          {"max_tokens", 5},
                          {"temperature", 0.5},
                          {"top_p", 0.9},
                          {"top_k", 7},
                          {"seed", 42},
                          {"stop", "xy"},
                          {"stream", true},
                          {"stream_options", {{"include_usage", true}}},
                          {"logprobs", 2},
                          {"ignore_eos", true}});
  EXPECT_EQ(r.spec.prompt, (std::vector<int32_t>{'a', 'b'}));
  EXPECT_EQ(r.spec.maxTokens, 5);
  EXPECT_FLOAT_EQ(r.spec.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.spec.sampling.topP, 0.9f);
  EXPECT_EQ(r.spec.sampling.topK, 7);
  EXPECT_TRUE(r.seeded);
  EXPECT_EQ(r.spec.sampling.seed, 42u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"xy"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.includeUsage);
  EXPECT_TRUE(r.wantLogprobs);
  EXPECT_EQ(r.spec.sampling.logprobs, 2);
  EXPECT_TRUE(r.spec.ignoreEos);

  // Defaults: 16 tokens, temperature 1, no logprobs, unseeded.
  r = parseOk({{"prompt", {1, 2, 3}}});
  EXPECT_EQ(r.spec.prompt, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(r.spec.maxTokens, 16);
  EXPECT_FLOAT_EQ(r.spec.sampling.temperature, 1.0f);
  EXPECT_EQ(r.spec.sampling.logprobs, -1);
  EXPECT_FALSE(r.seeded);
  EXPECT_EQ(parseOk({{"prompt", {"z"}}}).spec.prompt, std::vector<int32_t>{'z'});
  EXPECT_EQ(parseOk({{"prompt", {{4, 5}}}}).spec.prompt,
            (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(parseOk({{"prompt", {"q"}}, {"stop", {"a", "b"}}, {"top_k", -1}})
                .stop.size(),
            2u);
  // Near the end of the context the default shrinks to what is left.
  EXPECT_EQ(parseOk({{"prompt", std::vector<int>(60, 1)}}).spec.maxTokens, 4);
}

TEST(OpenAIRequest, ChatFields) {
  ApiRequest r = parseOk(
      chat({{"max_completion_tokens", 3}, {"logprobs", true},
            {"top_logprobs", 2}}),
      Endpoint::Chat);
  std::string rendered(r.spec.prompt.begin(), r.spec.prompt.end());
  EXPECT_EQ(rendered, "<|user|>\nhi\n<|assistant|>\n");
  EXPECT_EQ(r.spec.maxTokens, 3);
  EXPECT_TRUE(r.wantLogprobs);
  EXPECT_EQ(r.spec.sampling.logprobs, 2);
  // Text parts are joined; chat's default is the rest of the context.
  r = parseOk({{"messages",
                {{{"role", "user"},
                  {"content",
                   {{{"type", "text"}, {"text", "a"}},
                    {{"type", "text"}, {"text", "b"}}}}}}}},
              Endpoint::Chat);
  rendered.assign(r.spec.prompt.begin(), r.spec.prompt.end());
  EXPECT_NE(rendered.find("\nab\n"), std::string::npos);
  EXPECT_EQ(r.spec.maxTokens, 64 - int64_t(r.spec.prompt.size()));
}

TEST(OpenAIRequest, BadFieldsAreNamed) {
  struct Case {
    json body;
    std::string param, text;
  } cases[] = {
      {{{"prompt", "a"}, {"n", 2}}, "n", "one choice per request"},
      {{{"prompt", "a"}, {"temperature", 3}}, "temperature", "[0, 2]"},
      {{{"prompt", "a"}, {"temperature", "hot"}}, "temperature",
       "must be a number"},
      {{{"prompt", "a"}, {"top_p", 0}}, "top_p", "(0, 1]"},
      {{{"prompt", "a"}, {"top_k", -2}}, "top_k", "[-1, "},
      {{{"prompt", "a"}, {"max_tokens", 0}}, "max_tokens", "[1, "},
      {{{"prompt", "a"}, {"max_tokens", 1.5}}, "max_tokens",
       "must be an integer"},
      {{{"prompt", "a"}, {"stop", {""}}}, "stop", "non-empty strings"},
      {{{"prompt", "a"}, {"stop", 5}}, "stop", "string or an array"},
      {{{"prompt", "a"}, {"logprobs", 21}}, "logprobs", "[0, 20]"},
      {{{"prompt", "a"}, {"echo", true}}, "echo", "not supported"},
      {{{"prompt", "a"}, {"presence_penalty", 0.5}}, "presence_penalty",
       "not supported"},
      {{{"prompt", "a"}, {"logit_bias", {{"1", 5}}}}, "logit_bias",
       "not supported"},
      {{{"prompt", "a"}, {"seed", "x"}}, "seed", "must be an integer"},
      {{{"prompt", "a"}, {"stream", 1}}, "stream", "true or false"},
      {{{"prompt", "a"}, {"stream_options", 1}}, "stream_options", "object"},
      {{{"prompt", {1, 300}}}, "prompt", "'prompt[1]' is 300"},
      {{{"prompt", {"a", "b"}}}, "prompt", "holds 2 prompts"},
      {{{"prompt", 5}}, "prompt", "must be a string"},
      {{{"prompt", ""}}, "prompt", "is empty"},
      {{{"max_tokens", 5}}, "prompt", "'prompt' is required"},
      {{{"prompt", "a"}, {"stop_token_ids", {-1}}}, "stop_token_ids",
       "token ids must be integers"},
  };
  for (const Case &c : cases) {
    ApiError e = parseBad(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_NE(e.message.find(c.text), std::string::npos)
        << c.body << ": " << e.message;
    EXPECT_EQ(e.type, "invalid_request_error");
  }
  struct ChatCase {
    json body;
    std::string param, text;
  } chats[] = {
      {{{"messages", json::array()}}, "messages", "non-empty array"},
      {{{"messages", {{{"content", "x"}}}}}, "messages[0].role", "string"},
      {{{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}, "messages",
       "unknown role 'wizard'"},
      {{{"messages",
         {{{"role", "user"},
           {"content", {{{"type", "image_url"}, {"image_url", "u"}}}}}}}},
       "messages[0].content[0]", "text only"},
      {chat({{"top_logprobs", 2}}), "top_logprobs", "needs 'logprobs': true"},
      {chat({{"tools", {{{"type", "function"}}}}}), "tools", "not supported"},
      {chat({{"response_format", {{"type", "json_object"}}}}),
       "response_format", "not supported"},
  };
  for (const ChatCase &c : chats) {
    ApiError e = parseBad(c.body, Endpoint::Chat);
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_NE(e.message.find(c.text), std::string::npos)
        << c.body << ": " << e.message;
  }
}

TEST(OpenAIRequest, ContextModelAndBody) {
  ApiError e = parseBad(json{{"prompt", std::vector<int>(64, 1)}});
  EXPECT_EQ(e.param, "prompt");
  EXPECT_EQ(e.code, "context_length_exceeded");
  EXPECT_NE(e.message.find("maximum context length is 64 tokens"),
            std::string::npos);
  e = parseBad(json{{"prompt", std::vector<int>(60, 1)}, {"max_tokens", 5}});
  EXPECT_EQ(e.param, "max_tokens");
  EXPECT_NE(e.message.find("you requested 65 tokens (60 in the prompt, 5 in "
                           "the completion)"),
            std::string::npos)
      << e.message;
  e = parseBad(json{{"model", "gpt-4"}, {"prompt", "a"}});
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.code, "model_not_found");
  e = parseBad(std::string("{\"prompt\": "));
  EXPECT_NE(e.message.find("not valid JSON"), std::string::npos);
  e = parseBad(std::string("[1, 2]"));
  EXPECT_NE(e.message.find("must be a JSON object"), std::string::npos);

  json err = json::parse(errorBody(e));
  EXPECT_EQ(err["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(err["error"]["param"].is_null());
  EXPECT_TRUE(err["error"]["code"].is_null());
}

TEST(OpenAIResponse, CompletionShapes) {
  ApiRequest r = parseOk({{"prompt", "a"}, {"logprobs", 1}});
  ResponseWriter w(r, codec, "m", "cmpl-1", 123);
  std::vector<TokenEvent> toks = {{'h', -0.5f, {{'h', -0.5f}}, 0, {}},
                                  {'i', -1.0f, {{'j', -0.25f}}, 1, {}}};
  json c = json::parse(w.chunk("hi", toks, ""));
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["id"], "cmpl-1");
  EXPECT_EQ(c["created"], 123);
  EXPECT_EQ(c["model"], "m");
  EXPECT_EQ(c["choices"][0]["text"], "hi");
  EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
  json lp = c["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"], json({"h", "i"}));
  EXPECT_EQ(lp["token_logprobs"], json({-0.5, -1.0}));
  EXPECT_EQ(lp["top_logprobs"][1]["j"], -0.25);
  EXPECT_EQ(lp["text_offset"], json({0, 1}));

  json full = json::parse(w.response("hi", toks, "length", {3, 2, 1}));
  EXPECT_EQ(full["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(full["usage"]["prompt_tokens"], 3);
  EXPECT_EQ(full["usage"]["completion_tokens"], 2);
  EXPECT_EQ(full["usage"]["total_tokens"], 5);
  EXPECT_EQ(full["usage"]["prompt_tokens_details"]["cached_tokens"], 1);
  json u = json::parse(w.usageChunk({3, 2, 0}));
  EXPECT_TRUE(u["choices"].empty());
  EXPECT_EQ(u["usage"]["total_tokens"], 5);
}

TEST(OpenAIResponse, ChatShapes) {
  ApiRequest r =
      parseOk(chat({{"logprobs", true}, {"top_logprobs", 1}}), Endpoint::Chat);
  ResponseWriter w(r, codec, "m", "chatcmpl-1", 5);
  json first = json::parse(w.chunk("", {}, ""));
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"],
            json({{"role", "assistant"}, {"content", ""}}));
  std::vector<TokenEvent> toks = {{0xC3, -0.5f, {{0xC3, -0.5f}}, 0, {}}};
  json next = json::parse(w.chunk("x", toks, ""));
  EXPECT_EQ(next["choices"][0]["delta"], json({{"content", "x"}}));
  json entry = next["choices"][0]["logprobs"]["content"][0];
  EXPECT_EQ(entry["token"], "bytes:\\xc3");
  EXPECT_EQ(entry["bytes"], json({0xC3}));
  EXPECT_EQ(entry["top_logprobs"][0]["logprob"], -0.5);
  json last = json::parse(w.chunk("", {}, "stop"));
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  json full = json::parse(w.response("hey", {}, "stop", {4, 3, 0}));
  EXPECT_EQ(full["object"], "chat.completion");
  EXPECT_EQ(full["choices"][0]["message"],
            json({{"role", "assistant"}, {"content", "hey"}}));
  EXPECT_EQ(full["choices"][0]["logprobs"]["content"], json::array());
}

TEST(ByteCodec, HoldsBackStopStringsAndPartialUtf8) {
  auto out = codec.output({}, {"ab", "xyz"});
  auto push = [&](int t) { return out->push(t); };
  EXPECT_EQ(push('q').text, "q");
  EXPECT_EQ(push('a').text, ""); // could begin "ab"
  EXPECT_EQ(push('c').text, "ac");
  EXPECT_EQ(push(0xC3).text, ""); // half of "é"
  EXPECT_EQ(push(0xA9).text, "\xC3\xA9");
  EXPECT_EQ(push('x').text, "");
  EXPECT_EQ(push('y').text, "");
  OutputText::Piece p = push('z');
  EXPECT_TRUE(p.stopped);
  EXPECT_EQ(p.text, "");
  auto eos = codec.output({}, {"ab"});
  EXPECT_EQ(eos->push('a').text, "");
  EXPECT_EQ(eos->push(256).text, ""); // EOS: no text
  EXPECT_EQ(eos->finish(), "a");
  EXPECT_EQ(codec.decode({0xFF, 'k'}), "\xEF\xBF\xBDk");
}
