//===- JinjaValue.cpp - values of the Jinja interpreter -------------------===//
//
// Python semantics for the values templates see: truthiness, str() and
// repr() (a float prints as Python's shortest round-trip repr, "1.0" not
// "1"), JSON in (objects keep their key order) and out (json.dumps with
// ensure_ascii=False, as transformers' tojson).
//
//===----------------------------------------------------------------------===//

#include "runtime/text/JinjaAst.h"
#include "runtime/text/Unicode.h"

#include <unicode/uchar.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace llmc::text::jinja {

Value Value::undefined(std::string name) {
  Value v;
  v.s_ = std::move(name);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value::Value(bool b) : kind_(Kind::Bool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::Int), i_(i) {}
Value::Value(double d) : kind_(Kind::Float), f_(d) {}
Value::Value(std::string s) : kind_(Kind::String), s_(std::move(s)) {}
Value::Value(std::vector<Value> list)
    : kind_(Kind::List),
      list_(std::make_shared<std::vector<Value>>(std::move(list))) {}
Value::Value(std::shared_ptr<Dict> dict)
    : kind_(Kind::Dict), dict_(std::move(dict)) {}
Value::Value(std::shared_ptr<Function> fn)
    : kind_(Kind::Function), fn_(std::move(fn)) {}

const Value *Dict::find(std::string_view key) const {
  for (const auto &[k, v] : entries)
    if (k == key)
      return &v;
  return nullptr;
}

void Dict::set(const std::string &key, Value v) {
  for (auto &[k, old] : entries) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  entries.emplace_back(key, std::move(v));
}

bool Value::truthy() const {
  switch (kind_) {
  case Kind::Undefined:
  case Kind::None:
    return false;
  case Kind::Bool:
    return b_;
  case Kind::Int:
    return i_ != 0;
  case Kind::Float:
    return f_ != 0.0;
  case Kind::String:
    return !s_.empty();
  case Kind::List:
    return !list_->empty();
  case Kind::Dict:
    return dict_->isNamespace || !dict_->entries.empty();
  case Kind::Function:
    return true;
  }
  return false;
}

namespace {

/// Python's float repr: the shortest digits that read back exactly, in
/// fixed notation for exponents -4..15 and scientific notation otherwise.
std::string floatRepr(double x) {
  if (std::isnan(x))
    return "nan";
  if (std::isinf(x))
    return x < 0 ? "-inf" : "inf";
  char buf[64];
  int prec = 1;
  for (; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
    if (std::strtod(buf, nullptr) == x)
      break;
  }
  // buf = [-]d.ddde[+-]XX
  std::string s = buf;
  bool neg = s[0] == '-';
  if (neg)
    s.erase(0, 1);
  size_t epos = s.find('e');
  int exp = std::atoi(s.c_str() + epos + 1);
  std::string digits;
  for (size_t i = 0; i < epos; ++i)
    if (s[i] != '.')
      digits.push_back(s[i]);
  while (digits.size() > 1 && digits.back() == '0')
    digits.pop_back();
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out = "0." + std::string(size_t(-exp - 1), '0') + digits;
    } else if (size_t(exp) + 1 >= digits.size()) {
      out = digits + std::string(size_t(exp) + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, size_t(exp) + 1) + "." + digits.substr(exp + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1)
      out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof(e), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += e;
  }
  return neg ? "-" + out : out;
}

/// Python's str.isprintable() for one code point.
bool isPrintable(uint32_t cp) {
  if (cp == ' ')
    return true;
  int8_t t = u_charType(UChar32(cp));
  return !(t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_SURROGATE ||
           t == U_PRIVATE_USE_CHAR || t == U_UNASSIGNED ||
           t == U_LINE_SEPARATOR || t == U_PARAGRAPH_SEPARATOR ||
           t == U_SPACE_SEPARATOR);
}

std::string strRepr(const std::string &s) {
  bool single = s.find('\'') != std::string::npos;
  bool dbl = s.find('"') != std::string::npos;
  char q = single && !dbl ? '"' : '\'';
  std::string out(1, q);
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    uint32_t cp = nextCodePoint(s, i);
    char buf[16];
    if (cp == uint32_t(q) || cp == '\\') {
      out.push_back('\\');
      out.push_back(char(cp));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (!isPrintable(cp)) {
      if (cp < 0x100)
        std::snprintf(buf, sizeof(buf), "\\x%02x", cp);
      else if (cp < 0x10000)
        std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
      else
        std::snprintf(buf, sizeof(buf), "\\U%08x", cp);
      out += buf;
    } else {
      out.append(s, start, i - start);
    }
  }
  out.push_back(q);
  return out;
}

} // namespace

std::string Value::toString() const {
  switch (kind_) {
  case Kind::Undefined:
    return "";
  case Kind::String:
    return s_;
  default:
    return repr();
  }
}

namespace {
thread_local int reprDepth = 0;
struct ReprGuard {
  ReprGuard() { ++reprDepth; }
  ~ReprGuard() { --reprDepth; }
};
} // namespace

std::string Value::repr() const {
  ReprGuard guard;
  if (reprDepth > 256 && (kind_ == Kind::List || kind_ == Kind::Dict))
    return "[...]";
  switch (kind_) {
  case Kind::Undefined:
    return "Undefined";
  case Kind::None:
    return "None";
  case Kind::Bool:
    return b_ ? "True" : "False";
  case Kind::Int:
    return std::to_string(i_);
  case Kind::Float:
    return floatRepr(f_);
  case Kind::String:
    return strRepr(s_);
  case Kind::List: {
    std::string out = "[";
    for (size_t i = 0; i < list_->size(); ++i)
      out += (i ? ", " : "") + (*list_)[i].repr();
    return out + "]";
  }
  case Kind::Dict: {
    std::string out = dict_->isNamespace ? "<Namespace {" : "{";
    for (size_t i = 0; i < dict_->entries.size(); ++i)
      out += (i ? ", " : "") + strRepr(dict_->entries[i].first) + ": " +
             dict_->entries[i].second.repr();
    return out + (dict_->isNamespace ? "}>" : "}");
  }
  case Kind::Function:
    return "<function " + fn_->name + ">";
  }
  return "";
}

