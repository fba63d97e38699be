//===- ByteCodec.cpp - one token per byte: the tests' TextCodec -----------===//

#include "test/serve/ByteCodec.h"

#include <algorithm>
#include <cstdio>

namespace llmc::serve::test {

namespace {

/// Length of the UTF-8 sequence a lead byte starts (0: not a lead byte).
int utf8Length(unsigned char c) {
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return 2;
  if (c >= 0xE0 && c <= 0xEF)
    return 3;
  if (c >= 0xF0 && c <= 0xF4)
    return 4;
  return 0;
}

const char kReplacement[] = "\xEF\xBF\xBD";

class ByteOutput : public OutputText {
public:
  explicit ByteOutput(std::vector<std::string> stop) : stop_(std::move(stop)) {}

  Piece push(int32_t token) override {
    Piece p;
    if (done_)
      return p;
    if (token >= 0 && token < 256)
      addByte((unsigned char)token);
    return release(false);
  }
  std::string finish() override {
    if (done_)
      return "";
    if (!bytes_.empty())
      held_ += kReplacement; // an unfinished UTF-8 sequence
    bytes_.clear();
    return release(true).text;
  }

private:
  void addByte(unsigned char c) {
    if (bytes_.empty()) {
      int n = utf8Length(c);
      if (n == 0) {
        held_ += kReplacement;
        return;
      }
      bytes_.push_back(char(c));
      need_ = n;
    } else if ((c & 0xC0) != 0x80) {
      // The sequence broke off: replace it, start again with this byte.
      held_ += kReplacement;
      bytes_.clear();
      addByte(c);
      return;
    } else {
      bytes_.push_back(char(c));
    }
    if (int(bytes_.size()) == need_) {
      held_ += bytes_;
      bytes_.clear();
    }
  }
  /// Emits what no stop string can still claim (all of it at the end).
  Piece release(bool final) {
    Piece p;
    size_t cut = std::string::npos;
    for (const std::string &s : stop_)
      cut = std::min(cut, held_.find(s));
    if (cut != std::string::npos) {
      p.text = held_.substr(0, cut);
      p.stopped = true;
      done_ = true;
      held_.clear();
      return p;
    }
    size_t keep = 0;
    if (!final)
      for (const std::string &s : stop_)
        for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n)
          if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
            keep = n;
            break;
          }
    p.text = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return p;
  }

  std::vector<std::string> stop_;
  std::string bytes_; ///< an incomplete UTF-8 sequence
  int need_ = 0;
  std::string held_;  ///< complete text not released yet
  bool done_ = false;
};

} // namespace

rt::Expected<std::vector<int32_t>>
ByteCodec::encode(const std::string &text) const {
  std::vector<int32_t> ids;
  for (unsigned char c : text)
    ids.push_back(int32_t(c));
  return ids;
}

rt::Expected<std::vector<int32_t>>
ByteCodec::encodeChat(const std::vector<ChatMessage> &messages) const {
  std::string text;
  for (const ChatMessage &m : messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant" &&
        m.role != "tool")
      return rt::Expected<std::vector<int32_t>>::fromError(rt::Status::error(
          "unknown role '" + m.role +
          "' (system, user, assistant or tool)"));
    text += "<|" + m.role + "|>\n" + m.content + "\n";
  }
  text += "<|assistant|>\n";
  return encode(text);
}

std::unique_ptr<OutputText>
ByteCodec::output(const std::vector<int32_t> &,
                  const std::vector<std::string> &stop) const {
  return std::make_unique<ByteOutput>(stop);
}

std::string ByteCodec::tokenText(int32_t token) const {
  if (token == eos_)
    return "<|eos|>";
  if (token < 0 || token > 255)
    return "<|special_" + std::to_string(token) + "|>";
  if (token < 0x80)
    return std::string(1, char(token));
  char buf[16];
  std::snprintf(buf, sizeof(buf), "bytes:\\x%02x", unsigned(token));
  return buf;
}

std::string ByteCodec::tokenBytes(int32_t token) const {
  if (token >= 0 && token < 256)
    return std::string(1, char(token));
  return tokenText(token);
}

std::string ByteCodec::decode(const std::vector<int32_t> &tokens) const {
  ByteOutput out({});
  std::string text;
  for (int32_t t : tokens)
    text += out.push(t).text;
  return text + out.finish();
}

} // namespace llmc::serve::test
