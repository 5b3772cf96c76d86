package chat

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzSplits streams output under a few random splits derived from seed
// and fails t unless each equals the one-shot result, which it returns.
func fuzzSplits(t *testing.T, opts OutputOptions, output string, seed uint64) result {
	want := stream(t, opts, []string{output})
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range 4 {
		pieces := randomSplit(rng, output, i%2 == 0)
		if diff := cmp.Diff(want, stream(t, opts, pieces)); diff != "" {
			t.Fatalf("split %q differs from one-shot (-one-shot +streamed):\n%s", pieces, diff)
		}
	}
	return want
}

func FuzzReasoningParser(f *testing.F) {
	for _, s := range []string{
		"<think>\na\n</think>\n\nb", "a</think>b", "  <think></think>", "<thi", "<think>a</thi", "深度</think>求索",
		"<think><think></think></think>", "\n", "",
	} {
		f.Add(s, false, uint64(1))
		f.Add(s, true, uint64(2))
	}
	f.Fuzz(func(t *testing.T, output string, startsOpen bool, seed uint64) {
		opts := OutputOptions{Reasoning: true, ReasoningStartsOpen: startsOpen}
		got := fuzzSplits(t, opts, output, seed)
		if len(got.Reasoning)+len(got.Content) > len(output) {
			t.Fatalf("released %d bytes from %d", len(got.Reasoning)+len(got.Content), len(output))
		}
		if strings.Contains(output, "<") {
			return
		}
		want := result{Delta: Delta{Content: output}}
		if startsOpen {
			want = result{Delta: Delta{Reasoning: strings.Trim(output, asciiSpace)}, Truncated: true}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("output without tags (-want +got):\n%s", diff)
		}
	})
}

func FuzzToolCallParser(f *testing.F) {
	for _, s := range []string{
		"<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>",
		"x <tool_call>{\"name\": \"f\", \"arguments\": \"{}\"}</tool_call>\n<tool_call>{}</tool_call> y",
		"<tool_call>{\"name\": \"f\", \"arguments\": {",
		"<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{\"a\": 1}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>g<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
		"<｜tool▁call▁begin｜>f<｜tool▁sep｜>{\"a\": <｜tool▁call▁end｜>tail", "<｜tool▁calls▁begin｜>  <｜tool▁calls▁end｜>",
		"<tool_ca", "<｜tool▁", "plain text",
		"<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n<parameter=b>\n{\"x\": [1]}\n</parameter>\n</function>\n</tool_call>",
		"a\n\n<tool_call>\n<function=f>\n<parameter=c>\nTrue\n<parameter=d>-1.5e3</function>\n</tool_call><tool_call><function=g></tool_call>",
		"<tool_call>\n<function=f>\n<parameter=e>\n[1,\n</parameter>\n<parameter=s>\n<b>&amp;</b>\n</parameter>\n</function>",
	} {
		f.Add(s, uint8(1), uint64(1))
		f.Add(s, uint8(2), uint64(2))
		f.Add(s, uint8(3), uint64(3))
	}
	defs := []json.RawMessage{[]byte(`{"type": "function", "function": {"name": "f", "parameters": {"properties": {
		"a": {"type": "integer"}, "b": {"type": "object"}, "c": {"type": "boolean"}, "d": {"type": "number"}, "e": {"type": ["array", "null"]}, "s": {"type": "string"}}}}}`)}
	f.Fuzz(func(t *testing.T, output string, format uint8, seed uint64) {
		opts := OutputOptions{Tools: ToolFormat(format % 4), ToolDefs: defs}
		got := fuzzSplits(t, opts, output, seed)
		ids := map[string]bool{}
		for _, c := range got.ToolCalls {
			if c.Function.Name == "" || c.Type != "function" || ids[c.ID] {
				t.Fatalf("bad call %+v", c)
			}
			ids[c.ID] = true
			if !strings.HasPrefix(c.Function.Arguments, "{") || !json.Valid([]byte(c.Function.Arguments)) {
				t.Fatalf("call %+v: arguments are not a JSON object", c)
			}
		}
		if !strings.Contains(output, "<") {
			if diff := cmp.Diff(result{Delta: Delta{Content: output}}, got); diff != "" {
				t.Fatalf("output without markers (-want +got):\n%s", diff)
			}
		}
	})
}

// FuzzTemplate compiles and renders arbitrary template sources: errors are
// fine, panics and hangs are not.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		qwenLike, Fallback, "{{ x -}} {%- if a %}{%+ endif +%}", "{% raw %}{{ {% endraw %}", "{{ 'a\\", "{# x", "{{ \"}}\" }}",
		"{{ x.split('a', 1)|selectattr('q')|tojson(indent=2) }}", "{%- for m in messages -%}{{ m.content|default('d') }}{% endfor %}",
		"{{ '\\u12' ~ \"\\x4\" ~ '\\777' }}", "{% set x %}{{ 1 }}{% endset %}{{ x|string }}",
	} {
		f.Add(s)
	}
	in := Input{
		RawMessages:         []byte(`[{"role": "user", "content": "hi"}, {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "{\"a\": 1}"}}]}]`),
		Tools:               []json.RawMessage{[]byte(`{"type": "function", "function": {"name": "f"}}`)},
		AddGenerationPrompt: true,
		Now:                 fixedNow,
	}
	f.Fuzz(func(t *testing.T, src string) {
		if strings.Contains(src, "range") || strings.Contains(src, "*") {
			return // loops and repetition can be made arbitrarily long
		}
		tmpl, err := NewTemplate(src)
		if err != nil {
			return
		}
		tmpl.Render(in)
	})
}
