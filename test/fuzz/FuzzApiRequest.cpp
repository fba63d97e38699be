//===- FuzzApiRequest.cpp - libFuzzer target: OpenAI request bodies -------===//
//
// The first byte picks the endpoint ('c': /v1/completions, else
// /v1/chat/completions), the rest is the body. parseApiRequest either
// refuses with a 4xx and a message, or accepts a request the engine can
// run: a non-empty prompt of in-vocabulary ids that, with max_tokens,
// fits the context, and sampling parameters in their ranges.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "runtime/serve/OpenAI.h"
#include "test/serve/ByteCodec.h"

using namespace llmc::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  static test::ByteCodec codec;
  ApiContext ctx;
  ctx.codec = &codec;
  ctx.modelName = "m";
  ctx.maxModelLen = 64;
  ctx.vocabSize = 300;
  Endpoint endpoint = data[0] == 'c' ? Endpoint::Completions : Endpoint::Chat;
  std::string body(reinterpret_cast<const char *>(data + 1), size - 1);
  ApiRequest req;
  ApiError err;
  if (!parseApiRequest(body, endpoint, ctx, req, err)) {
    FUZZ_CHECK(err.status >= 400 && err.status < 500, "status");
    FUZZ_CHECK(!err.message.empty(), "a refusal without a message");
    return 0;
  }
  const SequenceSpec &spec = req.spec;
  FUZZ_CHECK(!spec.prompt.empty(), "empty prompt");
  for (int32_t t : spec.prompt)
    FUZZ_CHECK(t >= 0 && t < ctx.vocabSize, "prompt id");
  FUZZ_CHECK(spec.maxTokens >= 1, "max_tokens");
  FUZZ_CHECK(int64_t(spec.prompt.size()) + spec.maxTokens <= ctx.maxModelLen,
             "prompt + max_tokens past the context");
  FUZZ_CHECK(spec.sampling.temperature >= 0 && spec.sampling.temperature <= 2,
             "temperature");
  FUZZ_CHECK(spec.sampling.topP > 0 && spec.sampling.topP <= 1, "top_p");
  FUZZ_CHECK(spec.sampling.topK >= 0, "top_k");
  FUZZ_CHECK(spec.sampling.logprobs <= 20, "logprobs");
  return 0;
}
