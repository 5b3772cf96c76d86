package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// qwenLike is a tiny template in the style of Qwen2.5's: tools and tool-call
// arguments go through tojson.
const qwenLike = `{%- if tools %}{% for t in tools %}{{ t | tojson }}
{% endfor %}{% endif %}
{%- for m in messages %}<{{ m.role }}>{{ m.content }}
{%- for tc in m.tool_calls %}[{{ tc.function.name }} {{ tc.function.arguments | tojson }}]{% endfor %}
{%- endfor %}
{%- if add_generation_prompt %}<assistant>{% endif %}`

func mustTemplate(t *testing.T, src string) *Template {
	t.Helper()
	tmpl, err := NewTemplate(src)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestRenderTypedAndRawMessages(t *testing.T) {
	tmpl := mustTemplate(t, qwenLike)
	tool := json.RawMessage(`{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}`)
	typed := Input{
		Messages: []Message{
			{Role: "user", Content: "hi"},
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Function: ToolCallFunction{Name: "f", Arguments: `{"z":"深","a":[1,2.0]}`}}}},
		},
		Tools:               []json.RawMessage{tool},
		AddGenerationPrompt: true,
	}
	raw := typed
	raw.Messages = nil
	raw.RawMessages = json.RawMessage(`[{"role": "user", "content": "hi"},
		{"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
		 "function": {"name": "f", "arguments": {"z": "深", "a": [1, 2.0]}}}]}]`)
	want := `{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}
<user>hi<assistant>[f {"z": "深", "a": [1, 2.0]}]<assistant>`
	for name, in := range map[string]Input{"typed": typed, "raw": raw} {
		got, err := tmpl.Render(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	// The OpenAI wire form (arguments as a string) is decoded too, unless
	// KeepArgumentStrings.
	wire := raw
	wire.RawMessages = json.RawMessage(`[{"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "{\"b\": 1, \"a\": 2}"}}]}]`)
	wire.Tools = nil
	wire.AddGenerationPrompt = false
	got, err := tmpl.Render(wire)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<assistant>None[f {"b": 1, "a": 2}]`; got != want {
		t.Errorf("wire form: got %q, want %q", got, want)
	}
	wire.KeepArgumentStrings = true
	got, err = tmpl.Render(wire)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<assistant>None[f "{\"b\": 1, \"a\": 2}"]`; got != want {
		t.Errorf("KeepArgumentStrings: got %q, want %q", got, want)
	}
}

func TestRenderVariables(t *testing.T) {
	src := `{{ bos_token is defined }}{{ bos_token }}|{{ eos_token }}|{{ tools is none }}{{ tools|length if tools is not none }}|` +
		`{{ messages[0].reasoning_content is defined }}{{ 'tool_calls' in messages[0] }}{{ messages[0].name is defined }}|` +
		`{{ enable_thinking }}|{{ add_generation_prompt }}|{{ strftime_now('%Y-%m-%d') }}`
	tmpl := mustTemplate(t, src)
	clock := func() time.Time { return time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC) }
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"zero", Input{Messages: []Message{{Role: "user"}}, Now: clock},
			"False||True|FalseFalseFalse||False|2025-02-03"},
		{"tokens tools vars", Input{
			Messages: []Message{{Role: "assistant", ReasoningContent: "r", ToolCalls: []ToolCall{{}}, Name: "n"}},
			BOS:      "<s>", EOS: "</s>", Tools: []json.RawMessage{}, AddGenerationPrompt: true,
			Vars: map[string]any{"enable_thinking": false}, Now: clock},
			"True<s>|</s>|False0|TrueTrueTrue|False|True|2025-02-03"},
		{"vars override", Input{
			Messages: []Message{{Role: "user"}}, BOS: "<s>",
			Vars: map[string]any{"bos_token": "[B]", "enable_thinking": json.RawMessage(`{"b": 1, "a": [true]}`)}, Now: clock},
			"True[B]||True|FalseFalseFalse|{'b': 1, 'a': [True]}|False|2025-02-03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tmpl.Render(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name, src string
		in        Input
		wantErr   string
	}{
		{"raise_exception", `{{ raise_exception('Conversation roles must alternate') }}`, Input{}, "template raised: Conversation roles must alternate"},
		{"raise in branch", `{% if messages|length == 0 %}{{ raise_exception('no messages') }}{% endif %}`, Input{}, "no messages"},
		{"messages not an array", `x`, Input{RawMessages: json.RawMessage(`{"role": "user"}`)}, "messages: want a JSON array, got dict"},
		{"message not an object", `x`, Input{RawMessages: json.RawMessage(`[{"role": "user"}, 3]`)}, "messages[1]: want an object, got int"},
		{"bad messages JSON", `x`, Input{RawMessages: json.RawMessage(`[{"role": }]`)}, "messages:"},
		{"trailing JSON", `x`, Input{RawMessages: json.RawMessage(`[] []`)}, "messages: trailing data"},
		{"bad tool JSON", `x`, Input{Tools: []json.RawMessage{json.RawMessage(`{}`), json.RawMessage(`{"a"`)}}, "tools[1]:"},
		{"unsupported variable", `x`, Input{Vars: map[string]any{"when": struct{}{}}}, "variable when: unsupported type struct {}"},
		{"tojson of undefined", `{{ nothing | tojson }}`, Input{}, "Undefined is not JSON serializable"},
		{"split on a list", `{{ [1].split(',') }}`, Input{}, "'list' object has no attribute 'split'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustTemplate(t, tt.src).Render(tt.in)
			if err == nil {
				t.Fatalf("no error, rendered %q", got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "chat: ") {
				t.Errorf("error %q, want it to start with \"chat: \" and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, src := range []string{"{% if x %}unclosed", "{{ x ", "{% for %}{% endfor %}", "{{ a b }}", "{% endif %}"} {
		if _, err := NewTemplate(src); err == nil {
			t.Errorf("NewTemplate(%q): no error", src)
		} else if !strings.HasPrefix(err.Error(), "chat: compile template: ") {
			t.Errorf("NewTemplate(%q): error %q lacks context", src, err)
		}
	}
}

func TestFallback(t *testing.T) {
	for _, src := range []string{"", " \n\t"} {
		tmpl, err := ForModel(src)
		if err != nil {
			t.Fatal(err)
		}
		if !tmpl.IsFallback() || tmpl.Name() != DefaultTemplateName || tmpl.Source() != Fallback {
			t.Fatalf("ForModel(%q): fallback=%v name=%q", src, tmpl.IsFallback(), tmpl.Name())
		}
		got, err := tmpl.Render(Input{
			RawMessages: json.RawMessage(`[{"role": "system", "content": "S"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}]},
				{"role": "assistant", "content": null}]`),
			AddGenerationPrompt: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
	tmpl, err := ForModel("{{ 'own' }}")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.IsFallback() || tmpl.Name() == DefaultTemplateName {
		t.Error("a model's own template reported as the fallback")
	}
}

func TestStrftimeNowDefaultsToWallClock(t *testing.T) {
	got, err := mustTemplate(t, `{{ strftime_now('%Y') }}`).Render(Input{})
	if err != nil {
		t.Fatal(err)
	}
	if y := time.Now().Year(); got != time.Now().Format("2006") && got != time.Date(y-1, 1, 1, 0, 0, 0, 0, time.Local).Format("2006") {
		t.Errorf("strftime_now('%%Y') = %q, want this year", got)
	}
}

func TestStrftime(t *testing.T) {
	at := time.Date(2026, 1, 4, 9, 5, 7, 123456000, time.UTC) // a Sunday
	tests := []struct{ format, want string }{
		{"%Y-%m-%d %H:%M:%S.%f", "2026-01-04 09:05:07.123456"},
		{"%-d/%-m %e|%_d|%-H %I %l %p", "4/1  4| 4|9 09  9 AM"},
		{"%a %A %b %B %h %j %u %w %U %W %y %C", "Sun Sunday Jan January Jan 004 7 0 01 00 26 20"},
		{"%D %F %R %T %z %Z %% %Q %", "01/04/26 2026-01-04 09:05 09:05:07 +0000 UTC % %Q %"},
	}
	for _, tt := range tests {
		if got := strftime(tt.format, at); got != tt.want {
			t.Errorf("strftime(%q) = %q, want %q", tt.format, got, tt.want)
		}
	}
}

func TestPyFloatRepr(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {0.1, "0.1"}, {1e16, "1e+16"}, {1234567890123456, "1234567890123456.0"},
		{1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {1e100, "1e+100"}, {123456789012345678, "1.2345678901234568e+17"},
	}
	for _, tt := range tests {
		if got := pyFloatRepr(tt.f, true); got != tt.want {
			t.Errorf("pyFloatRepr(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}
