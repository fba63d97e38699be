//===- JinjaParse.cpp - lexer and parser of the Jinja interpreter ---------===//
//
// Source -> segments (text, {{ }}, {% %}) -> tokens -> AST, following
// jinja2's lexer and parser:
// * the source's line breaks become "\n" and one trailing newline is
//   dropped (keep_trailing_newline=False);
// * `{%-`/`{{-`/`{#-` strip all whitespace before the tag, `-%}` etc. all
//   whitespace after; lstrip_blocks strips spaces and tabs between a line
//   start and a block or comment tag (not with `{%+`); trim_blocks drops
//   the newline right after a block or comment tag;
// * expression precedence, low to high: `x if c else y`, or, and, not,
//   comparisons (in, not in, ==, ...), + -, ~, * / // %, **, unary - +,
//   then primaries with postfix `.attr`, `[index]`, `[a:b:c]`, `(args)`
//   and filters `| f` / tests `is [not] t`.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/JinjaAst.h"
#include "runtime/text/Unicode.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

namespace llmc::text::jinja {

namespace {

//===----------------------------------------------------------------------===//
// Source positions and line breaks
//===----------------------------------------------------------------------===//

/// Python's str.splitlines() boundaries, joined back with "\n"; the final
/// boundary is dropped (jinja2 keeps no trailing newline).
std::string normalizeNewlines(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size();) {
    uint8_t c = uint8_t(src[i]);
    size_t n = 1;
    bool brk = false;
    if (c == '\r') {
      brk = true;
      if (i + 1 < src.size() && src[i + 1] == '\n')
        n = 2;
    } else if (c == '\n' || c == '\v' || c == '\f' || c == 0x1c || c == 0x1d ||
               c == 0x1e) {
      brk = true;
    } else if (c >= 0x80) {
      uint32_t cp = 0;
      size_t len = utf8SequenceLength(src, i, &cp);
      if (len == 0) {
        out.push_back(char(c));
        ++i;
        continue;
      }
      n = len;
      brk = cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    }
    if (brk)
      out.push_back('\n');
    else
      out.append(src.substr(i, n));
    i += n;
  }
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

/// `s` without trailing (Python) whitespace.
std::string_view rstripPy(std::string_view s) {
  return s.substr(0, trailingRunStart(s, isPythonSpace));
}

/// Length of the leading (Python) whitespace of s[pos:].
size_t leadingPySpace(std::string_view s, size_t pos) {
  return leadingRun(s.substr(pos), isPythonSpace);
}

//===----------------------------------------------------------------------===//
// Tokens
//===----------------------------------------------------------------------===//

enum class Tok { Name, String, Int, Float, Op, End };

struct Token {
  Tok type;
  std::string text; ///< name, operator, or decoded string
  Pos pos;
  int64_t i = 0;
  double f = 0;
};

enum class SegKind { Text, Var, Block };

struct Segment {
  SegKind kind;
  Pos pos;
  std::string text;          ///< Text
  std::vector<Token> tokens; ///< Var, Block (ends with Tok::End)
};

class Lexer {
public:
  Lexer(std::string src) : src_(std::move(src)) {}

