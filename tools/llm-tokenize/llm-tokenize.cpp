//===- llm-tokenize.cpp - a checkpoint's tokenizer and chat template -----===//
//
// llm-tokenize DIR [--add-special-tokens] [--no-parse-special] [--jsonl]
// llm-tokenize DIR --decode [--skip-special-tokens] [--jsonl]
// llm-tokenize DIR --chat FILE [--add-generation-prompt] [--ids]
// llm-tokenize DIR --bench
//
// DIR holds tokenizer.json (and tokenizer_config.json). Without --decode or
// --chat, every stdin line is encoded and its ids printed space-separated,
// one output line per input line (--jsonl: each input line is a JSON string,
// so it may hold newlines). --decode reads lines of ids and prints their
// text (--jsonl: as JSON strings). --chat renders the chat template for the
// conversation in FILE (a JSON array of messages, or an object with
// "messages" and further template variables; "-" reads stdin); --ids prints
// the ids of the rendered prompt instead. --bench encodes stdin without
// printing ids and reports the throughput on stderr.
//
//===----------------------------------------------------------------------===//

#include "llmc/Driver/CommandLine.h"
#include "runtime/text/ChatTemplate.h"
#include "runtime/text/FileUtil.h"
#include "runtime/text/Tokenizer.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

using namespace llvm;
using namespace llmc;

static cl::OptionCategory tokenizeCategory("llm-tokenize options");
static cl::opt<std::string> dir(cl::Positional, cl::Required,
                                cl::desc("<checkpoint or tokenizer folder>"),
                                cl::cat(tokenizeCategory));
static cl::opt<bool>
    addSpecial("add-special-tokens",
               cl::desc("Add the post-processor's special tokens (BOS/EOS)"),
               cl::cat(tokenizeCategory));
static cl::opt<bool> noParseSpecial(
    "no-parse-special",
    cl::desc("Encode special-token text as plain text instead of as the "
             "special token"),
    cl::cat(tokenizeCategory));
static cl::opt<bool> decode("decode",
                            cl::desc("Read lines of token ids, print text"),
                            cl::cat(tokenizeCategory));
static cl::opt<bool>
    skipSpecial("skip-special-tokens",
                cl::desc("With --decode: leave special tokens out of the text"),
                cl::cat(tokenizeCategory));
static cl::opt<bool>
    jsonl("jsonl",
          cl::desc("Text lines (input, or --decode output) are JSON strings"),
          cl::cat(tokenizeCategory));
static cl::opt<std::string>
    chat("chat",
         cl::desc("Render the chat template for the conversation in FILE"),
         cl::value_desc("file"), cl::cat(tokenizeCategory));
static cl::opt<bool> addGenerationPrompt(
    "add-generation-prompt",
    cl::desc("With --chat: end with the assistant turn's opening"),
    cl::cat(tokenizeCategory));
static cl::opt<bool>
    printIds("ids",
             cl::desc("With --chat: print the rendered prompt's token ids"),
             cl::cat(tokenizeCategory));
static cl::opt<std::string>
    templateName("template",
                 cl::desc("With --chat: the named template of a "
                          "tokenizer_config.json that has several"),
                 cl::init(""), cl::cat(tokenizeCategory));
static cl::opt<bool>
    bench("bench", cl::desc("Encode stdin, print nothing but the throughput"),
          cl::cat(tokenizeCategory));

static int fail(const Twine &message) {
  WithColor::error(errs(), "llm-tokenize") << message << "\n";
  return 1;
}

static std::string idsLine(const std::vector<int32_t> &ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i)
      s.push_back(' ');
    s += std::to_string(ids[i]);
  }
  return s;
}