std::string Value::typeName() const {
  switch (kind_) {
  case Kind::Undefined: return "Undefined";
  case Kind::None: return "NoneType";
  case Kind::Bool: return "bool";
  case Kind::Int: return "int";
  case Kind::Float: return "float";
  case Kind::String: return "str";
  case Kind::List: return "list";
  case Kind::Dict: return dict_->isNamespace ? "Namespace" : "dict";
  case Kind::Function: return "function";
  }
  return "";
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

namespace {

using OJson = nlohmann::ordered_json;

/// Nesting beyond this is refused: conversion, repr and tojson recurse.
constexpr int kMaxDepth = 256;

Value fromOrderedJson(const OJson &j, int depth = 0) {
  if (depth > kMaxDepth)
    throw EvalError("JSON nested deeper than " + std::to_string(kMaxDepth) +
                    " levels");
  switch (j.type()) {
  case OJson::value_t::null:
    return Value::none();
  case OJson::value_t::boolean:
    return Value(j.get<bool>());
  case OJson::value_t::number_integer:
    return Value(j.get<int64_t>());
  case OJson::value_t::number_unsigned: {
    uint64_t u = j.get<uint64_t>();
    if (u > uint64_t(INT64_MAX))
      return Value(double(u));
    return Value(int64_t(u));
  }
  case OJson::value_t::number_float:
    return Value(j.get<double>());
  case OJson::value_t::string:
    return Value(j.get<std::string>());
  case OJson::value_t::array: {
    std::vector<Value> list;
    list.reserve(j.size());
    for (const OJson &e : j)
      list.push_back(fromOrderedJson(e, depth + 1));
    return Value(std::move(list));
  }
  case OJson::value_t::object: {
    auto d = std::make_shared<Dict>();
    for (auto it = j.begin(); it != j.end(); ++it)
      d->entries.emplace_back(it.key(), fromOrderedJson(it.value(), depth + 1));
    return Value(std::move(d));
  }
  default:
    return Value::none();
  }
}

void jsonString(const std::string &s, std::string &out) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out.push_back(char(c));
      }
    }
  }
  out.push_back('"');
}

void toJsonInto(const Value &v, int indent, int depth, std::string &out) {
  if (depth > kMaxDepth)
    throw EvalError("tojson: value nested deeper than " +
                    std::to_string(kMaxDepth) + " levels (a cycle?)");
  auto newline = [&](int d) {
    out.push_back('\n');
    out.append(size_t(indent * d), ' ');
  };
  switch (v.kind()) {
  case Value::Kind::None:
    out += "null";
    return;
  case Value::Kind::Bool:
    out += v.asBool() ? "true" : "false";
    return;
  case Value::Kind::Int:
    out += std::to_string(v.asInt());
    return;
  case Value::Kind::Float: {
    double d = v.asDouble();
    out += std::isnan(d) ? "NaN"
           : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity")
                           : floatRepr(d);
    return;
  }
  case Value::Kind::String:
    jsonString(v.str(), out);
    return;
  case Value::Kind::List: {
    const auto &l = v.list();
    if (l.empty()) {
      out += "[]";
      return;
    }
    out.push_back('[');
    for (size_t i = 0; i < l.size(); ++i) {
      if (i)
        out += indent >= 0 ? "," : ", ";
      if (indent >= 0)
        newline(depth + 1);
      toJsonInto(l[i], indent, depth + 1, out);
    }
    if (indent >= 0)
      newline(depth);
    out.push_back(']');
    return;
  }
  case Value::Kind::Dict: {
    const auto &e = v.dict().entries;
    if (e.empty()) {
      out += "{}";
      return;
    }
    out.push_back('{');
    for (size_t i = 0; i < e.size(); ++i) {
      if (i)
        out += indent >= 0 ? "," : ", ";
      if (indent >= 0)
        newline(depth + 1);
      jsonString(e[i].first, out);
      out += ": ";
      toJsonInto(e[i].second, indent, depth + 1, out);
    }
    if (indent >= 0)
      newline(depth);
    out.push_back('}');
    return;
  }
  case Value::Kind::Undefined:
    throw EvalError("Object of type Undefined is not JSON serializable" +
                    (v.undefinedName().empty()
                         ? std::string()
                         : " ('" + v.undefinedName() + "' is undefined)"));
  case Value::Kind::Function:
    throw EvalError("Object of type function is not JSON serializable");
  }
}

} // namespace

std::string toJson(const Value &v, int indent) {
  std::string out;
  toJsonInto(v, indent, 0, out);
  return out;
}

rt::Expected<Value> Value::fromJson(std::string_view json) {
  try {
    return fromOrderedJson(OJson::parse(json.begin(), json.end()));
  } catch (const OJson::parse_error &e) {
    return rt::Expected<Value>::fromError(rt::Status::error(
        "not valid JSON (byte " + std::to_string(e.byte) + "): " + e.what()));
  } catch (const EvalError &e) {
    return rt::Expected<Value>::fromError(rt::Status::error(e.what()));
  }
}

} // namespace llmc::text::jinja
