//===- JinjaEval.cpp - evaluator and builtins of the Jinja interpreter ----===//
//
// Walks the AST with jinja2's rules: a for loop body runs in a fresh scope
// per iteration (assignments do not leave the loop, hence namespace()),
// `if` opens no scope, a macro runs in a scope over the one it was defined
// in. Attribute access `x.name` prefers a method of x (dict.items) to a key,
// subscription `x[key]` a key to a method; a missing key, attribute or
// index is Undefined, which renders as "", is false, iterates as empty and
// fails in arithmetic.
//
// Filters, tests, methods and global functions are in tables below; a name
// outside them is rejected when the template is parsed.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/JinjaAst.h"
#include "runtime/text/Unicode.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <ctime>
#include <map>
#include <unordered_map>

namespace llmc::text::jinja {

namespace {

[[noreturn]] void fail(const std::string &msg) { throw EvalError(msg); }

[[noreturn]] void undefinedError(const Value &v) {
  fail(v.undefinedName().empty()
           ? std::string("a value is undefined")
           : "'" + v.undefinedName() + "' is undefined");
}

//===----------------------------------------------------------------------===//
// Argument binding
//===----------------------------------------------------------------------===//

/// Binds a call's arguments to named parameters with defaults (Python's
/// rules, without *args/**kwargs).
class Binder {
public:
  Binder(const std::string &fn, Args &args,
         std::initializer_list<const char *> names)
      : fn_(fn), values_(names.size()), set_(names.size(), false) {
    size_t i = 0;
    for (const char *n : names)
      names_.push_back(n);
    if (args.positional.size() > names_.size())
      fail(fn + "() takes at most " + std::to_string(names_.size()) +
           " arguments (" + std::to_string(args.positional.size()) + " given)");
    for (i = 0; i < args.positional.size(); ++i) {
      values_[i] = args.positional[i];
      set_[i] = true;
    }
    for (auto &[k, v] : args.keyword) {
      auto it = std::find(names_.begin(), names_.end(), k);
      if (it == names_.end())
        fail(fn + "() got an unexpected keyword argument '" + k + "'");
      size_t idx = size_t(it - names_.begin());
      if (set_[idx])
        fail(fn + "() got multiple values for argument '" + k + "'");
      values_[idx] = v;
      set_[idx] = true;
    }
  }
  bool has(size_t i) const { return set_[i]; }
  const Value &get(size_t i) const { return values_[i]; }
  Value get(size_t i, Value def) const { return set_[i] ? values_[i] : def; }
  const Value &required(size_t i) const {
    if (!set_[i])
      fail(fn_ + "() missing required argument '" + names_[i] + "'");
    return values_[i];
  }

private:
  std::string fn_;
  std::vector<std::string> names_;
  std::vector<Value> values_;
  std::vector<bool> set_;
};

//===----------------------------------------------------------------------===//
// Python operations
//===----------------------------------------------------------------------===//

bool isIntLike(const Value &v) {
  return v.kind() == Value::Kind::Int || v.kind() == Value::Kind::Bool;
}
bool isNumeric(const Value &v) {
  return isIntLike(v) || v.kind() == Value::Kind::Float;
}
int64_t intOf(const Value &v) {
  return v.kind() == Value::Kind::Bool ? int64_t(v.asBool()) : v.asInt();
}
double doubleOf(const Value &v) {
  return v.kind() == Value::Kind::Float ? v.asDouble() : double(intOf(v));
}

std::string operandError(const char *op, const Value &a, const Value &b) {
  return std::string("unsupported operand type(s) for ") + op + ": '" +
         a.typeName() + "' and '" + b.typeName() + "'";
}

bool pyEquals(const Value &a, const Value &b);

bool listEquals(const std::vector<Value> &a, const std::vector<Value> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!pyEquals(a[i], b[i]))
      return false;
  return true;
}

bool pyEquals(const Value &a, const Value &b) {
  if (isNumeric(a) && isNumeric(b)) {
    if (isIntLike(a) && isIntLike(b))
      return intOf(a) == intOf(b);
    return doubleOf(a) == doubleOf(b);
  }
  if (a.kind() != b.kind())
    return false;
  switch (a.kind()) {
  case Value::Kind::Undefined:
  case Value::Kind::None:
    return true;
  case Value::Kind::String:
    return a.str() == b.str();
  case Value::Kind::List:
    return listEquals(a.list(), b.list());
  case Value::Kind::Dict: {
    const auto &ea = a.dict().entries, &eb = b.dict().entries;
    if (ea.size() != eb.size())
      return false;
    for (const auto &[k, v] : ea) {
      const Value *o = b.dict().find(k);
      if (!o || !pyEquals(v, *o))
        return false;
    }
    return true;
  }
  case Value::Kind::Function:
    return a.function() == b.function();
  default:
    return false;
  }
}

/// -1, 0, 1 for <, ==, >; throws for types Python cannot order.
int pyCompare(const Value &a, const Value &b, const char *op) {
  if (isNumeric(a) && isNumeric(b)) {
    if (isIntLike(a) && isIntLike(b))
      return intOf(a) < intOf(b) ? -1 : intOf(a) > intOf(b);
    double x = doubleOf(a), y = doubleOf(b);
    return x < y ? -1 : x > y;
  }
  if (a.isString() && b.isString())
    return a.str() < b.str() ? -1 : a.str() > b.str();
  if (a.isList() && b.isList()) {
    const auto &x = a.list(), &y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (pyEquals(x[i], y[i]))
        continue;
      return pyCompare(x[i], y[i], op);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size();
  }
  if (a.isUndefined())
    undefinedError(a);
  if (b.isUndefined())
    undefinedError(b);
  fail(std::string("'") + op + "' not supported between instances of '" +
       a.typeName() + "' and '" + b.typeName() + "'");
}

bool pyContains(const Value &container, const Value &item) {
  switch (container.kind()) {
  case Value::Kind::String:
    if (!item.isString())
      fail("'in <string>' requires string as left operand, not " +
           item.typeName());
    return container.str().find(item.str()) != std::string::npos;
  case Value::Kind::List:
    for (const Value &v : container.list())
      if (pyEquals(v, item))
        return true;
    return false;
  case Value::Kind::Dict:
    return item.isString() && container.dict().find(item.str()) != nullptr;
  case Value::Kind::Undefined:
    return false; // Undefined iterates as empty
  default:
    fail("argument of type '" + container.typeName() + "' is not iterable");
  }
}

/// Code points of a string.
std::vector<std::string> chars(const std::string &s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    nextCodePoint(s, i);
    out.push_back(s.substr(start, i - start));
  }
  return out;
}

/// The items a for loop or list() sees.
std::vector<Value> iterate(const Value &v) {
  switch (v.kind()) {
  case Value::Kind::List:
    return v.list();
  case Value::Kind::Dict: {
    std::vector<Value> keys;
    for (const auto &e : v.dict().entries)
      keys.push_back(Value(e.first));
    return keys;
  }
  case Value::Kind::String: {
    std::vector<Value> out;
    for (std::string &c : chars(v.str()))
      out.push_back(Value(std::move(c)));
    return out;
  }
  case Value::Kind::Undefined:
    return {};
  default:
    fail("'" + v.typeName() + "' object is not iterable");
  }
}

int64_t pyLen(const Value &v) {
  switch (v.kind()) {
  case Value::Kind::String:
    return int64_t(codePointCount(v.str()));
  case Value::Kind::List:
    return int64_t(v.list().size());
  case Value::Kind::Dict:
    return int64_t(v.dict().entries.size());
  case Value::Kind::Undefined:
    return 0;
  default:
    fail("object of type '" + v.typeName() + "' has no len()");
  }
}

/// Largest string or list `*` builds.
constexpr size_t kMaxRepeat = size_t(1) << 26;

/// Integer + - * failing on int64 overflow (Python's ints do not overflow;
/// templates have no use for values this large).
int64_t checkedInt(char op, int64_t x, int64_t y) {
  int64_t r;
  bool overflow = op == '+'   ? __builtin_add_overflow(x, y, &r)
                  : op == '-' ? __builtin_sub_overflow(x, y, &r)
                              : __builtin_mul_overflow(x, y, &r);
  if (overflow)
    fail("integer overflow");
  return r;
}

