//===- ByteCodec.h - one token per byte: the tests' TextCodec ---*- C++ -*-===//
//
// Ids 0-255 are bytes, `eos` is the end-of-sequence token ("<|eos|>", no
// text), other ids above 255 are specials without text. Chats render as
// "<|role|>\ncontent\n" per message then "<|assistant|>\n". Output text is
// built the way a real detokenizer must: bytes become text only once they
// form complete UTF-8 (invalid bytes become U+FFFD), and text that could
// still begin a stop string is held back.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_SERVE_BYTECODEC_H
#define LLMC_TEST_SERVE_BYTECODEC_H

#include "runtime/serve/Text.h"

namespace llmc::serve::test {

class ByteCodec : public TextCodec {
public:
  explicit ByteCodec(int32_t eos = 256) : eos_(eos) {}

  rt::Expected<std::vector<int32_t>>
  encode(const std::string &text) const override;
  rt::Expected<std::vector<int32_t>>
  encodeChat(const std::vector<ChatMessage> &messages) const override;
  std::unique_ptr<OutputText>
  output(const std::vector<int32_t> &prompt,
         const std::vector<std::string> &stop) const override;
  std::string tokenText(int32_t token) const override;
  std::string tokenBytes(int32_t token) const override;

  /// The text of `tokens` as output() builds it, without stop strings.
  std::string decode(const std::vector<int32_t> &tokens) const;

private:
  int32_t eos_;
};

} // namespace llmc::serve::test

#endif // LLMC_TEST_SERVE_BYTECODEC_H
