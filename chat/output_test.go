package chat

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// result is everything a parser produced for one output.
type result struct {
	Delta
	Truncated bool
}

// counterIDs returns an id generator giving call_1, call_2, ... so that
// streamed and one-shot runs can be compared.
func counterIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("call_%d", n) }
}

// stream feeds pieces to a fresh OutputParser and collects its deltas. It
// fails t if a delta is not valid UTF-8 while the pieces are.
func stream(t testing.TB, opts OutputOptions, pieces []string) result {
	opts.NewID = counterIDs()
	p := NewOutputParser(opts)
	var r result
	var reasoning, content strings.Builder
	add := func(d Delta) {
		reasoning.WriteString(d.Reasoning)
		content.WriteString(d.Content)
		r.Append(Delta{ToolCalls: d.ToolCalls, Warnings: d.Warnings})
	}
	validIn := true
	for _, s := range pieces {
		validIn = validIn && utf8.ValidString(s)
		d := p.Push(s)
		if validIn && !(utf8.ValidString(d.Content) && utf8.ValidString(d.Reasoning)) {
			t.Fatalf("delta %+v splits a UTF-8 character (pieces %q)", d, pieces)
		}
		add(d)
	}
	add(p.Flush())
	r.Reasoning, r.Content = reasoning.String(), content.String()
	r.Truncated = p.Truncated()
	if p.ToolCalls() != len(r.ToolCalls) {
		t.Fatalf("ToolCalls() = %d, released %d", p.ToolCalls(), len(r.ToolCalls))
	}
	return r
}

// splitAt cuts s at the given sorted byte offsets.
func splitAt(s string, cuts []int) []string {
	var pieces []string
	prev := 0
	for _, c := range cuts {
		pieces = append(pieces, s[prev:c])
		prev = c
	}
	return append(pieces, s[prev:])
}

// randomSplit cuts s into random pieces (often empty or one byte), at rune
// boundaries when runes is set.
func randomSplit(rng *rand.Rand, s string, runes bool) []string {
	var cuts []int
	for i := 1; i < len(s); i++ {
		if runes && !utf8.RuneStart(s[i]) {
			continue
		}
		if rng.IntN(4) == 0 {
			cuts = append(cuts, i)
			if rng.IntN(8) == 0 {
				cuts = append(cuts, i) // an empty piece
			}
		}
	}
	return splitAt(s, cuts)
}

// checkSplits asserts that every split of output streams to the one-shot
// result: at every single position, byte by byte, and at random places.
func checkSplits(t *testing.T, opts OutputOptions, output string) result {
	t.Helper()
	want := stream(t, opts, []string{output})
	check := func(pieces []string) {
		t.Helper()
		if diff := cmp.Diff(want, stream(t, opts, pieces)); diff != "" {
			t.Fatalf("split %q differs from one-shot (-one-shot +streamed):\n%s", pieces, diff)
		}
	}
	for i := 0; i <= len(output); i++ {
		check(splitAt(output, []int{i}))
	}
	bytes := make([]int, 0, len(output))
	for i := 1; i < len(output); i++ {
		bytes = append(bytes, i)
	}
	check(splitAt(output, bytes))
	rng := rand.New(rand.NewPCG(1, uint64(len(output))))
	for range 50 {
		check(randomSplit(rng, output, true))
		check(randomSplit(rng, output, false))
	}
	return want
}

func call(id, name, args string) ToolCall {
	return ToolCall{ID: id, Type: "function", Function: ToolCallFunction{Name: name, Arguments: args}}
}