Value binaryOp(const std::string &op, const Value &a, const Value &b) {
  if (op == "~")
    return Value(a.toString() + b.toString());
  if (a.isUndefined())
    undefinedError(a);
  if (b.isUndefined())
    undefinedError(b);
  const char *o = op.c_str();
  if (op == "+") {
    if (isNumeric(a) && isNumeric(b)) {
      if (isIntLike(a) && isIntLike(b))
        return Value(checkedInt('+', intOf(a), intOf(b)));
      return Value(doubleOf(a) + doubleOf(b));
    }
    if (a.isString() && b.isString())
      return Value(a.str() + b.str());
    if (a.isList() && b.isList()) {
      std::vector<Value> l = a.list();
      l.insert(l.end(), b.list().begin(), b.list().end());
      return Value(std::move(l));
    }
    fail(operandError(o, a, b));
  }
  if (op == "*") {
    if (isNumeric(a) && isNumeric(b)) {
      if (isIntLike(a) && isIntLike(b))
        return Value(checkedInt('*', intOf(a), intOf(b)));
      return Value(doubleOf(a) * doubleOf(b));
    }
    const Value *seq = a.isString() || a.isList() ? &a : &b;
    const Value *n = seq == &a ? &b : &a;
    if ((seq->isString() || seq->isList()) && isIntLike(*n)) {
      int64_t times = std::max<int64_t>(0, intOf(*n));
      size_t unit = seq->isString() ? seq->str().size() : seq->list().size();
      if (unit > 0 && times > int64_t(kMaxRepeat / unit))
        fail("repetition result larger than " + std::to_string(kMaxRepeat) +
             " elements");
      if (seq->isString()) {
        std::string s;
        for (int64_t i = 0; i < times; ++i)
          s += seq->str();
        return Value(std::move(s));
      }
      std::vector<Value> l;
      for (int64_t i = 0; i < times; ++i)
        l.insert(l.end(), seq->list().begin(), seq->list().end());
      return Value(std::move(l));
    }
    fail(operandError(o, a, b));
  }
  if (!isNumeric(a) || !isNumeric(b)) {
    if (op == "%" && a.isString())
      fail("printf-style string formatting ('%') is not supported");
    fail(operandError(o, a, b));
  }
  bool ints = isIntLike(a) && isIntLike(b);
  if (op == "-")
    return ints ? Value(checkedInt('-', intOf(a), intOf(b)))
                : Value(doubleOf(a) - doubleOf(b));
  if (op == "/") {
    if (doubleOf(b) == 0)
      fail("division by zero");
    return Value(doubleOf(a) / doubleOf(b));
  }
  if (op == "//" || op == "%") {
    if (doubleOf(b) == 0)
      fail(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
    if (ints) {
      int64_t x = intOf(a), y = intOf(b);
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {
        --q;
        r += y;
      }
      return op == "//" ? Value(q) : Value(r);
    }
    double x = doubleOf(a), y = doubleOf(b);
    double q = std::floor(x / y);
    return op == "//" ? Value(q) : Value(x - q * y);
  }
  if (op == "**") {
    if (ints && intOf(b) >= 0) {
      int64_t r = 1;
      for (int64_t i = 0; i < intOf(b) && r != 0; ++i) {
        r = checkedInt('*', r, intOf(a));
        if (r == 1 || r == -1)
          return Value(intOf(b) % 2 == 0 ? std::abs(r) : r);
      }
      return Value(r);
    }
    return Value(std::pow(doubleOf(a), doubleOf(b)));
  }
  fail("unknown operator " + op);
}

/// Python index normalisation for x[i].
bool normalizeIndex(int64_t &i, int64_t n) {
  if (i < 0)
    i += n;
  return i >= 0 && i < n;
}

Value sliceOf(const Value &v, const Value *start, const Value *stop,
              const Value *step) {
  auto asOptInt = [](const Value *x, const char *what) -> std::optional<int64_t> {
    if (!x || x->isNone() || x->isUndefined())
      return std::nullopt;
    if (!isIntLike(*x))
      fail(std::string("slice ") + what + " must be an integer, got " +
           x->typeName());
    return intOf(*x);
  };
  std::optional<int64_t> b = asOptInt(start, "start"),
                         e = asOptInt(stop, "stop"),
                         s = asOptInt(step, "step");
  int64_t st = s.value_or(1);
  if (st == 0)
    fail("slice step cannot be zero");
  std::vector<std::string> cs;
  int64_t n;
  if (v.isString()) {
    cs = chars(v.str());
    n = int64_t(cs.size());
  } else if (v.isList()) {
    n = int64_t(v.list().size());
  } else if (v.isUndefined()) {
    undefinedError(v);
  } else {
    fail("'" + v.typeName() + "' object is not subscriptable");
  }
  auto clamp = [&](std::optional<int64_t> x, int64_t def) {
    if (!x)
      return def;
    int64_t i = *x;
    if (i < 0)
      i += n;
    if (st > 0)
      return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  int64_t lo = clamp(b, st > 0 ? 0 : n - 1);
  int64_t hi = clamp(e, st > 0 ? n : -1);
  std::vector<int64_t> idx;
  for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st)
    idx.push_back(i);
  if (v.isString()) {
    std::string out;
    for (int64_t i : idx)
      out += cs[size_t(i)];
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i : idx)
    out.push_back(v.list()[size_t(i)]);
  return Value(std::move(out));
}

//===----------------------------------------------------------------------===//
// String helpers (Python str methods)
//===----------------------------------------------------------------------===//

/// str.strip / lstrip / rstrip; `chars` null: whitespace.
std::string pyStrip(const std::string &s, const Value *charsArg, bool left,
                    bool right) {
  std::vector<std::string> set;
  if (charsArg && !charsArg->isNone() && !charsArg->isUndefined()) {
    if (!charsArg->isString())
      fail("strip arg must be None or str");
    set = chars(charsArg->str());
  }
  auto strip = [&](std::string_view c) {
    if (set.empty() && !(charsArg && charsArg->isString())) {
      size_t i = 0;
      return isPythonSpace(nextCodePoint(c, i));
    }
    return std::find(set.begin(), set.end(), c) != set.end();
  };
  std::vector<std::string> cs = chars(s);
  size_t b = 0, e = cs.size();
  if (left)
    while (b < e && strip(cs[b]))
      ++b;
  if (right)
    while (e > b && strip(cs[e - 1]))
      --e;
  std::string out;
  for (size_t i = b; i < e; ++i)
    out += cs[i];
  return out;
}

std::vector<Value> pySplit(const std::string &s, const Value &sep,
                           int64_t maxsplit, bool fromRight) {
  std::vector<std::string> parts;
  if (sep.isNone() || sep.isUndefined()) {
    // Runs of whitespace separate; leading/trailing whitespace is ignored.
    std::vector<std::string> cs = chars(s);
    std::vector<std::pair<size_t, size_t>> words; // in chars
    size_t i = 0;
    while (i < cs.size()) {
      size_t k = 0;
      while (i < cs.size() && isPythonSpace(nextCodePoint(cs[i], k = 0)))
        ++i;
      if (i >= cs.size())
        break;
      size_t b = i;
      while (i < cs.size() && !isPythonSpace(nextCodePoint(cs[i], k = 0)))
        ++i;
      words.emplace_back(b, i);
    }
    auto join = [&](size_t b, size_t e) {
      std::string w;
      for (size_t k = b; k < e; ++k)
        w += cs[k];
      return w;
    };
    if (maxsplit < 0 || size_t(maxsplit) >= words.size()) {
      for (auto [b, e] : words)
        parts.push_back(join(b, e));
    } else if (!fromRight) {
      for (int64_t k = 0; k < maxsplit; ++k)
        parts.push_back(join(words[k].first, words[k].second));
      size_t rest = words[maxsplit].first;
      // The remainder keeps its inner and trailing whitespace, minus
      // nothing: Python strips only the leading part.
      std::string r = join(rest, cs.size());
      parts.push_back(r);
    } else {
      size_t n = words.size();
      std::vector<std::string> tail;
      for (int64_t k = 0; k < maxsplit; ++k)
        tail.push_back(join(words[n - 1 - k].first, words[n - 1 - k].second));
      parts.push_back(join(0, words[n - 1 - maxsplit].second));
      parts.front() = pyStrip(parts.front(), nullptr, true, false);
      for (auto it = tail.rbegin(); it != tail.rend(); ++it)
        parts.push_back(*it);
    }
  } else {
    if (!sep.isString())
      fail("must be str or None, not " + sep.typeName());
    const std::string &d = sep.str();
    if (d.empty())
      fail("empty separator");
    std::vector<size_t> cuts;
    for (size_t p = s.find(d); p != std::string::npos; p = s.find(d, p + d.size()))
      cuts.push_back(p);
    if (maxsplit >= 0 && size_t(maxsplit) < cuts.size()) {
      if (fromRight)
        cuts.erase(cuts.begin(), cuts.end() - maxsplit);
      else
        cuts.resize(size_t(maxsplit));
    }
    size_t prev = 0;
    for (size_t c : cuts) {
      parts.push_back(s.substr(prev, c - prev));
      prev = c + d.size();
    }
    parts.push_back(s.substr(prev));
  }
  std::vector<Value> out;
  for (std::string &p : parts)
    out.push_back(Value(std::move(p)));
  return out;
}

std::string pyReplace(const std::string &s, const std::string &from,
                      const std::string &to, int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between characters (and at both ends).
    std::vector<std::string> cs = chars(s);
    int64_t n = 0;
    for (size_t i = 0; i <= cs.size(); ++i) {
      if (count < 0 || n < count) {
        out += to;
        ++n;
      }
      if (i < cs.size())
        out += cs[i];
    }
    return out;
  }
  size_t prev = 0;
  int64_t n = 0;
  for (size_t p = s.find(from); p != std::string::npos && (count < 0 || n < count);
       p = s.find(from, p + from.size()), ++n) {
    out.append(s, prev, p - prev);
    out += to;
    prev = p + from.size();
  }
  out.append(s, prev, std::string::npos);
  return out;
}