  std::vector<Segment> run() {
    std::vector<Segment> out;
    size_t pos = 0;
    bool lineStarting = true;
    while (pos <= src_.size()) {
      size_t open = findOpen(pos);
      std::string_view text(src_.data() + pos,
                            (open == std::string::npos ? src_.size() : open) -
                                pos);
      if (open == std::string::npos) {
        pushText(out, pos, text);
        break;
      }
      char kind = src_[open + 1]; // '{', '%' or '#'
      char mod = open + 2 < src_.size() ? src_[open + 2] : 0;
      if (mod == '-') {
        text = rstripPy(text);
      } else if (mod != '+' && kind != '{') {
        // lstrip_blocks: only spaces and tabs between a line start and the
        // tag are removed.
        size_t nl = text.rfind('\n');
        size_t lpos = nl == std::string_view::npos ? 0 : nl + 1;
        if (lpos > 0 || lineStarting) {
          bool blank = true;
          for (size_t k = lpos; k < text.size(); ++k)
            blank &= text[k] == ' ' || text[k] == '\t';
          if (blank)
            text = text.substr(0, lpos);
        }
      }
      pushText(out, pos, text);
      size_t inner = open + 2 + (mod == '-' || mod == '+' ? 1 : 0);
      size_t end; // one past the closing delimiter
      bool stripAfter = false;
      if (kind == '#') {
        size_t close = src_.find("#}", inner);
        if (close == std::string::npos)
          throw TemplateError(posAt(open), "unclosed comment: '{#' without '#}'");
        stripAfter = close > inner && src_[close - 1] == '-';
        end = close + 2;
      } else {
        Segment seg;
        seg.kind = kind == '{' ? SegKind::Var : SegKind::Block;
        seg.pos = posAt(open);
        end = lexTag(inner, kind == '{' ? '}' : '%', seg, stripAfter);
        if (seg.kind == SegKind::Block && !seg.tokens.empty() &&
            seg.tokens[0].type == Tok::Name && seg.tokens[0].text == "raw") {
          end = lexRaw(end, stripAfter, out, seg.pos);
          pos = end;
          lineStarting = pos > 0 && src_[pos - 1] == '\n';
          continue;
        }
        out.push_back(std::move(seg));
      }
      if (stripAfter)
        end += leadingPySpace(src_, end);
      else if (kind != '{' && end < src_.size() && src_[end] == '\n')
        ++end; // trim_blocks
      lineStarting = end > 0 && src_[end - 1] == '\n';
      pos = end;
    }
    return out;
  }

private:
  std::string src_;

  Pos posAt(size_t offset) const {
    Pos p;
    for (size_t i = 0; i < offset && i < src_.size(); ++i) {
      if (src_[i] == '\n') {
        ++p.line;
        p.column = 1;
      } else if ((uint8_t(src_[i]) & 0xC0) != 0x80) {
        ++p.column;
      }
    }
    return p;
  }

  size_t findOpen(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos;
         i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() &&
          (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
        return i;
    }
    return std::string::npos;
  }

  void pushText(std::vector<Segment> &out, size_t offset,
                std::string_view text) {
    if (text.empty())
      return;
    Segment s;
    s.kind = SegKind::Text;
    s.pos = posAt(offset);
    s.text = std::string(text);
    out.push_back(std::move(s));
  }

  /// Tokens of a {{ }} or {% %} tag from `i` to its closing delimiter
  /// (`close` then '}'); returns one past it.
  size_t lexTag(size_t i, char close, Segment &seg, bool &stripAfter) {
    int depth = 0;
    while (true) {
      while (i < src_.size() && std::strchr(" \t\n\r\f\v", src_[i]) &&
             src_[i] != 0)
        ++i;
      if (i >= src_.size())
        throw TemplateError(seg.pos, std::string("unclosed tag: missing '") +
                                         close + "}'");
      char c = src_[i];
      if (depth == 0) {
        if (c == '-' && i + 2 < src_.size() && src_[i + 1] == close &&
            src_[i + 2] == '}') {
          stripAfter = true;
          seg.tokens.push_back({Tok::End, "", posAt(i)});
          return i + 3;
        }
        if (c == close && i + 1 < src_.size() && src_[i + 1] == '}') {
          seg.tokens.push_back({Tok::End, "", posAt(i)});
          return i + 2;
        }
      }
      Token t;
      t.pos = posAt(i);
      if (std::isalpha(uint8_t(c)) || c == '_') {
        size_t b = i;
        while (i < src_.size() && (std::isalnum(uint8_t(src_[i])) || src_[i] == '_'))
          ++i;
        t.type = Tok::Name;
        t.text = src_.substr(b, i - b);
      } else if (std::isdigit(uint8_t(c))) {
        i = lexNumber(i, t);
      } else if (c == '\'' || c == '"') {
        i = lexString(i, t);
      } else {
        static const char *const kOps[] = {
            "**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
            "<",  ">",  "=",  "(",  ")",  "[",  "]", "{", "}", ",", ".", ":",
            "|"};
        const char *found = nullptr;
        for (const char *op : kOps) {
          size_t n = std::strlen(op);
          if (src_.compare(i, n, op) == 0) {
            found = op;
            break;
          }
        }
        if (!found)
          throw TemplateError(t.pos, std::string("unexpected character '") +
                                         c + "' in a tag");
        t.type = Tok::Op;
        t.text = found;
        i += t.text.size();
        if (t.text == "(" || t.text == "[" || t.text == "{")
          ++depth;
        else if ((t.text == ")" || t.text == "]" || t.text == "}") && depth > 0)
          --depth;
      }
      seg.tokens.push_back(std::move(t));
    }
  }

