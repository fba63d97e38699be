//===- JinjaTest.cpp - the Jinja interpreter and chat templates -----------===//
//
// Each construct real chat templates use, against the output Python's jinja2
// gives with trim_blocks and lstrip_blocks (transformers' settings), and the
// errors: unsupported constructs with their line and column, a template's
// raise_exception message.
//
//===----------------------------------------------------------------------===//

#include "runtime/text/ChatTemplate.h"
#include "runtime/text/Jinja.h"

#include <gtest/gtest.h>

using namespace llmc;
using namespace llmc::text;

namespace {

/// Renders `src` with the JSON object `vars`; "ERROR: message" on failure.
std::string render(const std::string &src, const std::string &vars = "{}") {
  auto t = jinja::Template::parse(src, "t");
  if (!t)
    return "ERROR: " + t.status().message();
  auto v = jinja::Value::fromJson(vars);
  EXPECT_TRUE(v) << v.status().message();
  auto out = t->render(*v);
  return out ? *out : "ERROR: " + out.status().message();
}

TEST(JinjaTest, ForLoopVariablesAndElse) {
  EXPECT_EQ(render("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ x }}"
                   "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}"
                   "{{ loop.length }}{{ loop.revindex }},{% endfor %}",
                   R"({"xs": ["a", "b"]})"),
            "10aF22,21bL21,");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in xs if x > 1 %}{{ x }}/{{ loop.length }} {% endfor %}",
                   R"({"xs": [1, 2, 3]})"),
            "2/2 3/2 ");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
                   R"({"d": {"b": 1, "a": 2}})"),
            "b=1;a=2;");
  EXPECT_EQ(render("{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}"
                   "{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
                   R"({"xs": [1, 2, 3, 4, 5]})"),
            "13");
  EXPECT_EQ(render("{% for c in 'ab' %}{{ c }}.{% endfor %}"), "a.b.");
  EXPECT_EQ(render("{% for i in range(3) %}{{ i }}{{ loop.cycle('x', 'y') }}{% endfor %}"),
            "0x1y2x");
}

TEST(JinjaTest, IfElifElse) {
  const char *t = "{% if n > 2 %}big{% elif n == 2 %}two{% else %}small{% endif %}";
  EXPECT_EQ(render(t, R"({"n": 3})"), "big");
  EXPECT_EQ(render(t, R"({"n": 2})"), "two");
  EXPECT_EQ(render(t, R"({"n": 1})"), "small");
}

TEST(JinjaTest, SetScopesAndNamespaces) {
  // Assignments in a loop body stay in it (one scope per iteration).
  EXPECT_EQ(render("{% set c = 0 %}{% for x in [1, 2] %}{% set c = c + x %}{{ c }}"
                   "{% endfor %}|{{ c }}"),
            "12|0");
  EXPECT_EQ(render("{% set ns = namespace(c=0) %}{% for x in [1, 2] %}"
                   "{% set ns.c = ns.c + x %}{% endfor %}{{ ns.c }}"),
            "3");
  EXPECT_EQ(render("{% if true %}{% set y = 'in' %}{% endif %}{{ y }}"), "in");
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{{ b }}{{ a }}"), "21");
  EXPECT_EQ(render("{% set block %}x{{ 1 + 1 }}{% endset %}[{{ block }}]"), "[x2]");
  EXPECT_EQ(render("{% set x = 1 %}{% set x.y = 2 %}"),
            "ERROR: t: line 1, column 16: cannot assign attribute 'y' of 'x': "
            "not a namespace() object");
}

TEST(JinjaTest, Macros) {
  EXPECT_EQ(render("{% macro m(a, b='B') %}<{{ a }}{{ b }}>{% endmacro %}"
                   "{{ m(1) }}{{ m(2, b='x') }}{{ m(b='y', a=3) }}"),
            "<1B><2x><3y>");
}