std::string capitalize(const std::string &s) {
  std::vector<std::string> cs = chars(s);
  if (cs.empty())
    return s;
  std::string rest;
  for (size_t i = 1; i < cs.size(); ++i)
    rest += cs[i];
  return toUpper(cs[0]) + toLower(rest);
}

/// jinja2's title filter / str.title(): words start after a non-letter.
std::string titleCase(const std::string &s) {
  std::string out;
  bool prevCased = false;
  for (const std::string &c : chars(s)) {
    size_t k = 0;
    uint32_t cp = nextCodePoint(c, k);
    bool cased = isWordChar(cp) && !(cp >= '0' && cp <= '9');
    out += cased ? (prevCased ? toLower(c) : toUpper(c)) : c;
    prevCased = cased;
  }
  return out;
}

bool startsOrEnds(const std::string &s, const Value &arg, bool ends) {
  auto test = [&](const Value &p) {
    if (!p.isString())
      fail(std::string(ends ? "endswith" : "startswith") +
           " first arg must be str or a tuple of str, not " + p.typeName());
    const std::string &x = p.str();
    if (x.size() > s.size())
      return false;
    return ends ? s.compare(s.size() - x.size(), x.size(), x) == 0
                : s.compare(0, x.size(), x) == 0;
  };
  if (arg.isList()) {
    for (const Value &p : arg.list())
      if (test(p))
        return true;
    return false;
  }
  return test(arg);
}

/// str.format with {} / {0} / {name} fields (no format specs).
std::string pyFormat(const std::string &fmt, Args &args) {
  std::string out;
  size_t auto_ = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out.push_back('}');
      ++i;
    } else if (c == '{') {
      size_t close = fmt.find('}', i);
      if (close == std::string::npos)
        fail("Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!.[") != std::string::npos)
        fail("format specifications in str.format are not supported");
      const Value *v = nullptr;
      if (field.empty()) {
        if (auto_ >= args.positional.size())
          fail("Replacement index " + std::to_string(auto_) +
               " out of range for positional args tuple");
        v = &args.positional[auto_++];
      } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
        size_t k = std::stoul(field);
        if (k >= args.positional.size())
          fail("Replacement index " + field +
               " out of range for positional args tuple");
        v = &args.positional[k];
      } else {
        for (auto &[k, val] : args.keyword)
          if (k == field)
            v = &val;
        if (!v)
          fail("KeyError: '" + field + "'");
      }
      out += v->toString();
      i = close;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::shared_ptr<Function> fn(std::string name, std::function<Value(Args &)> f) {
  auto p = std::make_shared<Function>();
  p->name = std::move(name);
  p->call = std::move(f);
  return p;
}

/// The methods of a string value (bound).
Value stringMethod(const std::string &s, const std::string &name) {
  auto bind = [&](std::function<Value(Args &)> f) {
    return Value(fn("str." + name, std::move(f)));
  };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool l = name != "rstrip", r = name != "lstrip";
    return bind([s, l, r, name](Args &a) {
      Binder b("str." + name, a, {"chars"});
      return Value(pyStrip(s, b.has(0) ? &b.get(0) : nullptr, l, r));
    });
  }
  if (name == "split" || name == "rsplit") {
    bool right = name == "rsplit";
    return bind([s, right, name](Args &a) {
      Binder b("str." + name, a, {"sep", "maxsplit"});
      Value m = b.get(1, Value(int64_t(-1)));
      if (!isIntLike(m))
        fail("maxsplit must be an integer");
      return Value(pySplit(s, b.get(0, Value::none()), intOf(m), right));
    });
  }
  if (name == "splitlines")
    return bind([s](Args &a) {
      Binder b("str.splitlines", a, {"keepends"});
      bool keep = b.get(0, Value(false)).truthy();
      std::vector<Value> out;
      size_t start = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || s[i] == '\r') {
          size_t end = i;
          if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')
            ++i;
          out.push_back(Value(s.substr(start, (keep ? i + 1 : end) - start)));
          start = i + 1;
        }
      }
      if (start < s.size())
        out.push_back(Value(s.substr(start)));
      return Value(std::move(out));
    });
  if (name == "startswith" || name == "endswith") {
    bool ends = name == "endswith";
    return bind([s, ends, name](Args &a) {
      Binder b("str." + name, a, {"prefix"});
      return Value(startsOrEnds(s, b.required(0), ends));
    });
  }
  if (name == "upper")
    return bind([s](Args &) { return Value(toUpper(s)); });
  if (name == "lower")
    return bind([s](Args &) { return Value(toLower(s)); });
  if (name == "title")
    return bind([s](Args &) { return Value(titleCase(s)); });
  if (name == "capitalize")
    return bind([s](Args &) { return Value(capitalize(s)); });
  if (name == "replace")
    return bind([s](Args &a) {
      Binder b("str.replace", a, {"old", "new", "count"});
      const Value &o = b.required(0), &n = b.required(1);
      if (!o.isString() || !n.isString())
        fail("replace() arguments must be str");
      Value c = b.get(2, Value(int64_t(-1)));
      return Value(pyReplace(s, o.str(), n.str(), intOf(c)));
    });
  if (name == "find" || name == "rfind" || name == "index" || name == "count") {
    return bind([s, name](Args &a) {
      Binder b("str." + name, a, {"sub"});
      const Value &sub = b.required(0);
      if (!sub.isString())
        fail("must be str, not " + sub.typeName());
      auto cpIndex = [&](size_t byte) {
        return int64_t(codePointCount(std::string_view(s).substr(0, byte)));
      };
      if (name == "count") {
        if (sub.str().empty())
          return Value(int64_t(codePointCount(s) + 1));
        int64_t n = 0;
        for (size_t p = s.find(sub.str()); p != std::string::npos;
             p = s.find(sub.str(), p + sub.str().size()))
          ++n;
        return Value(n);
      }
      size_t p = name == "rfind" ? s.rfind(sub.str()) : s.find(sub.str());
      if (p == std::string::npos) {
        if (name == "index")
          fail("substring not found");
        return Value(int64_t(-1));
      }
      return Value(cpIndex(p));
    });
  }
  if (name == "join")
    return bind([s](Args &a) {
      Binder b("str.join", a, {"iterable"});
      std::string out;
      bool first = true;
      for (const Value &v : iterate(b.required(0))) {
        if (!v.isString())
          fail("sequence item: expected str instance, " + v.typeName() +
               " found");
        if (!first)
          out += s;
        out += v.str();
        first = false;
      }
      return Value(std::move(out));
    });
  if (name == "format")
    return bind([s](Args &a) { return Value(pyFormat(s, a)); });
  auto predicate = [&](auto test) {
    return bind([s, test](Args &) {
      if (s.empty())
        return Value(false);
      for (size_t i = 0; i < s.size();)
        if (!test(nextCodePoint(s, i)))
          return Value(false);
      return Value(true);
    });
  };
  if (name == "isdigit")
    return predicate([](uint32_t c) { return c >= '0' && c <= '9'; });
  if (name == "isspace")
    return predicate(isPythonSpace);
  if (name == "isalpha")
    return predicate([](uint32_t c) {
      return isWordChar(c) && !(c >= '0' && c <= '9') && c != '_';
    });
  if (name == "isalnum")
    return predicate([](uint32_t c) { return isWordChar(c) && c != '_'; });
  if (name == "islower")
    return bind([s](Args &) { return Value(toLower(s) == s && toUpper(s) != s); });
  if (name == "isupper")
    return bind([s](Args &) { return Value(toUpper(s) == s && toLower(s) != s); });
  return Value::undefined(name);
}

