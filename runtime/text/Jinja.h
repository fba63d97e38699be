//===- Jinja.h - a Jinja interpreter for chat templates ---------*- C++ -*-===//
//
// Lexer, parser (to an AST) and evaluator for the subset of Jinja that Hugging
// Face chat templates use, with the semantics of Python's jinja2 as
// transformers configures it (trim_blocks and lstrip_blocks on, the
// loopcontrols extension, the default Undefined, no autoescape, a
// json.dumps-style tojson, raise_exception and strftime_now). Values behave
// as their Python counterparts: str() of a float is Python's repr, len()
// and slicing of strings count code points, dictionaries keep insertion
// order. docs/text.md lists the statements, filters, tests and methods.
//
// Anything outside the subset is an error naming the line and column, at
// parse time where the construct is syntactic (an unknown tag) and at render
// time otherwise (an unknown filter, test or method).
//
// A Template is immutable after parse(); render() may run concurrently.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TEXT_JINJA_H
#define LLMC_RUNTIME_TEXT_JINJA_H

#include "runtime/abi/Status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmc::text::jinja {

class Value;
struct Dict;
struct Function;
struct Program;

/// A Jinja value. Lists and dictionaries are shared by reference, as in
/// Python; only namespace() objects are ever modified.
class Value {
public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict,
                    Function };

  /// An undefined value; `name` is what was looked up, for messages.
  Value() = default;
  static Value undefined(std::string name);
  static Value none();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(int64_t(i)) {}
  Value(double d);
  Value(std::string s);
  Value(const char *s) : Value(std::string(s)) {}
  Value(std::vector<Value> list);
  Value(std::shared_ptr<Dict> dict);
  Value(std::shared_ptr<Function> fn);
  /// Converts JSON text (objects keep their key order).
  static rt::Expected<Value> fromJson(std::string_view json);

  Kind kind() const { return kind_; }
  bool isUndefined() const { return kind_ == Kind::Undefined; }
  bool isNone() const { return kind_ == Kind::None; }
  bool isString() const { return kind_ == Kind::String; }
  bool isNumber() const { return kind_ == Kind::Int || kind_ == Kind::Float; }
  bool isList() const { return kind_ == Kind::List; }
  bool isDict() const { return kind_ == Kind::Dict; }

  bool asBool() const { return b_; }
  int64_t asInt() const { return i_; }
  double asDouble() const { return kind_ == Kind::Int ? double(i_) : f_; }
  const std::string &str() const { return s_; }
  const std::vector<Value> &list() const { return *list_; }
  const std::shared_ptr<std::vector<Value>> &listPtr() const { return list_; }
  Dict &dict() const { return *dict_; }
  const std::shared_ptr<Dict> &dictPtr() const { return dict_; }
  const std::shared_ptr<Function> &function() const { return fn_; }
  /// For Undefined: the name that was looked up.
  const std::string &undefinedName() const { return s_; }

  /// Python truthiness.
  bool truthy() const;
  /// Python str().
  std::string toString() const;
  /// Python repr().
  std::string repr() const;
  /// Python's name of the type, for messages ("str", "list", ...).
  std::string typeName() const;

private:
  Kind kind_ = Kind::Undefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<std::vector<Value>> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

/// A dictionary with insertion order (string keys).
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;
  /// True for namespace() objects, whose attributes `set` may assign.
  bool isNamespace = false;

  const Value *find(std::string_view key) const;
  void set(const std::string &key, Value v);
};

/// Positional and keyword arguments of a call.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

/// Something callable from a template: a global function, a bound method,
/// a macro. Throws std::runtime_error-derived errors, turned into messages
/// with the call's position by the evaluator.
struct Function {
  std::string name;
  std::function<Value(Args &)> call;
};

/// A parsed template.
class Template {
public:
  /// Parses `source`; errors name `name`, the line and the column.
  static rt::Expected<Template> parse(std::string_view source,
                                      std::string name = "template");
  /// Renders with the variables of `vars` (a Dict). An error (including
  /// one a template raises with raise_exception) names the position.
  rt::Expected<std::string> render(const Value &vars) const;

private:
  std::shared_ptr<const Program> program_;
};

} // namespace llmc::text::jinja

#endif // LLMC_RUNTIME_TEXT_JINJA_H