  size_t lexNumber(size_t i, Token &t) {
    size_t b = i;
    auto digits = [&] {
      while (i < src_.size() && (std::isdigit(uint8_t(src_[i])) || src_[i] == '_'))
        ++i;
    };
    digits();
    bool isFloat = false;
    if (i + 1 < src_.size() && src_[i] == '.' && std::isdigit(uint8_t(src_[i + 1]))) {
      isFloat = true;
      ++i;
      digits();
    }
    if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
      size_t save = i++;
      if (i < src_.size() && (src_[i] == '+' || src_[i] == '-'))
        ++i;
      if (i < src_.size() && std::isdigit(uint8_t(src_[i]))) {
        isFloat = true;
        digits();
      } else {
        i = save;
      }
    }
    std::string num;
    for (size_t k = b; k < i; ++k)
      if (src_[k] != '_')
        num.push_back(src_[k]);
    if (isFloat) {
      t.type = Tok::Float;
      t.f = std::strtod(num.c_str(), nullptr);
    } else {
      t.type = Tok::Int;
      errno = 0;
      t.i = std::strtoll(num.c_str(), nullptr, 10);
      if (errno == ERANGE)
        throw TemplateError(t.pos, "integer literal " + num + " is too large");
    }
    return i;
  }

  /// A quoted string with Python's escapes (\n \t \\ \' \" \r \b \f \v \a
  /// \0-\777 \xhh \uhhhh \Uhhhhhhhh; other escapes keep the backslash).
  size_t lexString(size_t i, Token &t) {
    char q = src_[i++];
    std::string out;
    while (true) {
      if (i >= src_.size())
        throw TemplateError(t.pos, "unterminated string literal");
      char c = src_[i];
      if (c == q) {
        ++i;
        break;
      }
      if (c != '\\' || i + 1 >= src_.size()) {
        out.push_back(c);
        ++i;
        continue;
      }
      char e = src_[i + 1];
      i += 2;
      switch (e) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'v': out.push_back('\v'); break;
      case 'a': out.push_back('\a'); break;
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case '\n': break; // line continuation
      case 'x': case 'u': case 'U': {
        size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (i + n > src_.size())
          throw TemplateError(t.pos, std::string("truncated \\") + e + " escape");
        uint32_t cp = 0;
        for (size_t k = 0; k < n; ++k) {
          char h = src_[i + k];
          if (!std::isxdigit(uint8_t(h)))
            throw TemplateError(t.pos, std::string("bad \\") + e + " escape");
          cp = cp * 16 + uint32_t(std::isdigit(uint8_t(h)) ? h - '0'
                                                          : (std::tolower(h) - 'a' + 10));
        }
        i += n;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
          out += kReplacementChar;
        else
          appendUtf8(out, cp);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = uint32_t(e - '0');
          for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k)
            cp = cp * 8 + uint32_t(src_[i++] - '0');
          appendUtf8(out, cp);
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
      }
    }
    t.type = Tok::String;
    t.text = std::move(out);
    return i;
  }