Value dictMethod(const std::shared_ptr<Dict> &d, const std::string &name) {
  if (d->isNamespace)
    return Value::undefined(name);
  if (name == "items")
    return Value(fn("dict.items", [d](Args &) {
      std::vector<Value> out;
      for (const auto &[k, v] : d->entries)
        out.push_back(Value(std::vector<Value>{Value(k), v}));
      return Value(std::move(out));
    }));
  if (name == "keys")
    return Value(fn("dict.keys", [d](Args &) {
      std::vector<Value> out;
      for (const auto &e : d->entries)
        out.push_back(Value(e.first));
      return Value(std::move(out));
    }));
  if (name == "values")
    return Value(fn("dict.values", [d](Args &) {
      std::vector<Value> out;
      for (const auto &e : d->entries)
        out.push_back(e.second);
      return Value(std::move(out));
    }));
  if (name == "get")
    return Value(fn("dict.get", [d](Args &a) {
      Binder b("dict.get", a, {"key", "default"});
      const Value &k = b.required(0);
      const Value *v = k.isString() ? d->find(k.str()) : nullptr;
      return v ? *v : b.get(1, Value::none());
    }));
  return Value::undefined(name);
}

Value listMethod(const std::shared_ptr<std::vector<Value>> &l,
                 const std::string &name) {
  if (name == "index" || name == "count")
    return Value(fn("list." + name, [l, name](Args &a) {
      Binder b("list." + name, a, {"value"});
      const Value &x = b.required(0);
      int64_t n = 0;
      for (size_t i = 0; i < l->size(); ++i) {
        if (pyEquals((*l)[i], x)) {
          if (name == "index")
            return Value(int64_t(i));
          ++n;
        }
      }
      if (name == "index")
        fail(x.repr() + " is not in list");
      return Value(n);
    }));
  return Value::undefined(name);
}

/// x.name: a method first, then a key (jinja2's getattr).
Value getAttr(const Value &obj, const std::string &name) {
  switch (obj.kind()) {
  case Value::Kind::Dict: {
    Value m = dictMethod(obj.dictPtr(), name);
    if (!m.isUndefined())
      return m;
    if (const Value *v = obj.dict().find(name))
      return *v;
    return Value::undefined(name);
  }
  case Value::Kind::String:
    return stringMethod(obj.str(), name);
  case Value::Kind::List:
    return listMethod(obj.listPtr(), name);
  case Value::Kind::Undefined:
    undefinedError(obj);
  default:
    return Value::undefined(name);
  }
}

/// x[key]: a key or index first, then an attribute (jinja2's getitem).
Value getItem(const Value &obj, const Value &key) {
  switch (obj.kind()) {
  case Value::Kind::Dict:
    if (key.isString()) {
      if (const Value *v = obj.dict().find(key.str()))
        return *v;
      return Value::undefined(key.str());
    }
    return Value::undefined(key.toString());
  case Value::Kind::List:
  case Value::Kind::String: {
    if (key.isString())
      return getAttr(obj, key.str());
    if (!isIntLike(key))
      fail(std::string(obj.isList() ? "list" : "string") +
           " indices must be integers, not " + key.typeName());
    int64_t i = intOf(key);
    if (obj.isList()) {
      if (!normalizeIndex(i, int64_t(obj.list().size())))
        return Value::undefined("[" + std::to_string(intOf(key)) + "]");
      return obj.list()[size_t(i)];
    }
    std::vector<std::string> cs = chars(obj.str());
    if (!normalizeIndex(i, int64_t(cs.size())))
      return Value::undefined("[" + std::to_string(intOf(key)) + "]");
    return Value(cs[size_t(i)]);
  }
  case Value::Kind::Undefined:
    undefinedError(obj);
  default:
    return Value::undefined(key.toString());
  }
}

std::string htmlEscape(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&#34;"; break;
    case '\'': out += "&#39;"; break;
    default: out.push_back(c);
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Tests
//===----------------------------------------------------------------------===//

using TestFn = std::function<bool(const Value &, Args &)>;

const std::map<std::string, TestFn> &tests() {
  static const std::map<std::string, TestFn> t = [] {
    std::map<std::string, TestFn> m;
    auto noArgs = [](bool (*f)(const Value &)) {
      return TestFn([f](const Value &v, Args &) { return f(v); });
    };
    m["defined"] = noArgs([](const Value &v) { return !v.isUndefined(); });
    m["undefined"] = noArgs([](const Value &v) { return v.isUndefined(); });
    m["none"] = noArgs([](const Value &v) { return v.isNone(); });
    m["boolean"] = noArgs(
        [](const Value &v) { return v.kind() == Value::Kind::Bool; });
    m["true"] = noArgs([](const Value &v) {
      return v.kind() == Value::Kind::Bool && v.asBool();
    });
    m["false"] = noArgs([](const Value &v) {
      return v.kind() == Value::Kind::Bool && !v.asBool();
    });
    m["integer"] = noArgs(
        [](const Value &v) { return v.kind() == Value::Kind::Int; });
    m["float"] = noArgs(
        [](const Value &v) { return v.kind() == Value::Kind::Float; });
    m["number"] = noArgs([](const Value &v) { return isNumeric(v); });
    m["string"] = noArgs([](const Value &v) { return v.isString(); });
    m["mapping"] = noArgs(
        [](const Value &v) { return v.isDict() && !v.dict().isNamespace; });
    m["iterable"] = noArgs([](const Value &v) {
      return v.isString() || v.isList() || v.isUndefined() ||
             (v.isDict() && !v.dict().isNamespace);
    });
    m["sequence"] = noArgs([](const Value &v) {
      return v.isString() || v.isList() || v.isUndefined() ||
             (v.isDict() && !v.dict().isNamespace);
    });
    m["callable"] = noArgs(
        [](const Value &v) { return v.kind() == Value::Kind::Function; });
    m["lower"] = noArgs([](const Value &v) {
      return v.isString() && toLower(v.str()) == v.str() &&
             toUpper(v.str()) != v.str();
    });
    m["upper"] = noArgs([](const Value &v) {
      return v.isString() && toUpper(v.str()) == v.str() &&
             toLower(v.str()) != v.str();
    });
    auto intTest = [](const Value &v, const char *name) {
      if (!isIntLike(v))
        fail(std::string("the '") + name + "' test needs an integer, got " +
             v.typeName());
      return intOf(v);
    };
    m["odd"] = [intTest](const Value &v, Args &) {
      return intTest(v, "odd") % 2 != 0;
    };
    m["even"] = [intTest](const Value &v, Args &) {
      return intTest(v, "even") % 2 == 0;
    };
    m["divisibleby"] = [intTest](const Value &v, Args &a) {
      Binder b("divisibleby", a, {"num"});
      int64_t n = intTest(b.required(0), "divisibleby");
      if (n == 0)
        fail("divisibleby 0");
      return intTest(v, "divisibleby") % n == 0;
    };
    auto cmp = [](const char *name, bool (*f)(int)) {
      return TestFn([name, f](const Value &v, Args &a) {
        Binder b(name, a, {"other"});
        return f(pyCompare(v, b.required(0), name));
      });
    };
    TestFn eq = [](const Value &v, Args &a) {
      Binder b("eq", a, {"other"});
      return pyEquals(v, b.required(0));
    };
    m["eq"] = m["equalto"] = m["=="] = eq;
    m["ne"] = m["!="] = [eq](const Value &v, Args &a) { return !eq(v, a); };
    m["lt"] = m["lessthan"] = m["<"] = cmp("<", [](int c) { return c < 0; });
    m["le"] = m["<="] = cmp("<=", [](int c) { return c <= 0; });
    m["gt"] = m["greaterthan"] = m[">"] = cmp(">", [](int c) { return c > 0; });
    m["ge"] = m[">="] = cmp(">=", [](int c) { return c >= 0; });
    m["in"] = [](const Value &v, Args &a) {
      Binder b("in", a, {"seq"});
      return pyContains(b.required(0), v);
    };
    m["sameas"] = [](const Value &v, Args &a) {
      Binder b("sameas", a, {"other"});
      const Value &o = b.required(0);
      if (v.kind() != o.kind())
        return false;
      if (v.isNone() || v.isUndefined())
        return true;
      if (v.kind() == Value::Kind::Bool)
        return v.asBool() == o.asBool();
      if (v.isList())
        return v.listPtr() == o.listPtr();
      if (v.isDict())
        return v.dictPtr() == o.dictPtr();
      return pyEquals(v, o);
    };
    return m;
  }();
  return t;
}

bool runTest(const std::string &name, const Value &v, Args &args) {
  auto it = tests().find(name);
  if (it == tests().end())
    fail("no test named '" + name + "'");
  return it->second(v, args);
}

//===----------------------------------------------------------------------===//
// Filters
//===----------------------------------------------------------------------===//

using FilterFn = std::function<Value(const Value &, Args &)>;
const std::map<std::string, FilterFn> &filters();

Value runFilter(const std::string &name, const Value &v, Args &args) {
  auto it = filters().find(name);
  if (it == filters().end())
    fail("no filter named '" + name + "'");
  return it->second(v, args);
}

/// Follows a dotted attribute path ("a.b", or an index "0").
Value attributePath(const Value &v, const std::string &path) {
  Value cur = v;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot - start);
    if (!part.empty() && std::all_of(part.begin(), part.end(), ::isdigit))
      cur = getItem(cur, Value(int64_t(std::stoll(part))));
    else
      cur = cur.isUndefined() ? cur : getItem(cur, Value(part));
    if (dot == std::string::npos)
      return cur;
    start = dot + 1;
  }
}

