package chat

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestJinjaLikePython renders small templates whose expected output was
// produced by Python Jinja2 3.1 configured as transformers does
// (trim_blocks, lstrip_blocks, loopcontrols, its tojson, raise_exception
// and strftime_now at 2026-11-28 12:00:00). Rows marked "differs in the
// jinja library" are the library bugs this package works around.
func TestJinjaLikePython(t *testing.T) {
	tests := []struct {
		name, src, vars, want string
	}{
		{"trim and lstrip blocks", `  {% if true %}
    x
  {% endif %}
  y`, `{}`, `    x
  y`},
		{"explicit trim markers", `a  {%- if true -%}  b  {%- endif -%}  c`, `{}`, `abc`},
		// Differs in the jinja library: library keeps the final newline.
		{"one trailing newline dropped", `x

`, `{}`, `x
`},
		{"crlf normalized", "a\r\nb{% if true %}\r\nc{% endif %}", `{}`, `a
bc`},
		{"loop controls", `{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}`, `{"xs": [1, 2, 3, 4, 5]}`, `13`},
		{"loop variables", `{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}`, `{"xs": ["a", "b"]}`, `102TrueFalse2;211FalseTrue2;`},
		{"reverse slice and namespace", `{% set ns = namespace(n=0) %}{% for x in xs[::-1] %}{% set ns.n = ns.n + x %}{{ x }}{% endfor %}={{ ns.n }}`, `{"xs": [1, 2, 3]}`, `321=6`},
		{"tojson keeps key order", `{{ x|tojson }}`, `{"x": {"z": 1, "a": {"y": 2, "b": 3}}}`, `{"z": 1, "a": {"y": 2, "b": 3}}`},
		// Differs in the jinja library: library prints 1.0 as 1.
		{"tojson no html escaping, python floats", `{{ x|tojson }}`, `{"x": {"s": "<a&b> 深度 \"q\" \\ \n", "f": [1.0, 2.5, 1e+16, 1e-05, 0.0001, 100.0], "i": [1, -2], "b": [true, false, null]}}`, `{"s": "<a&b> 深度 \"q\" \\ \n", "f": [1.0, 2.5, 1e+16, 1e-05, 0.0001, 100.0], "i": [1, -2], "b": [true, false, null]}`},
		// Differs in the jinja library: library sorts keys and escapes <> with indent.
		{"tojson indent keeps key order", `{{ x|tojson(indent=4) }}`, `{"x": {"type": "function", "function": {"name": "f<>", "parameters": {"b": [], "a": {}}, "required": ["x", 1.5]}}}`, `{
    "type": "function",
    "function": {
        "name": "f<>",
        "parameters": {
            "b": [],
            "a": {}
        },
        "required": [
            "x",
            1.5
        ]
    }
}`},
		// Differs in the jinja library: library ignores ensure_ascii.
		{"tojson ensure_ascii", `{{ x|tojson(ensure_ascii=true) }}`, `{"x": "é😀"}`, `"\u00e9\ud83d\ude00"`},
		{"tojson separators and sort_keys", `{{ x|tojson(separators=(',', ':'), sort_keys=true) }}`, `{"x": {"b": [1, 2], "a": null}}`, `{"a":null,"b":[1,2]}`},
		// Differs in the jinja library: library prints None as empty, 3.0 as 3.
		{"none floats and containers print as python", `{{ x }}|{{ none }}|{{ f }}|{{ [1, 'a', none, true] }}|{{ {'k': 'it\'s'} }}|{{ 2|float }}`, `{"x": null, "f": 3.0}`, `None|None|3.0|[1, 'a', None, True]|{'k': "it's"}|2.0`},
		// Differs in the jinja library: library: 1.0 -> 1, None -> empty.
		{"string filter", `{{ x|string }}{{ none|string }}{{ 3|string }}`, `{"x": 1.0}`, `1.0None3`},
		// Differs in the jinja library: library also replaces none.
		{"default replaces only undefined", `{{ x|default('d') }}{{ none|default('d') }}{{ none|default('d', true) }}{{ ''|d('e', boolean=true) }}`, `{}`, `dNonede`},
		// Differs in the jinja library: library ignores maxsplit, has no rsplit.
		{"split with maxsplit", `{{ x.split('</think>', 1)[1] }}|{{ x.split('</think>')[-1].lstrip('\n') }}|{{ x.rsplit('</think>', 1)[0] }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(none, 1) }}`, `{"x": "a</think>\nb</think>\nc"}`, `
b</think>
c|c|a</think>
b|['a', 'b']|['a', 'b c']`},
		// Differs in the jinja library: library treats the tuple as one string.
		{"startswith endswith tuple", `{{ x.startswith(('q', 'a')) }}{{ x.endswith('c') }}{{ x.endswith(('q', 'z')) }}`, `{"x": "abc"}`, `TrueTrueFalse`},
		// Differs in the jinja library: library leaves the rest as is.
		{"capitalize", `{{ x.capitalize() }}`, `{"x": "hEllo World"}`, `Hello world`},
		// Differs in the jinja library: library panics (index out of range).
		{"selectattr with attribute only", `{{ xs|selectattr('x')|list|length }}{{ xs|rejectattr('x')|list|length }}{{ xs|selectattr('x', 'equalto', 1)|list|length }}`, `{"xs": [{"x": 1}, {"y": 2}, {"x": 0}]}`, `121`},
		// Differs in the jinja library: library uses the wall clock and lacks %-d, %j, %e.
		{"strftime_now", `{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%-d %B %Y %H:%M:%S %A %a %j %p %I %y %e %m %%') }}`, `{}`, `28 Nov 2026|28 November 2026 12:00:00 Saturday Sat 332 PM 12 26 28 11 %`},
		{"is tests", `{{ 'a' is string }}{{ 1 is string }}{{ 'a' is iterable }}{{ {'a':1} is mapping }}{{ d.k is none }}{{ d.q is defined }}{{ d.k is not none }}`, `{"d": {"k": null}}`, `TrueFalseTrueTrueTrueFalseFalse`},
		{"in operator and dict methods", `{{ 'b' in x }}{{ 'q' in x }}{{ 'at' in 'cat' }}{% for k, v in x.items() %}{{ k }}{{ v }}{% endfor %}{{ x.get('q', 'z') }}`, `{"x": {"b": 1, "a": 2}}`, `TrueFalseTrueb1a2z`},
		{"macro", `{% macro f(a, b='x') %}[{{ a }}{{ b }}]{% endmacro %}{{ f(1) }}{{ f(1, b=2) }}`, `{}`, `[1x][12]`},
		{"set block", `{% set x %}inner {{ 1 }}{% endset %}{{ x }}`, `{}`, `inner 1`},
		{"filters", `{{ ' a '|trim }}|{{ xs|join(', ') }}|{{ xs|length }}|{{ 'a\nb'|indent(2) }}|{{ xs|map(attribute='n')|list if false else xs|reverse|list }}`, `{"xs": [1, 2]}`, `a|1, 2|2|a
  b|[2, 1]`},
		{"string concatenation", `{{ 'a' + 'b' ~ 1 }}{{ 'ab' * 2 }}`, `{}`, `ab1abab`},
		// Differs in the jinja library: it decodes only \n, \t, \\ and quotes.
		{"string literal escapes", `{{ "a\
b\x41\u00e9\U0001F600\101\q\'" }}|{{ 'tab\tq\'' }}`, `{}`, "abAé😀A\\q'|tab\tq'"},
		// Differs in the jinja library: its trim_blocks reaches past {{ x }}.
		{"newline after expression kept", `{% for x in xs %}{{ x }}
{% endfor %}`, `{"xs": [1, 2]}`, "1\n2\n"},
		// Differs in the jinja library: it trims the text after the next tag.
		{"right trim stops at the next tag", `{{ 'a' -}}{{ 'b' }}  c`, `{}`, `ab  c`},
		// Differs in the jinja library: it ignores "+".
		{"plus disables lstrip", "a\n  {%+ if true %}b{% endif %}", `{}`, "a\n  b"},
		{"comments and raw", "a\n  {# c #}\nb{% raw %} {{ x }} {% endraw %}c", `{}`, "a\nb {{ x }} c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := NewTemplate(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			var vars map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.vars), &vars); err != nil {
				t.Fatal(err)
			}
			in := Input{Vars: map[string]any{}, Now: fixedNow}
			for k, v := range vars {
				in.Vars[k] = v
			}
			got, err := tmpl.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