/// Parses one line of space- or comma-separated ids.
static bool parseIds(const std::string &line, std::vector<int32_t> &ids,
                     std::string &bad) {
  ids.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == ',' ||
                               line[i] == '\t' || line[i] == '\r'))
      ++i;
    if (i >= line.size())
      break;
    size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != ',' &&
           line[i] != '\t' && line[i] != '\r')
      ++i;
    std::string tok = line.substr(b, i - b);
    bool digits = !tok.empty() && tok.size() <= 10 &&
                  tok.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoll(tok) > INT32_MAX) {
      bad = tok;
      return false;
    }
    ids.push_back(int32_t(std::stoll(tok)));
  }
  return true;
}

static int runChat() {
  auto tmpl = text::ChatTemplate::fromDirectory(dir, templateName);
  if (!tmpl)
    return fail(tmpl.status().message());
  std::string conversation;
  if (chat == "-") {
    conversation.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    auto read = text::readFile(chat);
    if (!read)
      return fail(read.status().message());
    conversation = std::move(*read);
  }
  auto rendered = tmpl->renderConversation(conversation, addGenerationPrompt);
  if (!rendered)
    return fail(chat + ": " + rendered.status().message());
  if (printIds) {
    // The tokenizer is loaded only when ids are asked for: rendering needs
    // tokenizer_config.json alone.
    auto loaded = text::Tokenizer::fromDirectory(dir);
    if (!loaded)
      return fail(loaded.status().message());
    outs() << idsLine(text::encodeChatPrompt(**loaded, *rendered, addSpecial))
           << "\n";
  } else {
    outs() << *rendered;
  }
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  llmc::parseToolCommandLine(
      argc, argv,
      "llm-tokenize: a checkpoint's tokenizer and chat template\n\n"
      "  stdin lines -> ids (default), ids -> text (--decode), or a chat\n"
      "  template rendered for a conversation (--chat FILE)\n",
      {&tokenizeCategory});
  if (int(decode) + int(!chat.empty()) + int(bench) > 1)
    return fail("--decode, --chat and --bench exclude one another");

  if (!chat.empty())
    return runChat();
  auto loaded = text::Tokenizer::fromDirectory(dir);
  if (!loaded)
    return fail(loaded.status().message());
  const text::Tokenizer &tok = **loaded;

  text::EncodeOptions eo;
  eo.addSpecialTokens = addSpecial;
  eo.parseSpecialTokens = !noParseSpecial;
  text::DecodeOptions dopts;
  dopts.skipSpecialTokens = skipSpecial;

  std::ios::sync_with_stdio(false);
  std::string line;
  size_t lineNo = 0, bytes = 0, tokens = 0;
  auto start = std::chrono::steady_clock::now();
  while (std::getline(std::cin, line)) {
    ++lineNo;
    if (decode) {
      std::vector<int32_t> ids;
      std::string bad;
      if (!parseIds(line, ids, bad))
        return fail("stdin line " + Twine(lineNo) + ": '" + bad +
                    "' is not a token id (expected non-negative integers)");
      auto text = tok.decode(ids, dopts);
      if (!text)
        return fail("stdin line " + Twine(lineNo) + ": " +
                    text.status().message());
      outs() << (jsonl ? text::encodeJsonString(*text) : *text) << "\n";
      continue;
    }
    std::string input = line;
    if (jsonl) {
      auto s = text::decodeJsonString(line);
      if (!s)
        return fail("stdin line " + Twine(lineNo) + ": " + s.status().message());
      input = std::move(*s);
    }
    std::vector<int32_t> ids = tok.encode(input, eo);
    bytes += input.size();
    tokens += ids.size();
    if (!bench)
      outs() << idsLine(ids) << "\n";
  }
  if (bench) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             start)
                   .count();
    errs() << formatv("{{\"implementation\": \"llmc\", \"seconds\": {0:f4}, "
                      "\"mb_per_s\": {1:f2}, \"tokens\": {2}, \"bytes\": {3}}",
                      s, bytes / 1e6 / s, tokens, bytes)
           << "\n";
  }
  return 0;
}