/// Arguments after the first `skip` positional ones, as a new Args.
Args restArgs(const Args &a, size_t skip) {
  Args r;
  for (size_t i = skip; i < a.positional.size(); ++i)
    r.positional.push_back(a.positional[i]);
  r.keyword = a.keyword;
  return r;
}

Value selectOrReject(const Value &v, Args &a, bool attr, bool keep) {
  std::vector<Value> out;
  size_t base = attr ? 1 : 0;
  std::string attrName;
  if (attr) {
    if (a.positional.empty() || !a.positional[0].isString())
      fail("selectattr/rejectattr need an attribute name");
    attrName = a.positional[0].str();
  }
  std::string testName;
  if (a.positional.size() > base) {
    if (!a.positional[base].isString())
      fail("the test name must be a string");
    testName = a.positional[base].str();
  }
  Args testArgs = restArgs(a, base + 1);
  for (const Value &item : iterate(v)) {
    Value x = attr ? attributePath(item, attrName) : item;
    bool ok = testName.empty() ? x.truthy() : runTest(testName, x, testArgs);
    if (ok == keep)
      out.push_back(item);
  }
  return Value(std::move(out));
}

const std::map<std::string, FilterFn> &filters() {
  static const std::map<std::string, FilterFn> f = [] {
    std::map<std::string, FilterFn> m;
    m["trim"] = [](const Value &v, Args &a) {
      Binder b("trim", a, {"chars"});
      return Value(pyStrip(v.toString(), b.has(0) ? &b.get(0) : nullptr, true,
                           true));
    };
    m["upper"] = [](const Value &v, Args &) { return Value(toUpper(v.toString())); };
    m["lower"] = [](const Value &v, Args &) { return Value(toLower(v.toString())); };
    m["capitalize"] = [](const Value &v, Args &) {
      return Value(capitalize(v.toString()));
    };
    m["title"] = [](const Value &v, Args &) { return Value(titleCase(v.toString())); };
    m["length"] = m["count"] = [](const Value &v, Args &) {
      return Value(pyLen(v));
    };
    m["string"] = [](const Value &v, Args &) { return Value(v.toString()); };
    m["safe"] = [](const Value &v, Args &) { return v; };
    m["escape"] = m["e"] = [](const Value &v, Args &) {
      return Value(htmlEscape(v.toString()));
    };
    m["default"] = m["d"] = [](const Value &v, Args &a) {
      Binder b("default", a, {"default_value", "boolean"});
      bool boolean = b.get(1, Value(false)).truthy();
      if (v.isUndefined() || (boolean && !v.truthy()))
        return b.get(0, Value(std::string()));
      return v;
    };
    m["join"] = [](const Value &v, Args &a) {
      Binder b("join", a, {"d", "attribute"});
      std::string sep = b.get(0, Value(std::string())).toString();
      std::string out;
      bool first = true;
      for (const Value &item : iterate(v)) {
        Value x = b.has(1) ? attributePath(item, b.get(1).toString()) : item;
        if (!first)
          out += sep;
        out += x.toString();
        first = false;
      }
      return Value(std::move(out));
    };
    m["first"] = [](const Value &v, Args &) {
      std::vector<Value> items = iterate(v);
      return items.empty() ? Value::undefined("first") : items.front();
    };
    m["last"] = [](const Value &v, Args &) {
      std::vector<Value> items = iterate(v);
      return items.empty() ? Value::undefined("last") : items.back();
    };
    m["list"] = [](const Value &v, Args &) { return Value(iterate(v)); };
    m["reverse"] = [](const Value &v, Args &) {
      if (v.isString()) {
        std::vector<std::string> cs = chars(v.str());
        std::string out;
        for (auto it = cs.rbegin(); it != cs.rend(); ++it)
          out += *it;
        return Value(std::move(out));
      }
      std::vector<Value> items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value(std::move(items));
    };
    m["items"] = [](const Value &v, Args &) {
      if (v.isUndefined())
        return Value(std::vector<Value>());
      if (!v.isDict())
        fail("the 'items' filter needs a mapping, got " + v.typeName());
      std::vector<Value> out;
      for (const auto &[k, x] : v.dict().entries)
        out.push_back(Value(std::vector<Value>{Value(k), x}));
      return Value(std::move(out));
    };
    m["tojson"] = [](const Value &v, Args &a) {
      Binder b("tojson", a, {"indent"});
      Value ind = b.get(0, Value::none());
      int indent = -1;
      if (!ind.isNone()) {
        if (!isIntLike(ind))
          fail("tojson indent must be an integer");
        indent = int(std::max<int64_t>(0, intOf(ind)));
      }
      return Value(toJson(v, indent));
    };
    m["int"] = [](const Value &v, Args &a) {
      Binder b("int", a, {"default", "base"});
      Value def = b.get(0, Value(int64_t(0)));
      int base = int(intOf(b.get(1, Value(int64_t(10)))));
      if (isIntLike(v))
        return Value(intOf(v));
      if (v.kind() == Value::Kind::Float)
        return Value(int64_t(v.asDouble()));
      if (v.isString()) {
        std::string s = pyStrip(v.str(), nullptr, true, true);
        char *end = nullptr;
        errno = 0;
        long long x = std::strtoll(s.c_str(), &end, base);
        if (!s.empty() && end && *end == 0 && errno == 0)
          return Value(int64_t(x));
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end && *end == 0)
          return Value(int64_t(d));
      }
      return def;
    };
    m["float"] = [](const Value &v, Args &a) {
      Binder b("float", a, {"default"});
      if (isNumeric(v))
        return Value(doubleOf(v));
      if (v.isString()) {
        std::string s = pyStrip(v.str(), nullptr, true, true);
        char *end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end && *end == 0)
          return Value(d);
      }
      return b.get(0, Value(0.0));
    };
    m["abs"] = [](const Value &v, Args &) {
      if (isIntLike(v)) {
        if (intOf(v) == INT64_MIN)
          fail("integer overflow");
        return Value(std::abs(intOf(v)));
      }
      if (v.kind() == Value::Kind::Float)
        return Value(std::fabs(v.asDouble()));
      fail("bad operand type for abs(): '" + v.typeName() + "'");
    };
    m["round"] = [](const Value &v, Args &a) {
      Binder b("round", a, {"precision", "method"});
      int64_t p = intOf(b.get(0, Value(int64_t(0))));
      std::string method = b.get(1, Value("common")).toString();
      if (!isNumeric(v))
        fail("round needs a number, got " + v.typeName());
      double x = doubleOf(v), scale = std::pow(10.0, double(p));
      double r = method == "ceil"    ? std::ceil(x * scale)
                 : method == "floor" ? std::floor(x * scale)
                                     : std::round(x * scale);
      return Value(r / scale);
    };
    m["replace"] = [](const Value &v, Args &a) {
      Binder b("replace", a, {"old", "new", "count"});
      Value c = b.get(2, Value::none());
      return Value(pyReplace(v.toString(), b.required(0).toString(),
                             b.required(1).toString(),
                             c.isNone() ? -1 : intOf(c)));
    };
    m["indent"] = [](const Value &v, Args &a) {
      Binder b("indent", a, {"width", "first", "blank"});
      Value w = b.get(0, Value(int64_t(4)));
      std::string pad = w.isString() ? w.str() : std::string(size_t(intOf(w)), ' ');
      bool first = b.get(1, Value(false)).truthy();
      bool blank = b.get(2, Value(false)).truthy();
      std::string s = v.toString(), out;
      size_t start = 0;
      bool firstLine = true;
      while (start <= s.size()) {
        size_t nl = s.find('\n', start);
        std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        bool indentIt = firstLine ? first : (blank || !line.empty());
        if (indentIt)
          out += pad;
        out += line;
        if (nl == std::string::npos)
          break;
        out += "\n";
        start = nl + 1;
        firstLine = false;
      }
      return Value(std::move(out));
    };
    m["map"] = [](const Value &v, Args &a) {
      std::vector<Value> out;
      std::string attr;
      Value def;
      bool haveDefault = false;
      for (auto &[k, x] : a.keyword) {
        if (k == "attribute")
          attr = x.toString();
        else if (k == "default") {
          def = x;
          haveDefault = true;
        } else if (a.positional.empty()) {
          fail("map() got an unexpected keyword argument '" + k + "'");
        }
      }
      if (!attr.empty()) {
        for (const Value &item : iterate(v)) {
          Value x = attributePath(item, attr);
          out.push_back(x.isUndefined() && haveDefault ? def : x);
        }
        return Value(std::move(out));
      }
      if (a.positional.empty() || !a.positional[0].isString())
        fail("map needs a filter name or attribute=");
      std::string filter = a.positional[0].str();
      Args fa = restArgs(a, 1);
      for (const Value &item : iterate(v))
        out.push_back(runFilter(filter, item, fa));
      return Value(std::move(out));
    };
    m["select"] = [](const Value &v, Args &a) {
      return selectOrReject(v, a, false, true);
    };
    m["reject"] = [](const Value &v, Args &a) {
      return selectOrReject(v, a, false, false);
    };
    m["selectattr"] = [](const Value &v, Args &a) {
      return selectOrReject(v, a, true, true);
    };
    m["rejectattr"] = [](const Value &v, Args &a) {
      return selectOrReject(v, a, true, false);
    };
    m["unique"] = [](const Value &v, Args &) {
      std::vector<Value> out;
      for (const Value &x : iterate(v)) {
        bool seen = false;
        for (const Value &y : out)
          seen |= pyEquals(x, y);
        if (!seen)
          out.push_back(x);
      }
      return Value(std::move(out));
    };
    m["sort"] = [](const Value &v, Args &a) {
      Binder b("sort", a, {"reverse", "case_sensitive", "attribute"});
      bool rev = b.get(0, Value(false)).truthy();
      bool cs = b.get(1, Value(false)).truthy();
      std::string attr = b.has(2) ? b.get(2).toString() : "";
      std::vector<Value> items = iterate(v);
      auto key = [&](const Value &x) {
        Value k = attr.empty() ? x : attributePath(x, attr);
        return k.isString() && !cs ? Value(toLower(k.str())) : k;
      };
      std::stable_sort(items.begin(), items.end(),
                       [&](const Value &x, const Value &y) {
                         int c = pyCompare(key(x), key(y), "<");
                         return rev ? c > 0 : c < 0;
                       });
      return Value(std::move(items));
    };
    m["sum"] = [](const Value &v, Args &a) {
      Binder b("sum", a, {"attribute", "start"});
      Value total = b.get(1, Value(int64_t(0)));
      for (const Value &x : iterate(v))
        total = binaryOp("+", total,
                         b.has(0) ? attributePath(x, b.get(0).toString()) : x);
      return total;
    };
    auto minmax = [](bool isMax) {
      return FilterFn([isMax](const Value &v, Args &) {
        std::vector<Value> items = iterate(v);
        if (items.empty())
          return Value::undefined(isMax ? "max" : "min");
        Value best = items[0];
        for (const Value &x : items) {
          int c = pyCompare(x, best, "<");
          if (isMax ? c > 0 : c < 0)
            best = x;
        }
        return best;
      });
    };
    m["min"] = minmax(false);
    m["max"] = minmax(true);
    m["wordcount"] = [](const Value &v, Args &) {
      return Value(int64_t(pySplit(v.toString(), Value::none(), -1, false).size()));
    };
    m["center"] = [](const Value &v, Args &a) {
      Binder b("center", a, {"width"});
      std::string s = v.toString();
      int64_t w = intOf(b.get(0, Value(int64_t(80))));
      int64_t n = int64_t(codePointCount(s));
      if (w <= n)
        return Value(s);
      int64_t left = (w - n) / 2 + ((w - n) % 2 & w % 2);
      return Value(std::string(size_t(left), ' ') + s +
                   std::string(size_t(w - n - left), ' '));
    };
    return m;
  }();
  return f;
}