TEST(JinjaTest, Filters) {
  const char *vars = R"({"s": "  Hi There \n", "xs": [3, 1, 2],
    "ms": [{"role": "user", "n": 1}, {"role": "system", "n": 2}],
    "d": {"z": "é\"\n", "a": [1.5, null, true]}})";
  EXPECT_EQ(render("[{{ s | trim }}][{{ s|upper|trim }}][{{ s | lower | trim }}]", vars),
            "[Hi There][HI THERE][hi there]");
  EXPECT_EQ(render("{{ xs | length }}{{ 'héé' | length }}{{ xs|first }}{{ xs|last }}"
                   "{{ xs | join(',') }}{{ xs|reverse|join }}{{ xs|sort|join }}", vars),
            "3332"
            "3,1,2213123");
  EXPECT_EQ(render("{{ d | tojson }}", vars), R"({"z": "é\"\n", "a": [1.5, null, true]})");
  EXPECT_EQ(render("{{ xs | tojson(indent=2) }}", vars), "[\n  3,\n  1,\n  2\n]");
  EXPECT_EQ(render("{{ missing | default('dflt') }}{{ '' | default('e', true) }}", vars),
            "dflte");
  EXPECT_EQ(render("{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='n') "
                   "| list }}{{ ms | map(attribute='role') | join('+') }}",
                   vars),
            "[1]user+system");
  EXPECT_EQ(render("{% for k, v in d | items %}{{ k }}{% endfor %}", vars), "za");
  EXPECT_EQ(render("{{ '42' | int + 1 }}{{ 'x' | int }}{{ 3 | string ~ 'a' }}"
                   "{{ 2.5 | int }}{{ 'a-b' | replace('-', '+') }}{{ 'ab' | title }}",
                   vars),
            "4303a2a+bAb");
  EXPECT_EQ(render("{{ 'a\nb' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}"),
            "a\n  b|  a\n  b");
  EXPECT_EQ(render("{% filter upper %}abc{% endfilter %}"), "ABC");
}

TEST(JinjaTest, TestsAndOperators) {
  const char *vars = R"({"s": "x", "n": 3, "f": 1.0, "l": [1], "m": {"k": null}})";
  EXPECT_EQ(render("{{ s is string }}{{ n is number }}{{ l is iterable }}"
                   "{{ m is mapping }}{{ m.k is none }}{{ m.q is defined }}"
                   "{{ nope is undefined }}{{ s is not string }}{{ n is odd }}"
                   "{{ n is divisibleby 3 }}{{ f is float }}",
                   vars),
            "TrueTrueTrueTrueTrueFalseTrueFalseTrueTrueTrue");
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} "
                   "{{ 1 / 2 }} {{ 2 ** 10 }} {{ 'a' ~ 1 ~ none }} {{ 1 < 2 < 3 }} "
                   "{{ 'b' in 'abc' }} {{ 4 not in [1, 2] }} {{ not 0 and 1 or 2 }}"),
            "7 3 -4 1 2 0.5 1024 a1None True True True 1");
  EXPECT_EQ(render("{{ 'abc'[::-1] }}{{ [1,2,3][1:] }}{{ 'héllo'[1:3] }}{{ [1,2,3][-1] }}"
                   "{{ 'x' if false }}{{ 'y' if false else 'z' }}"),
            "cba[2, 3]él3z");
  EXPECT_EQ(render("{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ true }} {{ none }} "
                   "{{ [1, 'a', none] }} {{ {'a': 1} }}"),
            "1.0 0.30000000000000004 1e+20 True None [1, 'a', None] {'a': 1}");
}

TEST(JinjaTest, StringAndDictMethods) {
  EXPECT_EQ(render("{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\na'.lstrip('\n') }}"
                   "|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a<t>b'.split('<t>')[-1] }}"
                   "|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}"
                   "|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'aXa'.replace('a', 'b') }}"
                   "|{{ '{} and {name}'.format(1, name='n') }}|{{ '-'.join(['a', 'b']) }}"),
            "a b|a|a|['a', 'b', '', 'c']|['a', 'b']|b|TrueTrue|HIhi|bXb|1 and n|a-b");
  EXPECT_EQ(render("{{ d.get('a') }}{{ d.get('z', 'dz') }}{{ d['a'] }}{{ d.a }}"
                   "{{ d.keys() | list }}{{ d.values() | list }}",
                   R"({"d": {"a": 1, "b": 2}})"),
            "1dz11['a', 'b'][1, 2]");
}

TEST(JinjaTest, WhitespaceControlTrimAndLstripBlocks) {
  // trim_blocks drops the newline after a block tag; lstrip_blocks the
  // indentation before one; {{ }} keeps both.
  EXPECT_EQ(render("{% if true %}\n  a\n  {% endif %}\nb\n"), "  a\nb");
  EXPECT_EQ(render("x  {%- if true -%}  y  {%- endif -%}  z"), "xyz");
  EXPECT_EQ(render("a {{- ' b ' -}} c"), "a b c");
  EXPECT_EQ(render("  {{ 'v' }}\n"), "  v");
  EXPECT_EQ(render("a\n  {# comment #}\nb"), "a\nb");
  EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(render("{% raw %}{{ not evaluated }}{% endraw %}"), "{{ not evaluated }}");
  EXPECT_EQ(render("a\r\nb"), "a\nb");
}