  /// {% raw %}...{% endraw %}: the text in between, untouched.
  size_t lexRaw(size_t from, bool stripAfterOpen, std::vector<Segment> &out,
                Pos pos) {
    size_t start = from;
    if (stripAfterOpen)
      start += leadingPySpace(src_, start);
    for (size_t i = src_.find("{%", from); i != std::string::npos;
         i = src_.find("{%", i + 2)) {
      size_t k = i + 2;
      bool stripBefore = k < src_.size() && src_[k] == '-';
      if (stripBefore || (k < src_.size() && src_[k] == '+'))
        ++k;
      while (k < src_.size() && (src_[k] == ' ' || src_[k] == '\t' || src_[k] == '\n'))
        ++k;
      if (src_.compare(k, 6, "endraw") != 0)
        continue;
      k += 6;
      while (k < src_.size() && (src_[k] == ' ' || src_[k] == '\t' || src_[k] == '\n'))
        ++k;
      bool stripAfter = k < src_.size() && src_[k] == '-';
      if (stripAfter)
        ++k;
      if (src_.compare(k, 2, "%}") != 0)
        continue;
      std::string_view body(src_.data() + start, i - start);
      if (stripBefore)
        body = rstripPy(body);
      pushText(out, start, body);
      size_t end = k + 2;
      if (stripAfter)
        end += leadingPySpace(src_, end);
      else if (end < src_.size() && src_[end] == '\n')
        ++end;
      return end;
    }
    throw TemplateError(pos, "'raw' block without '{% endraw %}'");
  }
};

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

class Parser {
public:
  explicit Parser(std::vector<Segment> segs) : segs_(std::move(segs)) {}

  Body parseTemplate() {
    std::string endTag;
    Body b = parseBody({}, endTag);
    return b;
  }

private:
  std::vector<Segment> segs_;
  size_t seg_ = 0;
  const std::vector<Token> *toks_ = nullptr;
  size_t tok_ = 0;

  // Token access within the current tag.
  const Token &cur() const { return (*toks_)[tok_]; }
  const Token &peek(size_t k = 1) const {
    size_t i = std::min(tok_ + k, toks_->size() - 1);
    return (*toks_)[i];
  }
  bool isOp(const char *op) const {
    return cur().type == Tok::Op && cur().text == op;
  }
  bool isName(const char *n) const {
    return cur().type == Tok::Name && cur().text == n;
  }
  bool skipOp(const char *op) {
    if (!isOp(op))
      return false;
    ++tok_;
    return true;
  }
  bool skipName(const char *n) {
    if (!isName(n))
      return false;
    ++tok_;
    return true;
  }
  [[noreturn]] void fail(const std::string &msg) const {
    throw TemplateError(cur().pos, msg);
  }
  std::string describe(const Token &t) const {
    switch (t.type) {
    case Tok::End: return "the end of the tag";
    case Tok::String: return "a string";
    case Tok::Int: case Tok::Float: return "a number";
    default: return "'" + t.text + "'";
    }
  }
  void expectOp(const char *op) {
    if (!skipOp(op))
      fail(std::string("expected '") + op + "', found " + describe(cur()));
  }
  std::string expectName() {
    if (cur().type != Tok::Name)
      fail("expected a name, found " + describe(cur()));
    return (*toks_)[tok_++].text;
  }
  void expectEnd() {
    if (cur().type != Tok::End)
      fail("expected the end of the tag, found " + describe(cur()));
  }

  /// Statements until a block tag named in `ends` (its name goes to
  /// `endTag`, the parser then sits inside that tag) or the template's end.
  Body parseBody(const std::set<std::string> &ends, std::string &endTag) {
    Body body;
    while (seg_ < segs_.size()) {
      Segment &s = segs_[seg_];
      if (s.kind == SegKind::Text) {
        Stmt st{StmtKind::Text, s.pos};
        st.text = std::move(s.text);
        body.push_back(std::move(st));
        ++seg_;
        continue;
      }
      toks_ = &s.tokens;
      tok_ = 0;
      if (s.kind == SegKind::Var) {
        Stmt st{StmtKind::Print, s.pos};
        st.expr = parseTuple(true);
        expectEnd();
        body.push_back(std::move(st));
        ++seg_;
        continue;
      }
      if (cur().type != Tok::Name)
        fail("expected a statement name, found " + describe(cur()));
      std::string name = cur().text;
      if (ends.count(name)) {
        endTag = name;
        return body;
      }
      ++tok_;
      parseStatement(name, s.pos, body);
    }
    if (!ends.empty()) {
      std::string list;
      for (const std::string &e : ends)
        list += (list.empty() ? "'" : " or '") + e + "'";
      throw TemplateError(segs_.empty() ? Pos{} : segs_.back().pos,
                          "unexpected end of template: expected " + list);
    }
    return body;
  }