//===----------------------------------------------------------------------===//
// Interpreter
//===----------------------------------------------------------------------===//

/// namespace(...) and dict(...): mappings and keyword arguments merged.
Value dictFromArgs(const char *name, Args &a, bool isNamespace) {
  auto d = std::make_shared<Dict>();
  d->isNamespace = isNamespace;
  for (const Value &v : a.positional) {
    if (!v.isDict())
      fail(std::string(name) + "() takes a mapping or keyword arguments");
    for (const auto &[k, x] : v.dict().entries)
      d->set(k, x);
  }
  for (auto &[k, v] : a.keyword)
    d->set(k, v);
  return Value(std::move(d));
}

struct Scope {
  std::shared_ptr<Scope> parent;
  std::unordered_map<std::string, Value> vars;

  const Value *lookup(const std::string &name) const {
    for (const Scope *s = this; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end())
        return &it->second;
    }
    return nullptr;
  }
};
using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { Normal, Break, Continue };

class Interpreter {
public:
  explicit Interpreter(const Program &p) : program_(p) {}

  /// Namespaces are the only mutable values, so the only way to a
  /// reference cycle (`set ns.me = ns`); they are emptied when the render
  /// ends so shared_ptr can free everything.
  ~Interpreter() {
    for (const std::shared_ptr<Dict> &d : namespaces_)
      d->entries.clear();
  }

  std::string run(const Value &vars) {
    auto globals = std::make_shared<Scope>();
    installGlobals(*globals);
    auto root = std::make_shared<Scope>();
    root->parent = globals;
    if (vars.isDict())
      for (const auto &[k, v] : vars.dict().entries)
        root->vars[k] = v;
    std::string out;
    exec(program_.body, root, out);
    return out;
  }

private:
  const Program &program_;
  int depth_ = 0;
  std::vector<std::shared_ptr<Dict>> namespaces_;