TEST(JinjaTest, ErrorsNameLineAndColumn) {
  EXPECT_EQ(render("ok\n  {% include 'x' %}"),
            "ERROR: t: line 2, column 3: unsupported tag 'include' (supported: "
            "if, for, set, macro, filter, raw, break, continue, generation)");
  EXPECT_EQ(render("{{ x | nofilter }}"), "ERROR: t: line 1, column 8: unknown filter 'nofilter'");
  EXPECT_EQ(render("{{ x is notatest }}"), "ERROR: t: line 1, column 6: unknown test 'notatest'");
  EXPECT_EQ(render("{% for x in y %}"),
            "ERROR: t: line 1, column 1: unexpected end of template: expected 'else' or 'endfor'");
  EXPECT_EQ(render("{% endif %}"),
            "ERROR: t: line 1, column 1: unexpected 'endif': no open block it could close");
  EXPECT_EQ(render("{{ 1 + }}"), "ERROR: t: line 1, column 8: expected an expression, found the end of the tag");
  EXPECT_EQ(render("{{ a.b.c }}"), "ERROR: t: line 1, column 5: 'a' is undefined");
  EXPECT_EQ(render("{{ d.b.c }}", R"({"d": {}})"),
            "ERROR: t: line 1, column 7: 'b' is undefined");
  EXPECT_EQ(render("\n{{ 1 + 'a' }}"),
            "ERROR: t: line 2, column 6: unsupported operand type(s) for +: 'int' and 'str'");
  EXPECT_EQ(render("{{ 'x' in none }}"),
            "ERROR: t: line 1, column 4: argument of type 'NoneType' is not iterable");
  EXPECT_EQ(render("{{ raise_exception('Roles must alternate') }}"),
            "ERROR: t: line 1, column 19: raise_exception: Roles must alternate");
  EXPECT_EQ(render("{{ 'unterminated }}"), "ERROR: t: line 1, column 4: unterminated string literal");
}

TEST(JinjaTest, LimitsAreErrorsNotCrashes) {
  EXPECT_EQ(render("{{ 9223372036854775807 + 1 }}"),
            "ERROR: t: line 1, column 24: integer overflow");
  EXPECT_EQ(render("{{ 2 ** 64 }}"), "ERROR: t: line 1, column 6: integer overflow");
  EXPECT_EQ(render("{{ 'ab' * 100000000 }}"),
            "ERROR: t: line 1, column 9: repetition result larger than 67108864 elements");
  std::string deep(300, '(');
  EXPECT_NE(render("{{ " + deep + "1" + std::string(300, ')') + " }}")
                .find("nested more than 200 levels"),
            std::string::npos);
  std::string json = "{\"x\": " + std::string(300, '[') + std::string(300, ']') + "}";
  EXPECT_NE(jinja::Value::fromJson(json).status().message().find("nested deeper"),
            std::string::npos);
  // A namespace that holds itself cannot recurse forever through tojson.
  EXPECT_NE(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}")
                .find("nested deeper than 256 levels"),
            std::string::npos);
}

TEST(ChatTemplateTest, RendersWithSpecialTokensAndVariables) {
  SpecialTokens sp;
  sp.bos = "<s>";
  sp.eos = "</s>";
  auto t = ChatTemplate::fromSource(
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]"
      "{% endfor %}{% if add_generation_prompt %}[assistant:{% endif %}"
      "{% if tools is defined %}{{ tools | length }}{% endif %}",
      "inline", sp);
  ASSERT_TRUE(t) << t.status().message();
  auto r = t->render(R"([{"role": "user", "content": "hi"}])", true);
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(*r, "<s>[user:hi][assistant:");
  auto c = t->renderConversation(
      R"({"messages": [{"role": "user", "content": "x"}], "tools": [1, 2]})", false);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(*c, "<s>[user:x]2");
  auto bad = t->render(R"([{"content": "no role"}])", true);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().message(), "messages[0]: field 'role' must be a string");
  auto badJson = t->render("[{", true);
  ASSERT_FALSE(badJson);
  EXPECT_NE(badJson.status().message().find("messages: not valid JSON"), std::string::npos);
}

TEST(ChatTemplateTest, ConfigFormsAndErrors) {
  auto named = ChatTemplate::fromConfigJson(
      R"({"chat_template": [{"name": "default", "template": "D"},
                            {"name": "tool_use", "template": "T"}]})",
      "cfg.json", "tool_use");
  ASSERT_TRUE(named) << named.status().message();
  EXPECT_EQ(named->source(), "T");
  auto missing = ChatTemplate::fromConfigJson(R"({"bos_token": "<s>"})", "cfg.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("cfg.json: field 'chat_template' is missing"),
            std::string::npos);
  auto broken = ChatTemplate::fromConfigJson(
      R"({"chat_template": "{% for m in messages %}"})", "cfg.json");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.status().message().find("cfg.json (chat_template): line 1, column 1"),
            std::string::npos)
      << broken.status().message();
}

} // namespace