  /// Moves to the next segment after a statement's closing tag.
  void nextSegment() { ++seg_; }

  void parseStatement(const std::string &name, Pos pos, Body &body) {
    if (name == "if")
      return parseIf(pos, body);
    if (name == "for")
      return parseFor(pos, body);
    if (name == "set")
      return parseSet(pos, body);
    if (name == "macro")
      return parseMacro(pos, body);
    if (name == "filter")
      return parseFilterBlock(pos, body);
    if (name == "break" || name == "continue") {
      expectEnd();
      nextSegment();
      body.push_back(Stmt{name == "break" ? StmtKind::Break
                                          : StmtKind::Continue, pos});
      return;
    }
    if (name == "generation") {
      // transformers' {% generation %} marks assistant text; it renders
      // its body unchanged.
      expectEnd();
      nextSegment();
      std::string end;
      Body inner = parseBody({"endgeneration"}, end);
      expectClose();
      for (Stmt &s : inner)
        body.push_back(std::move(s));
      return;
    }
    if (name.rfind("end", 0) == 0 || name == "elif" || name == "else")
      throw TemplateError(pos, "unexpected '" + name +
                                   "': no open block it could close");
    throw TemplateError(pos, "unsupported tag '" + name +
                                 "' (supported: if, for, set, macro, filter, "
                                 "raw, break, continue, generation)");
  }

  /// After an end tag's name: the end of the tag, then the next segment.
  void expectClose() {
    ++tok_;
    expectEnd();
    nextSegment();
  }

  void parseIf(Pos pos, Body &body) {
    Stmt st{StmtKind::If, pos};
    ExprPtr cond = parseTuple(false);
    expectEnd();
    nextSegment();
    while (true) {
      std::string end;
      Body b = parseBody({"elif", "else", "endif"}, end);
      st.branches.emplace_back(std::move(cond), std::move(b));
      if (end == "elif") {
        ++tok_;
        cond = parseTuple(false);
        expectEnd();
        nextSegment();
        continue;
      }
      if (end == "else") {
        expectClose();
        st.elseBody = parseBody({"endif"}, end);
      }
      expectClose();
      break;
    }
    body.push_back(std::move(st));
  }

  std::vector<std::string> parseTargets() {
    std::vector<std::string> t;
    bool paren = skipOp("(");
    t.push_back(expectName());
    while (skipOp(","))
      t.push_back(expectName());
    if (paren)
      expectOp(")");
    return t;
  }

  void parseFor(Pos pos, Body &body) {
    Stmt st{StmtKind::For, pos};
    st.targets = parseTargets();
    if (!skipName("in"))
      fail("expected 'in' in a for loop, found " + describe(cur()));
    st.expr = parseTuple(false);
    if (skipName("if"))
      st.cond = parseExpression(true);
    if (isName("recursive"))
      fail("recursive for loops are not supported");
    expectEnd();
    nextSegment();
    std::string end;
    st.body = parseBody({"else", "endfor"}, end);
    if (end == "else") {
      expectClose();
      st.elseBody = parseBody({"endfor"}, end);
    }
    expectClose();
    body.push_back(std::move(st));
  }

  void parseSet(Pos pos, Body &body) {
    Stmt st{StmtKind::Set, pos};
    std::string first = expectName();
    if (skipOp(".")) {
      st.targets = {first};
      st.attr = expectName();
    } else {
      st.targets = {first};
      while (skipOp(","))
        st.targets.push_back(expectName());
    }
    if (cur().type == Tok::End && st.attr.empty() && st.targets.size() == 1) {
      st.kind = StmtKind::SetBlock;
      nextSegment();
      std::string end;
      st.body = parseBody({"endset"}, end);
      expectClose();
      body.push_back(std::move(st));
      return;
    }
    expectOp("=");
    st.expr = parseTuple(true);
    expectEnd();
    nextSegment();
    body.push_back(std::move(st));
  }