  void installGlobals(Scope &g) {
    g.vars["range"] = Value(fn("range", [](Args &a) {
      if (!a.keyword.empty())
        fail("range() takes no keyword arguments");
      std::vector<int64_t> p;
      for (const Value &v : a.positional) {
        if (!isIntLike(v))
          fail("range() needs integers, got " + v.typeName());
        p.push_back(intOf(v));
      }
      if (p.empty() || p.size() > 3)
        fail("range expected 1 to 3 arguments, got " + std::to_string(p.size()));
      int64_t start = p.size() > 1 ? p[0] : 0, stop = p.size() > 1 ? p[1] : p[0];
      int64_t step = p.size() > 2 ? p[2] : 1;
      if (step == 0)
        fail("range() arg 3 must not be zero");
      std::vector<Value> out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (out.size() >= 10'000'000)
          fail("range() too large");
        out.push_back(Value(i));
      }
      return Value(std::move(out));
    }));
    g.vars["namespace"] = Value(fn("namespace", [this](Args &a) {
      Value ns = dictFromArgs("namespace", a, true);
      namespaces_.push_back(ns.dictPtr());
      return ns;
    }));
    g.vars["dict"] = Value(fn("dict", [](Args &a) {
      return dictFromArgs("dict", a, false);
    }));
    g.vars["raise_exception"] = Value(fn("raise_exception", [](Args &a) -> Value {
      Binder b("raise_exception", a, {"message"});
      throw RaisedError(b.get(0, Value("")).toString());
    }));
    g.vars["strftime_now"] = Value(fn("strftime_now", [](Args &a) {
      Binder b("strftime_now", a, {"format"});
      std::time_t t = std::time(nullptr);
      std::tm tm{};
      localtime_r(&t, &tm);
      char buf[256];
      size_t n = std::strftime(buf, sizeof(buf), b.required(0).toString().c_str(), &tm);
      return Value(std::string(buf, n));
    }));
  }

  Value lookup(const ScopePtr &scope, const std::string &name) {
    if (const Value *v = scope->lookup(name))
      return *v;
    return Value::undefined(name);
  }

  //===--- Statements ---------------------------------------------------===//

  Flow exec(const Body &body, const ScopePtr &scope, std::string &out) {
    for (const Stmt &s : body) {
      Flow f = execOne(s, scope, out);
      if (f != Flow::Normal)
        return f;
    }
    return Flow::Normal;
  }

  Flow execOne(const Stmt &s, const ScopePtr &scope, std::string &out) {
    switch (s.kind) {
    case StmtKind::Text:
      out += s.text;
      return Flow::Normal;
    case StmtKind::Print:
      out += eval(*s.expr, scope).toString();
      return Flow::Normal;
    case StmtKind::If:
      for (const auto &[cond, body] : s.branches)
        if (eval(*cond, scope).truthy())
          return exec(body, scope, out);
      return exec(s.elseBody, scope, out);
    case StmtKind::For:
      return execFor(s, scope, out);
    case StmtKind::Set: {
      Value v = eval(*s.expr, scope);
      if (!s.attr.empty()) {
        Value target = lookup(scope, s.targets[0]);
        if (!target.isDict() || !target.dict().isNamespace)
          throw TemplateError(s.pos, "cannot assign attribute '" + s.attr +
                                         "' of '" + s.targets[0] +
                                         "': not a namespace() object");
        target.dict().set(s.attr, std::move(v));
        return Flow::Normal;
      }
      assign(s, s.targets, v, *scope);
      return Flow::Normal;
    }
    case StmtKind::SetBlock: {
      std::string captured;
      exec(s.body, scope, captured);
      scope->vars[s.targets[0]] = Value(std::move(captured));
      return Flow::Normal;
    }
    case StmtKind::Macro:
      scope->vars[s.text] = makeMacro(s, scope);
      return Flow::Normal;
    case StmtKind::FilterBlock: {
      std::string captured;
      exec(s.body, scope, captured);
      out += applyFilterChain(*s.filter, Value(std::move(captured)), scope)
                 .toString();
      return Flow::Normal;
    }
    case StmtKind::Break:
      return Flow::Break;
    case StmtKind::Continue:
      return Flow::Continue;
    }
    return Flow::Normal;
  }

  void assign(const Stmt &s, const std::vector<std::string> &targets,
              const Value &v, Scope &scope) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = v;
      return;
    }
    std::vector<Value> items;
    try {
      items = iterate(v);
    } catch (const EvalError &e) {
      throw TemplateError(s.pos, e.what());
    }
    if (items.size() != targets.size())
      throw TemplateError(s.pos, "cannot unpack " + std::to_string(items.size()) +
                                     " values into " +
                                     std::to_string(targets.size()) + " names");
    for (size_t i = 0; i < targets.size(); ++i)
      scope.vars[targets[i]] = items[i];
  }

  Flow execFor(const Stmt &s, const ScopePtr &scope, std::string &out) {
    Value seq = eval(*s.expr, scope);
    std::vector<Value> items;
    try {
      if (seq.isNone())
        fail("'NoneType' object is not iterable");
      items = iterate(seq);
    } catch (const EvalError &e) {
      throw TemplateError(s.expr->pos, e.what());
    }
    if (s.cond) {
      // `for x in xs if cond`: the condition sees the loop variables, and
      // loop.length counts only the items it keeps.
      std::vector<Value> kept;
      for (const Value &item : items) {
        auto probe = std::make_shared<Scope>();
        probe->parent = scope;
        assign(s, s.targets, item, *probe);
        if (eval(*s.cond, probe).truthy())
          kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty())
      return exec(s.elseBody, scope, out);
    int64_t n = int64_t(items.size());
    for (int64_t i = 0; i < n; ++i) {
      auto iter = std::make_shared<Scope>();
      iter->parent = scope;
      assign(s, s.targets, items[size_t(i)], *iter);
      auto loop = std::make_shared<Dict>();
      loop->isNamespace = false;
      loop->set("index", Value(i + 1));
      loop->set("index0", Value(i));
      loop->set("revindex", Value(n - i));
      loop->set("revindex0", Value(n - i - 1));
      loop->set("first", Value(i == 0));
      loop->set("last", Value(i == n - 1));
      loop->set("length", Value(n));
      loop->set("depth", Value(int64_t(1)));
      loop->set("depth0", Value(int64_t(0)));
      loop->set("previtem", i > 0 ? items[size_t(i - 1)] : Value::undefined("previtem"));
      loop->set("nextitem", i + 1 < n ? items[size_t(i + 1)] : Value::undefined("nextitem"));
      loop->set("cycle", Value(fn("loop.cycle", [i](Args &a) {
        if (a.positional.empty())
          fail("loop.cycle() needs at least one argument");
        return a.positional[size_t(i) % a.positional.size()];
      })));
      iter->vars["loop"] = Value(std::move(loop));
      Flow f = exec(s.body, iter, out);
      if (f == Flow::Break)
        break;
    }
    return Flow::Normal;
  }

  Value makeMacro(const Stmt &s, const ScopePtr &defScope) {
    const Stmt *m = &s;
    // A weak reference: the macro is stored in the scope it closes over.
    std::weak_ptr<Scope> weakScope = defScope;
    return Value(fn(s.text, [this, m, weakScope](Args &a) {
      auto scope = std::make_shared<Scope>();
      scope->parent = weakScope.lock();
      if (!scope->parent)
        fail("macro '" + m->text + "' called after the block defining it ended");
      size_t np = m->params.size();
      if (a.positional.size() > np)
        fail("macro '" + m->text + "' takes " + std::to_string(np) +
             " arguments, got " + std::to_string(a.positional.size()));
      std::vector<bool> set(np, false);
      for (size_t i = 0; i < a.positional.size(); ++i) {
        scope->vars[m->params[i].first] = a.positional[i];
        set[i] = true;
      }
      for (auto &[k, v] : a.keyword) {
        size_t i = 0;
        while (i < np && m->params[i].first != k)
          ++i;
        if (i == np)
          fail("macro '" + m->text + "' has no parameter '" + k + "'");
        scope->vars[k] = v;
        set[i] = true;
      }
      for (size_t i = 0; i < np; ++i) {
        if (set[i])
          continue;
        scope->vars[m->params[i].first] =
            m->params[i].second ? eval(*m->params[i].second, scope)
                                : Value::undefined(m->params[i].first);
      }
      std::string out;
      if (++depth_ > 100)
        fail("macro recursion deeper than 100 calls");
      exec(m->body, scope, out);
      --depth_;
      return Value(std::move(out));
    }));
  }

  //===--- Expressions --------------------------------------------------===//

  Args evalArgs(const Expr &e, size_t first, const ScopePtr &scope) {
    Args a;
    for (size_t i = first; i < e.kids.size(); ++i)
      a.positional.push_back(eval(*e.kids[i], scope));
    for (const auto &[k, x] : e.kwargs)
      a.keyword.emplace_back(k, eval(*x, scope));
    return a;
  }

  /// Applies a filter chain whose innermost operand is null (filter blocks).
  Value applyFilterChain(const Expr &f, Value operand, const ScopePtr &scope) {
    if (f.kids[0])
      operand = applyFilterChain(*f.kids[0], std::move(operand), scope);
    Args a = evalArgs(f, 1, scope);
    try {
      return runFilter(f.name, operand, a);
    } catch (const EvalError &err) {
      throw TemplateError(f.pos, err.what());
    }
  }

  Value eval(const Expr &e, const ScopePtr &scope) {
    try {
      return evalNode(e, scope);
    } catch (const EvalError &err) {
      throw TemplateError(e.pos, err.what());
    } catch (const RaisedError &err) {
      throw TemplateError(e.pos, std::string("raise_exception: ") + err.what());
    }
  }

  Value evalNode(const Expr &e, const ScopePtr &scope) {
    switch (e.kind) {
    case ExprKind::Literal:
      return e.literal;
    case ExprKind::Name:
      return lookup(scope, e.name);
    case ExprKind::GetAttr:
      return getAttr(eval(*e.kids[0], scope), e.name);
    case ExprKind::GetItem:
      return getItem(eval(*e.kids[0], scope), eval(*e.kids[1], scope));
    case ExprKind::Slice: {
      Value v = eval(*e.kids[0], scope);
      Value parts[3];
      for (int i = 0; i < 3; ++i)
        if (e.kids[size_t(i) + 1])
          parts[i] = eval(*e.kids[size_t(i) + 1], scope);
      return sliceOf(v, e.kids[1] ? &parts[0] : nullptr,
                     e.kids[2] ? &parts[1] : nullptr,
                     e.kids[3] ? &parts[2] : nullptr);
    }
    case ExprKind::Call: {
      Value callee = eval(*e.kids[0], scope);
      Args a = evalArgs(e, 1, scope);
      if (callee.kind() != Value::Kind::Function) {
        if (callee.isUndefined())
          undefinedError(callee);
        fail("'" + callee.typeName() + "' object is not callable");
      }
      return callee.function()->call(a);
    }
    case ExprKind::Filter: {
      Value v = eval(*e.kids[0], scope);
      Args a = evalArgs(e, 1, scope);
      return runFilter(e.name, v, a);
    }
    case ExprKind::Test: {
      Value v = eval(*e.kids[0], scope);
      Args a = evalArgs(e, 1, scope);
      bool r = runTest(e.name, v, a);
      return Value(e.negated ? !r : r);
    }
    case ExprKind::Unary: {
      Value v = eval(*e.kids[0], scope);
      if (e.name == "not")
        return Value(!v.truthy());
      if (v.isUndefined())
        undefinedError(v);
      if (!isNumeric(v))
        fail("bad operand type for unary " + e.name + ": '" + v.typeName() + "'");
      if (e.name == "+")
        return isIntLike(v) ? Value(intOf(v)) : v;
      if (isIntLike(v) && intOf(v) == INT64_MIN)
        fail("integer overflow");
      return isIntLike(v) ? Value(-intOf(v)) : Value(-v.asDouble());
    }
    case ExprKind::Binary: {
      Value l = eval(*e.kids[0], scope);
      if (e.name == "and")
        return l.truthy() ? eval(*e.kids[1], scope) : l;
      if (e.name == "or")
        return l.truthy() ? l : eval(*e.kids[1], scope);
      return binaryOp(e.name, l, eval(*e.kids[1], scope));
    }
    case ExprKind::Compare: {
      Value l = eval(*e.kids[0], scope);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value r = eval(*e.kids[i + 1], scope);
        const std::string &op = e.ops[i];
        bool ok;
        if (op == "==")
          ok = pyEquals(l, r);
        else if (op == "!=")
          ok = !pyEquals(l, r);
        else if (op == "in")
          ok = pyContains(r, l);
        else if (op == "not in")
          ok = !pyContains(r, l);
        else {
          int c = pyCompare(l, r, op.c_str());
          ok = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
        }
        if (!ok)
          return Value(false);
        l = std::move(r);
      }
      return Value(true);
    }
    case ExprKind::CondExpr:
      if (eval(*e.kids[0], scope).truthy())
        return eval(*e.kids[1], scope);
      return e.kids[2] ? eval(*e.kids[2], scope) : Value::undefined("");
    case ExprKind::ListLit:
    case ExprKind::TupleLit: {
      std::vector<Value> l;
      for (const auto &k : e.kids)
        l.push_back(eval(*k, scope));
      return Value(std::move(l));
    }
    case ExprKind::DictLit: {
      auto d = std::make_shared<Dict>();
      for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
        Value k = eval(*e.kids[i], scope);
        if (!k.isString())
          throw TemplateError(e.kids[i]->pos,
                              "only string keys are supported in dict "
                              "literals, got " + k.typeName());
        d->set(k.str(), eval(*e.kids[i + 1], scope));
      }
      return Value(std::move(d));
    }
    }
    return Value();
  }
};