func TestReasoningParser(t *testing.T) {
	r1 := OutputOptions{ReasoningStartsOpen: true}
	think := OutputOptions{Reasoning: true}
	tests := []struct {
		name   string
		opts   OutputOptions
		output string
		want   result
	}{
		{"qwen3 think block", think, "<think>\nLet me add.\n12+30=42\n</think>\n\nThe answer is 42.",
			result{Delta: Delta{Reasoning: "Let me add.\n12+30=42\n", Content: "The answer is 42."}}},
		{"r1 starts open", r1, "Let me add.\n</think>\n\n42", result{Delta: Delta{Reasoning: "Let me add.\n", Content: "42"}}},
		{"r1 repeats the open tag", r1, "<think>\nx</think>y", result{Delta: Delta{Reasoning: "x", Content: "y"}}},
		{"blanks before the tag: no reasoning", think, "\n \n<think>a</think>b", result{Delta: Delta{Content: "\n \n<think>a</think>b"}}},
		{"no reasoning", think, "\n\nHello <think> world </think> ", result{Delta: Delta{Content: "\n\nHello <think> world </think> "}}},
		{"close without open is text", think, "a</think>b", result{Delta: Delta{Content: "a</think>b"}}},
		{"empty reasoning (thinking off)", think, "<think>\n\n</think>\n\nHi", result{Delta: Delta{Content: "Hi"}}},
		{"never closed", think, "<think>\nstill thinking \n", result{Delta: Delta{Reasoning: "still thinking \n"}, Truncated: true}},
		{"r1 never closed", r1, "  thinking", result{Delta: Delta{Reasoning: "thinking"}, Truncated: true}},
		{"r1 empty output", r1, "", result{Truncated: true}},
		{"empty output", think, "", result{}},
		{"partial tags inside reasoning", think, "<think>a </thin b <think> c</think>d </think>",
			result{Delta: Delta{Reasoning: "a </thin b <think> c", Content: "d </think>"}}},
		{"cut inside the close tag", think, "<think>a</thi", result{Delta: Delta{Reasoning: "a</thi"}, Truncated: true}},
		{"cut inside the open tag", think, " <thi", result{Delta: Delta{Content: " <thi"}}},
		{"content keeps trailing blanks and unicode", think, "<think>深度</think>\n求索 \n", result{Delta: Delta{Reasoning: "深度", Content: "求索 \n"}}},
		{"reasoning off", OutputOptions{}, "<think>a</think>b", result{Delta: Delta{Content: "<think>a</think>b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkSplits(t, tt.opts, tt.output)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReasoningCustomTags(t *testing.T) {
	p := NewReasoningParser(ReasoningOptions{Open: "<seed:think>", Close: "</seed:think>"})
	var got ReasoningDelta
	for _, s := range []string{"<seed:", "think>a</seed:th", "ink>b"} {
		d := p.Push(s)
		got.Reasoning += d.Reasoning
		got.Content += d.Content
	}
	d := p.Flush()
	got.Reasoning += d.Reasoning
	got.Content += d.Content
	if got != (ReasoningDelta{Reasoning: "a", Content: "b"}) || p.Truncated() {
		t.Errorf("got %+v truncated=%v", got, p.Truncated())
	}
}

func TestReasoningStreamsEarly(t *testing.T) {
	p := NewReasoningParser(ReasoningOptions{})
	steps := []struct {
		piece string
		want  ReasoningDelta
	}{
		{"<think>", ReasoningDelta{}},
		{"\nOne", ReasoningDelta{Reasoning: "One"}},
		{" two\n", ReasoningDelta{Reasoning: " two\n"}},   // blanks stream as they come
		{"three </", ReasoningDelta{Reasoning: "three "}}, // "</" may open </think>
		{"think>\n", ReasoningDelta{}},
		{"\nAns", ReasoningDelta{Content: "Ans"}},
		{"wer", ReasoningDelta{Content: "wer"}},
	}
	for _, s := range steps {
		if got := p.Push(s.piece); got != s.want {
			t.Errorf("Push(%q) = %+v, want %+v", s.piece, got, s.want)
		}
	}
}

func TestReasoningStartsOpen(t *testing.T) {
	for prompt, want := range map[string]bool{
		"<｜Assistant｜><think>\n":                     true,
		"<|im_start|>assistant\n<think>\n":           true,
		"<｜Assistant｜><think></think>":               false,
		"<|im_start|>assistant\n<think>\n\n</think>": false,
		"<|im_start|>assistant\n":                    false,
		"<think>\nold</think>\nuser: <think>x":       false,
	} {
		if got := ReasoningStartsOpen(prompt); got != want {
			t.Errorf("ReasoningStartsOpen(%q) = %v, want %v", prompt, got, want)
		}
	}
}

func TestReasoningClosed(t *testing.T) {
	for prompt, want := range map[string]bool{
		"<|im_start|>assistant\n<think>\n\n</think>\n\n": true,
		"<｜Assistant｜><think></think>":                   true,
		"<|im_start|>assistant\n<think>\n":               false,
		"<|im_start|>assistant\n":                        false,
		"user: </think>\n":                               false,
		"<think>a</think> then more":                     false,
	} {
		if got := ReasoningClosed(prompt); got != want {
			t.Errorf("ReasoningClosed(%q) = %v, want %v", prompt, got, want)
		}
	}
}

func TestToolCallParser(t *testing.T) {
	qwen := OutputOptions{Tools: ToolFormatQwen}
	ds := OutputOptions{Tools: ToolFormatDeepSeek}
	const weather = `{"city": "Hangzhou", "unit": "c"}`
	tests := []struct {
		name   string
		opts   OutputOptions
		output string
		want   result
	}{
		{"qwen one call", qwen, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + weather + "}\n</tool_call>",
			result{Delta: Delta{ToolCalls: []ToolCall{call("call_1", "get_weather", weather)}}}},
		{"qwen content then two calls", qwen, "Let me check.\n\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"z\": 1, \"b\": [true]}}\n</tool_call>\n<tool_call>\n{\"arguments\": {}, \"name\": \"b\"}\n</tool_call>",
			result{Delta: Delta{Content: "Let me check.\n\n", ToolCalls: []ToolCall{call("call_1", "a", `{"z": 1, "b": [true]}`), call("call_2", "b", "{}")}}}},
		{"qwen content after", qwen, "<tool_call>{\"name\": \"f\"}</tool_call>\n\nDone. ", result{Delta: Delta{Content: "Done. ", ToolCalls: []ToolCall{call("call_1", "f", "{}")}}}},
		{"qwen arguments as a string", qwen, `<tool_call>{"name": "f", "arguments": "{\"x\": 1}"}</tool_call>`,
			result{Delta: Delta{ToolCalls: []ToolCall{call("call_1", "f", `{"x": 1}`)}}}},
		{"qwen parameters", qwen, `<tool_call>{"name": "f", "parameters": {"x": "深"}}</tool_call>`,
			result{Delta: Delta{ToolCalls: []ToolCall{call("call_1", "f", `{"x": "深"}`)}}}},
		{"qwen malformed JSON", qwen, "Hi <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }\n</tool_call> ok",
			result{Delta: Delta{Content: "Hi <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }\n</tool_call>ok",
				Warnings: []string{"chat: tool call 1: invalid JSON: invalid character '}' looking for beginning of value; returned as content"}}}},
		{"qwen no name", qwen, `<tool_call>{"arguments": {}}</tool_call>`,
			result{Delta: Delta{Content: `<tool_call>{"arguments": {}}</tool_call>`, Warnings: []string{"chat: tool call 1: no function name; returned as content"}}}},
		{"qwen arguments not an object", qwen, `<tool_call>{"name": "f", "arguments": [1]}</tool_call>`,
			result{Delta: Delta{Content: `<tool_call>{"name": "f", "arguments": [1]}</tool_call>`, Warnings: []string{`chat: tool call 1: arguments are not a JSON object: "[1]"; returned as content`}}}},
		{"qwen unterminated", qwen, "ok\n<tool_call>\n{\"name\": \"f\", ",
			result{Delta: Delta{Content: "ok\n<tool_call>\n{\"name\": \"f\", ", Warnings: []string{"chat: tool call 1: output ended inside the tool call; returned as content"}}}},
		{"qwen look-alike text", qwen, "a <tool_cal b <tool_call", result{Delta: Delta{Content: "a <tool_cal b <tool_call"}}},
		{"deepseek r1", ds, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n" + weather + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
			result{Delta: Delta{ToolCalls: []ToolCall{call("call_1", "get_weather", weather)}}}},
		{"deepseek r1 two calls and content", ds, "I will call.\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>a\n```json\n{\"x\": 1}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>b\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
			result{Delta: Delta{Content: "I will call.\n", ToolCalls: []ToolCall{call("call_1", "a", `{"x": 1}`), call("call_2", "b", "{}")}}}},
		{"deepseek v3.1", ds, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>" + weather + "<｜tool▁call▁end｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
			result{Delta: Delta{ToolCalls: []ToolCall{call("call_1", "get_weather", weather), call("call_2", "function", "{}")}}}},
		{"deepseek unfenced arguments, no block end", ds, "<｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n{\"a\": 1}<｜tool▁call▁end｜>\n\nafter",
			result{Delta: Delta{Content: "after", ToolCalls: []ToolCall{call("call_1", "f", `{"a": 1}`)}}}},
		{"deepseek malformed arguments", ds, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{\"a\": <｜tool▁call▁end｜><｜tool▁calls▁end｜>",
			result{Delta: Delta{Content: "<｜tool▁call▁begin｜>f<｜tool▁sep｜>{\"a\": <｜tool▁call▁end｜>", Warnings: []string{`chat: tool call 1: arguments of f are not a valid JSON object: "{\"a\":"; returned as content`}}}},
		{"deepseek no separator", ds, "<｜tool▁call▁begin｜>f{}<｜tool▁call▁end｜>",
			result{Delta: Delta{Content: "<｜tool▁call▁begin｜>f{}<｜tool▁call▁end｜>", Warnings: []string{"chat: tool call 1: no <｜tool▁sep｜>; returned as content"}}}},
		{"deepseek unterminated", ds, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{",
			result{Delta: Delta{Content: "<｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{", Warnings: []string{"chat: tool call 1: output ended inside the tool call; returned as content"}}}},
		{"deepseek markers in qwen format are text", qwen, "<｜tool▁call▁begin｜>x", result{Delta: Delta{Content: "<｜tool▁call▁begin｜>x"}}},
		{"no format", OutputOptions{}, "<tool_call>{\"name\": \"f\"}</tool_call>", result{Delta: Delta{Content: "<tool_call>{\"name\": \"f\"}</tool_call>"}}},
		{"reasoning then qwen call", OutputOptions{Tools: ToolFormatQwen, ReasoningStartsOpen: true},
			"I need <tool_call> weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
			result{Delta: Delta{Reasoning: "I need <tool_call> weather.\n", ToolCalls: []ToolCall{call("call_1", "get_weather", `{"city": "Paris"}`)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkSplits(t, tt.opts, tt.output)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestToolCallContentFlowsEarly(t *testing.T) {
	p := NewToolCallParser(ToolCallOptions{Format: ToolFormatQwen, NewID: counterIDs()})
	steps := []struct {
		piece string
		want  string
	}{
		{"Hello", "Hello"},
		{" wor", " wor"},
		{"ld <", "ld "},  // "<" may open <tool_call>
		{"b>", "<b>"},    // it did not
		{"\n\n", "\n\n"}, // blanks stream as they come
		{"x", "x"},
		{"<tool_", ""},
		{"call>{\"name\": ", ""},
	}
	for _, s := range steps {
		if got := p.Push(s.piece); got.Content != s.want || len(got.Calls) != 0 {
			t.Errorf("Push(%q) = %+v, want content %q", s.piece, got, s.want)
		}
	}
	d := p.Push("\"f\"}</tool_call>")
	if diff := cmp.Diff(ToolCallDelta{Calls: []ToolCall{call("call_1", "f", "{}")}}, d); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRandomCallIDs(t *testing.T) {
	p := NewToolCallParser(ToolCallOptions{Format: ToolFormatQwen})
	d := p.Push(`<tool_call>{"name": "f"}</tool_call><tool_call>{"name": "g"}</tool_call>`)
	if len(d.Calls) != 2 {
		t.Fatalf("got %d calls", len(d.Calls))
	}
	for _, c := range d.Calls {
		if len(c.ID) != 29 || !strings.HasPrefix(c.ID, "call_") {
			t.Errorf("id %q: want call_ and 24 characters", c.ID)
		}
	}
	if d.Calls[0].ID == d.Calls[1].ID {
		t.Errorf("two calls share id %q", d.Calls[0].ID)
	}
}

func TestParseOneShot(t *testing.T) {
	d, truncated := Parse("<think>r</think>c<tool_call>{\"name\": \"f\"}</tool_call>", OutputOptions{Reasoning: true, Tools: ToolFormatQwen, NewID: counterIDs()})
	want := Delta{Reasoning: "r", Content: "c", ToolCalls: []ToolCall{call("call_1", "f", "{}")}}
	if diff := cmp.Diff(want, d); diff != "" || truncated {
		t.Errorf("truncated=%v (-want +got):\n%s", truncated, diff)
	}
}

func TestToolFormatFor(t *testing.T) {
	dir := filepath.Join(testdata.Dir(t), "templates")
	want := map[string]ToolFormat{
		"Qwen-QwQ-32B":                             ToolFormatQwen,
		"Qwen-Qwen2.5-7B-Instruct":                 ToolFormatQwen,
		"Qwen-Qwen3-0.6B":                          ToolFormatQwen,
		"deepseek-ai-DeepSeek-R1-Distill-Llama-8B": ToolFormatDeepSeek,
		"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": ToolFormatDeepSeek,
		"deepseek-ai-DeepSeek-V3.1":                ToolFormatDeepSeek,
		"meta-llama-Llama-3.1-8B-Instruct":         ToolFormatNone,
		"moonshotai-Kimi-K2":                       ToolFormatNone,
	}
	for name, format := range want {
		src, err := os.ReadFile(filepath.Join(dir, name+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		if got := ToolFormatFor(string(src)); got != format {
			t.Errorf("%s: ToolFormatFor = %v, want %v", name, got, format)
		}
	}
	for name, src := range map[string]string{
		"fallback":   Fallback,
		"glm xml":    "<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{{ v }}</arg_value>",
		"plain text": "{{ 'tool_call' }}",
	} {
		if got := ToolFormatFor(src); got != ToolFormatNone {
			t.Errorf("%s: ToolFormatFor = %v, want none", name, got)
		}
	}
	for name, src := range map[string]string{
		"qwen3-coder": "<tool_call>\n<function=example_function_name>\n<parameter=\"name\">",
		"qwen3.5":     readFile(t, filepath.Join("testdata", "templates", "Qwen-Qwen3.5-35B-A3B.jinja")),
	} {
		if got := ToolFormatFor(src); got != ToolFormatQwenXML {
			t.Errorf("%s: ToolFormatFor = %v, want qwen-xml", name, got)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParseRenderedToolCalls parses the tool calls that the shared
// templates and this package's own (Qwen3.5) write for an assistant turn,
// so the parser reads what the model was taught to write.
func TestParseRenderedToolCalls(t *testing.T) {
	dir := filepath.Join(testdata.Dir(t), "templates")
	files, err := filepath.Glob(filepath.Join(dir, "*.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	own, err := filepath.Glob(filepath.Join("testdata", "templates", "*.jinja"))
	if err != nil || len(own) == 0 {
		t.Fatalf("no templates in testdata/templates (%v)", err)
	}
	files = append(files, own...)
	// The XML form types argument values by the tools' schemas.
	defs := []json.RawMessage{
		[]byte(`{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "array"}, "opts": {"type": "object"}}}}}`),
		[]byte(`{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}`),
	}
	const args = `{"city": "Hangzhou", "days": [1, 2], "opts": {"unit": "c"}}`
	user := `[{"role": "user", "content": "Weather?"}]`
	// Two spellings of the assistant turn: arguments as objects (what most
	// templates expect) and, for templates that concatenate arguments as
	// text (R1-Distill-Llama), null content with arguments as strings.
	variants := []Input{
		{RawMessages: []byte(user[:len(user)-1] + `, {"role": "assistant", "content": "", "tool_calls": [
		 {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": ` + args + `}},
		 {"id": "b", "type": "function", "function": {"name": "get_time", "arguments": {}}}]}]`)},
		{RawMessages: []byte(user[:len(user)-1] + `, {"role": "assistant", "content": null, "tool_calls": [
		 {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": ` + strconv.Quote(args) + `}},
		 {"id": "b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}]`), KeepArgumentStrings: true},
	}
	parsed := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		format := ToolFormatFor(string(src))
		if format == ToolFormatNone {
			continue
		}
		tmpl := mustTemplate(t, string(src))
		prefix, err := tmpl.Render(Input{RawMessages: []byte(user)})
		if err != nil {
			t.Fatal(err)
		}
		var turn string
		for _, in := range variants {
			full, err := tmpl.Render(in)
			if err == nil && strings.HasPrefix(full, prefix) && strings.Contains(full, "get_time") {
				turn = full[len(prefix):]
				break
			}
		}
		if turn == "" {
			t.Errorf("%s: no rendering of the assistant turn holds the tool calls", filepath.Base(file))
			continue
		}
		got := checkSplits(t, OutputOptions{Tools: format, ToolDefs: defs}, turn)
		want := []ToolCall{call("call_1", "get_weather", args), call("call_2", "get_time", "{}")}
		if diff := cmp.Diff(want, got.ToolCalls); diff != "" || len(got.Warnings) > 0 {
			t.Errorf("%s: from %q: warnings %q (-want +got):\n%s", filepath.Base(file), turn, got.Warnings, diff)
		}
		parsed++
	}
	if parsed < 7 {
		t.Errorf("parsed the tool calls of %d templates, want 7", parsed)
	}
	t.Logf("tool calls written by %d templates parsed back", parsed)
}

// BenchmarkOutputParser streams a reasoning answer with a tool call in
// 4-byte pieces; SetBytes makes the result MB/s of model output.
func BenchmarkOutputParser(b *testing.B) {
	output := "<think>\n" + strings.Repeat("Let me think about the weather in Hangzhou. 深度求索 </thx\n", 50) + "</think>\n\n" +
		strings.Repeat("The answer is 42, as computed <b>above</b>.\n", 20) +
		"<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Hangzhou\"}}\n</tool_call>"
	var pieces []string
	for i := 0; i < len(output); i += 4 {
		pieces = append(pieces, output[i:min(i+4, len(output))])
	}
	b.SetBytes(int64(len(output)))
	for b.Loop() {
		p := NewOutputParser(OutputOptions{Reasoning: true, Tools: ToolFormatQwen})
		for _, s := range pieces {
			p.Push(s)
		}
		p.Flush()
	}
}
