//===- JinjaAst.h - syntax tree of the Jinja interpreter (internal) -*- C++ -*-===//
//
// Expressions and statements as the parser builds them and the evaluator
// walks them. Each node keeps its source position for error messages.
// Internal to the text library.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_JINJAAST_H
#define LLMC_RUNTIME_TEXT_JINJAAST_H

#include "runtime/text/Jinja.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace llmc::text::jinja {

/// 1-based line and column in the template source.
struct Pos {
  int line = 1, column = 1;
};

/// An error at a position of the template.
struct TemplateError : std::runtime_error {
  TemplateError(Pos pos, const std::string &msg)
      : std::runtime_error(msg), pos(pos) {}
  Pos pos;
};

/// An error without a position yet (raised inside a builtin); the
/// evaluator attaches the position of the call or operator.
struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// raise_exception(message) from the template.
struct RaisedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ExprKind {
  Literal,   ///< literal
  Name,      ///< name
  GetAttr,   ///< kids[0] . name
  GetItem,   ///< kids[0] [ kids[1] ]
  Slice,     ///< kids[0] [ kids[1] : kids[2] : kids[3] ] (null = omitted)
  Call,      ///< kids[0] ( kids[1..] , kwargs )
  Filter,    ///< kids[0] | name ( kids[1..] , kwargs )
  Test,      ///< kids[0] is [not] name ( kids[1..] )
  Unary,     ///< op kids[0]: "-", "+", "not"
  Binary,    ///< kids[0] op kids[1]: + - * / // % ** ~ and or
  Compare,   ///< kids[0] ops[0] kids[1] ops[1] kids[2] ...
  CondExpr,  ///< kids[1] if kids[0] else kids[2] (kids[2] may be null)
  ListLit,   ///< [ kids ]
  TupleLit,  ///< ( kids )
  DictLit,   ///< { kids[0]: kids[1], ... }
};

struct Expr {
  ExprKind kind;
  Pos pos;
  std::string name; ///< name, attribute, filter, test or operator
  Value literal;
  bool negated = false; ///< `is not`
  std::vector<std::unique_ptr<Expr>> kids;
  std::vector<std::string> ops; ///< Compare operators
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> kwargs;
};
using ExprPtr = std::unique_ptr<Expr>;

enum class StmtKind {
  Text,      ///< text
  Print,     ///< {{ expr }}
  If,        ///< branches, elseBody
  For,       ///< targets in expr [if cond]: body, elseBody
  Set,       ///< targets = expr, or attrTarget.attr = expr
  SetBlock,  ///< {% set name %}body{% endset %}
  Macro,     ///< name(params): body
  FilterBlock, ///< {% filter f %}body{% endfilter %}
  Break,
  Continue,
};

struct Stmt;
using Body = std::vector<Stmt>;

struct Stmt {
  StmtKind kind;
  Pos pos;
  std::string text;
  ExprPtr expr, cond;
  std::vector<std::string> targets;
  std::string attr; ///< Set on a namespace attribute: targets[0].attr
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, elseBody;
  /// Macro parameters, default values (null = required).
  std::vector<std::pair<std::string, ExprPtr>> params;
  /// FilterBlock: a Filter expression whose kids[0] is null (the body).
  ExprPtr filter;
};

struct Program {
  std::string name;
  Body body;
};

/// Parses a template (JinjaParse.cpp). Throws TemplateError.
std::shared_ptr<Program> parseTemplate(std::string_view source,
                                       const std::string &name);

/// JSON text of `v` as transformers' tojson writes it (json.dumps with
/// ensure_ascii=False; `indent` < 0: none). Throws EvalError for values
/// JSON cannot hold.
std::string toJson(const Value &v, int indent = -1);

} // namespace llmc::text::jinja

#endif // LLMC_RUNTIME_TEXT_JINJAAST_H