  void parseMacro(Pos pos, Body &body) {
    Stmt st{StmtKind::Macro, pos};
    st.text = expectName();
    expectOp("(");
    if (!isOp(")")) {
      do {
        std::string p = expectName();
        ExprPtr def;
        if (skipOp("="))
          def = parseExpression(true);
        st.params.emplace_back(p, std::move(def));
      } while (skipOp(","));
    }
    expectOp(")");
    expectEnd();
    nextSegment();
    std::string end;
    st.body = parseBody({"endmacro"}, end);
    expectClose();
    body.push_back(std::move(st));
  }

  void parseFilterBlock(Pos pos, Body &body) {
    Stmt st{StmtKind::FilterBlock, pos};
    ExprPtr node; // null: the block's body
    do {
      node = parseFilter(std::move(node));
    } while (skipOp("|"));
    st.filter = std::move(node);
    expectEnd();
    nextSegment();
    std::string end;
    st.body = parseBody({"endfilter"}, end);
    expectClose();
    body.push_back(std::move(st));
  }

  //===--- Expressions --------------------------------------------------===//

  ExprPtr node(ExprKind k, Pos p) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = p;
    return e;
  }

  /// An expression or an unparenthesised tuple (`a, b`).
  ExprPtr parseTuple(bool withCondexpr) {
    Pos p = cur().pos;
    ExprPtr first = parseExpression(withCondexpr);
    if (!isOp(","))
      return first;
    ExprPtr t = node(ExprKind::TupleLit, p);
    t->kids.push_back(std::move(first));
    while (skipOp(",")) {
      if (cur().type == Tok::End)
        break;
      t->kids.push_back(parseExpression(withCondexpr));
    }
    return t;
  }

  ExprPtr parseExpression(bool withCondexpr) {
    ExprPtr e = parseOr();
    if (!withCondexpr)
      return e;
    while (isName("if")) {
      Pos p = cur().pos;
      ++tok_;
      ExprPtr c = node(ExprKind::CondExpr, p);
      c->kids.push_back(parseOr());
      c->kids.push_back(std::move(e));
      if (skipName("else"))
        c->kids.push_back(parseExpression(true));
      else
        c->kids.push_back(nullptr);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const std::string &op, ExprPtr l, ExprPtr r, Pos p) {
    ExprPtr b = node(ExprKind::Binary, p);
    b->name = op;
    b->kids.push_back(std::move(l));
    b->kids.push_back(std::move(r));
    return b;
  }

  /// One left-associative binary level: `next (op next)*` for the
  /// operators in `ops` (names such as "or", or operator tokens).
  ExprPtr leftAssoc(ExprPtr (Parser::*next)(),
                    std::initializer_list<const char *> ops) {
    ExprPtr l = (this->*next)();
    while (true) {
      const char *found = nullptr;
      for (const char *op : ops)
        if (isOp(op) || isName(op))
          found = op;
      if (!found)
        return l;
      Pos p = cur().pos;
      ++tok_;
      l = binary(found, std::move(l), (this->*next)(), p);
    }
  }

  ExprPtr parseOr() { return leftAssoc(&Parser::parseAnd, {"or"}); }
  ExprPtr parseAnd() { return leftAssoc(&Parser::parseNot, {"and"}); }

  ExprPtr parseNot() {
    if (isName("not")) {
      Pos p = cur().pos;
      ++tok_;
      ExprPtr n = node(ExprKind::Unary, p);
      n->name = "not";
      n->kids.push_back(parseNot());
      return n;
    }
    return parseCompare();
  }

  ExprPtr parseCompare() {
    Pos p = cur().pos;
    ExprPtr first = parseMath1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().type == Tok::Op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
           cur().text == ">" || cur().text == "<=" || cur().text == ">=")) {
        op = cur().text;
        ++tok_;
      } else if (isName("in")) {
        op = "in";
        ++tok_;
      } else if (isName("not") && peek().type == Tok::Name &&
                 peek().text == "in") {
        op = "not in";
        tok_ += 2;
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(ExprKind::Compare, p);
        cmp->kids.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->kids.push_back(parseMath1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parseMath1() { return leftAssoc(&Parser::parseConcat, {"+", "-"}); }
  ExprPtr parseConcat() { return leftAssoc(&Parser::parseMath2, {"~"}); }
  ExprPtr parseMath2() {
    return leftAssoc(&Parser::parsePow, {"*", "/", "//", "%"});
  }
  ExprPtr parsePow() { return leftAssoc(&Parser::parseFiltered, {"**"}); }
  ExprPtr parseFiltered() { return parseUnary(true); }

  ExprPtr parseUnary(bool withFilter) {
    ExprPtr n;
    if (isOp("-") || isOp("+")) {
      Pos p = cur().pos;
      std::string op = cur().text;
      ++tok_;
      n = node(ExprKind::Unary, p);
      n->name = op;
      n->kids.push_back(parseUnary(false));
    } else {
      n = parsePrimary();
    }
    n = parsePostfix(std::move(n));
    if (withFilter)
      n = parseFilterExpr(std::move(n));
    return n;
  }

  /// Bounds the recursion of nested parentheses, lists and calls.
  struct DepthGuard {
    explicit DepthGuard(Parser &p) : p(p) {
      if (++p.depth_ > 200)
        p.fail("expression nested more than 200 levels deep");
    }
    ~DepthGuard() { --p.depth_; }
    Parser &p;
  };
  int depth_ = 0;

  ExprPtr parsePrimary() {
    DepthGuard guard(*this);
    const Token &t = cur();
    Pos p = t.pos;
    switch (t.type) {
    case Tok::Name: {
      ++tok_;
      if (t.text == "true" || t.text == "True")
        return literal(Value(true), p);
      if (t.text == "false" || t.text == "False")
        return literal(Value(false), p);
      if (t.text == "none" || t.text == "None")
        return literal(Value::none(), p);
      ExprPtr n = node(ExprKind::Name, p);
      n->name = t.text;
      return n;
    }
    case Tok::String: {
      std::string s;
      while (cur().type == Tok::String)
        s += (*toks_)[tok_++].text; // adjacent literals concatenate
      return literal(Value(std::move(s)), p);
    }
    case Tok::Int:
      ++tok_;
      return literal(Value(t.i), p);
    case Tok::Float:
      ++tok_;
      return literal(Value(t.f), p);
    case Tok::Op:
      if (t.text == "(") {
        ++tok_;
        if (skipOp(")"))
          return node(ExprKind::TupleLit, p);
        ExprPtr first = parseExpression(true);
        if (skipOp(")"))
          return first;
        ExprPtr tup = node(ExprKind::TupleLit, p);
        tup->kids.push_back(std::move(first));
        while (skipOp(",")) {
          if (isOp(")"))
            break;
          tup->kids.push_back(parseExpression(true));
        }
        expectOp(")");
        return tup;
      }
      if (t.text == "[") {
        ++tok_;
        ExprPtr l = node(ExprKind::ListLit, p);
        while (!isOp("]")) {
          l->kids.push_back(parseExpression(true));
          if (!skipOp(","))
            break;
        }
        expectOp("]");
        return l;
      }
      if (t.text == "{") {
        ++tok_;
        ExprPtr d = node(ExprKind::DictLit, p);
        while (!isOp("}")) {
          d->kids.push_back(parseExpression(true));
          expectOp(":");
          d->kids.push_back(parseExpression(true));
          if (!skipOp(","))
            break;
        }
        expectOp("}");
        return d;
      }
      break;
    case Tok::End:
      break;
    }
    fail("expected an expression, found " + describe(t));
  }

  ExprPtr literal(Value v, Pos p) {
    ExprPtr n = node(ExprKind::Literal, p);
    n->literal = std::move(v);
    return n;
  }

  ExprPtr parsePostfix(ExprPtr n) {
    while (true) {
      Pos p = cur().pos;
      if (skipOp(".")) {
        if (cur().type == Tok::Int) {
          ExprPtr g = node(ExprKind::GetItem, p);
          g->kids.push_back(std::move(n));
          g->kids.push_back(literal(Value(cur().i), cur().pos));
          ++tok_;
          n = std::move(g);
          continue;
        }
        ExprPtr g = node(ExprKind::GetAttr, p);
        g->name = expectName();
        g->kids.push_back(std::move(n));
        n = std::move(g);
      } else if (skipOp("[")) {
        n = parseSubscript(std::move(n), p);
      } else if (isOp("(")) {
        n = parseCall(std::move(n));
      } else {
        return n;
      }
    }
  }

  ExprPtr parseSubscript(ExprPtr target, Pos p) {
    ExprPtr parts[3];
    bool isSlice = false;
    if (!isOp(":"))
      parts[0] = parseExpression(true);
    if (skipOp(":")) {
      isSlice = true;
      if (!isOp(":") && !isOp("]"))
        parts[1] = parseExpression(true);
      if (skipOp(":") && !isOp("]"))
        parts[2] = parseExpression(true);
    }
    expectOp("]");
    ExprPtr g = node(isSlice ? ExprKind::Slice : ExprKind::GetItem, p);
    g->kids.push_back(std::move(target));
    if (isSlice) {
      for (auto &part : parts)
        g->kids.push_back(std::move(part));
    } else {
      g->kids.push_back(std::move(parts[0]));
    }
    return g;
  }

  /// Arguments "(a, b, k=v)" into `call` (positional after kids[0]).
  void parseArgs(Expr &call) {
    expectOp("(");
    while (!isOp(")")) {
      if (isOp("*") || isOp("**"))
        fail("*args and **kwargs in calls are not supported");
      if (cur().type == Tok::Name && peek().type == Tok::Op &&
          peek().text == "=") {
        std::string key = cur().text;
        tok_ += 2;
        call.kwargs.emplace_back(key, parseExpression(true));
      } else {
        if (!call.kwargs.empty())
          fail("a positional argument follows a keyword argument");
        call.kids.push_back(parseExpression(true));
      }
      if (!skipOp(","))
        break;
    }
    expectOp(")");
  }

  ExprPtr parseCall(ExprPtr callee) {
    ExprPtr c = node(ExprKind::Call, cur().pos);
    c->kids.push_back(std::move(callee));
    parseArgs(*c);
    return c;
  }

  ExprPtr parseFilter(ExprPtr operand) {
    ExprPtr f = node(ExprKind::Filter, cur().pos);
    f->name = expectName();
    while (skipOp("."))
      f->name += "." + expectName();
    f->kids.push_back(std::move(operand));
    if (isOp("("))
      parseArgs(*f);
    return f;
  }

  ExprPtr parseFilterExpr(ExprPtr n) {
    while (true) {
      if (skipOp("|")) {
        n = parseFilter(std::move(n));
      } else if (isName("is")) {
        Pos p = cur().pos;
        ++tok_;
        ExprPtr t = node(ExprKind::Test, p);
        t->negated = skipName("not");
        t->name = expectName();
        t->kids.push_back(std::move(n));
        if (isOp("(")) {
          parseArgs(*t);
        } else if ((cur().type == Tok::Name || cur().type == Tok::String ||
                    cur().type == Tok::Int || cur().type == Tok::Float ||
                    isOp("[") || isOp("{")) &&
                   !isName("else") && !isName("or") && !isName("and") &&
                   !isName("if")) {
          // One argument without parentheses: `is divisibleby 3`.
          t->kids.push_back(parsePostfix(parsePrimary()));
        }
        n = std::move(t);
      } else if (isOp("(")) {
        n = parseCall(std::move(n));
      } else {
        return n;
      }
    }
  }
};

} // namespace

std::shared_ptr<Program> parseTemplate(std::string_view source,
                                       const std::string &name) {
  Lexer lexer(normalizeNewlines(source));
  Parser parser(lexer.run());
  auto program = std::make_shared<Program>();
  program->name = name;
  program->body = parser.parseTemplate();
  return program;
}

} // namespace llmc::text::jinja