//===----------------------------------------------------------------------===//
// Parse-time checks
//===----------------------------------------------------------------------===//

void checkExpr(const Expr *e) {
  if (!e)
    return;
  if (e->kind == ExprKind::Filter && !filters().count(e->name))
    throw TemplateError(e->pos, "unknown filter '" + e->name + "'");
  if (e->kind == ExprKind::Test && !tests().count(e->name))
    throw TemplateError(e->pos, "unknown test '" + e->name + "'");
  for (const auto &k : e->kids)
    checkExpr(k.get());
  for (const auto &[name, k] : e->kwargs)
    checkExpr(k.get());
}

void checkBody(const Body &body) {
  for (const Stmt &s : body) {
    checkExpr(s.expr.get());
    checkExpr(s.cond.get());
    checkExpr(s.filter.get());
    for (const auto &[cond, b] : s.branches) {
      checkExpr(cond.get());
      checkBody(b);
    }
    for (const auto &[name, def] : s.params)
      checkExpr(def.get());
    checkBody(s.body);
    checkBody(s.elseBody);
  }
}

std::string where(const std::string &name, Pos p) {
  return name + ": line " + std::to_string(p.line) + ", column " +
         std::to_string(p.column);
}

} // namespace

rt::Expected<Template> Template::parse(std::string_view source,
                                       std::string name) {
  try {
    std::shared_ptr<Program> p = parseTemplate(source, name);
    checkBody(p->body);
    Template t;
    t.program_ = std::move(p);
    return t;
  } catch (const TemplateError &e) {
    return rt::Expected<Template>::fromError(
        rt::Status::error(where(name, e.pos) + ": " + e.what()));
  }
}

rt::Expected<std::string> Template::render(const Value &vars) const {
  using Result = rt::Expected<std::string>;
  try {
    Interpreter interp(*program_);
    return interp.run(vars);
  } catch (const TemplateError &e) {
    return Result::fromError(rt::Status::error(
        where(program_->name, e.pos) + ": " + e.what()));
  } catch (const RaisedError &e) {
    return Result::fromError(rt::Status::error(
        program_->name + ": raise_exception: " + std::string(e.what())));
  } catch (const EvalError &e) {
    return Result::fromError(
        rt::Status::error(program_->name + ": " + std::string(e.what())));
  }
}

} // namespace llmc::text::jinja
