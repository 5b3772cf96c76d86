package chat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// xmlDefs declares one parameter of each schema type for function f.
var xmlDefs = []json.RawMessage{[]byte(`{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
	"s": {"type": "string"}, "i": {"type": "integer"}, "n": {"type": "number"}, "b": {"type": "boolean"},
	"o": {"type": "object"}, "a": {"type": "array"}, "opt": {"type": ["integer", "null"]}}}}}`)}

func TestParseXMLCall(t *testing.T) {
	types := newParamTypes(xmlDefs)
	for _, tc := range []struct {
		name, body   string
		fn, args     string // want
		errSubstring string
	}{
		{"typed values", "\n<function=f>\n<parameter=s>\n42\n</parameter>\n<parameter=i>\n42\n</parameter>\n<parameter=n>\n-1.5e3\n</parameter>\n" +
			"<parameter=b>\nTrue\n</parameter>\n<parameter=o>\n{\"k\": [1, {\"z\": 1, \"a\": 2}]}\n</parameter>\n<parameter=a>\n[1, \"x\"]\n</parameter>\n</function>\n",
			"f", `{"s": "42", "i": 42, "n": -1.5e3, "b": true, "o": {"k": [1, {"z": 1, "a": 2}]}, "a": [1, "x"]}`, ""},
		{"values that do not fit their type stay strings", "<function=f>\n<parameter=i>\n4.5\n</parameter>\n<parameter=n>\n+1\n</parameter>\n" +
			"<parameter=b>\nyes\n</parameter>\n<parameter=o>\n[1]\n</parameter>\n<parameter=a>\n[1,\n</parameter>\n</function>",
			"f", `{"i": "4.5", "n": "+1", "b": "yes", "o": "[1]", "a": "[1,"}`, ""},
		{"null, a list of types, an unknown parameter", "<function=f>\n<parameter=opt>\n7\n</parameter>\n<parameter=i>\nnull\n</parameter>\n<parameter=s>\nnull\n</parameter>\n<parameter=zz>\n7\n</parameter>\n</function>",
			"f", `{"opt": 7, "i": null, "s": "null", "zz": "7"}`, ""},
		{"multi-line string, only one newline trimmed each side", "<function=f>\n<parameter=s>\n\n  line 1\nline <2> & \"3\"\n\n</parameter>\n</function>",
			"f", `{"s": "\n  line 1\nline <2> & \"3\"\n"}`, ""},
		{"no parameters", "<function=get_time>\n</function>", "get_time", `{}`, ""},
		{"missing </parameter> and </function>", "<function=f>\n<parameter=i>\n1\n<parameter=s>\nx\n", "f", `{"i": 1, "s": "x"}`, ""},
		{"unknown function: strings", "<function=g>\n<parameter=i>\n1\n</parameter>\n</function>", "g", `{"i": "1"}`, ""},
		{"no function tag", `{"name": "f"}`, "", "", "want <function="},
		{"empty name", "<function=>\n</function>", "", "", "no function name"},
		{"unclosed function tag", "<function=f\n<parameter=s>x</parameter>", "", "", "no function name"},
		{"text after the function", "<function=f>\n</function>\nmore", "", "", "text after"},
		{"text between parameters", "<function=f>\nhi\n<parameter=s>\nx\n</parameter>\n</function>", "", "", "outside a parameter"},
		{"repeated parameter", "<function=f>\n<parameter=s>\nx\n</parameter>\n<parameter=s>\ny\n</parameter>\n</function>", "", "", "twice"},
		{"parameter without a name", "<function=f>\n<parameter=>\nx\n</parameter>\n</function>", "", "", "without a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn, args, err := parseXMLCall(tc.body, types)
			if tc.errSubstring != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstring) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fn != tc.fn || args != tc.args {
				t.Errorf("got %s %s, want %s %s", fn, args, tc.fn, tc.args)
			}
			if !json.Valid([]byte(args)) {
				t.Errorf("arguments %s are not valid JSON", args)
			}
		})
	}
}

// TestQwen35Output streams what a Qwen3.5 model writes after the template's
// generation prompt (which opens <think>): reasoning, some content, then two
// calls in the XML form; a malformed call comes back as content.
func TestQwen35Output(t *testing.T) {
	prompt := "<|im_start|>assistant\n<think>\n"
	opts := OutputOptions{ReasoningStartsOpen: ReasoningStartsOpen(prompt), Tools: ToolFormatQwenXML, ToolDefs: xmlDefs, NewID: counterIDs()}
	out := "The user wants f.\n</think>\n\nCalling f twice.\n\n<tool_call>\n<function=f>\n<parameter=i>\n1\n</parameter>\n</function>\n</tool_call>\n" +
		"<tool_call>\n<function=f>\n<parameter=s>\nhi\n</parameter>\n</function>\n</tool_call>"
	got := checkSplits(t, opts, out)
	want := result{Delta: Delta{Reasoning: "The user wants f.\n", Content: "Calling f twice.\n\n",
		ToolCalls: []ToolCall{call("call_1", "f", `{"i": 1}`), call("call_2", "f", `{"s": "hi"}`)}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	bad := "<tool_call>\n<function=f>\nstray\n</function>\n</tool_call>"
	got = checkSplits(t, OutputOptions{Tools: ToolFormatQwenXML}, bad)
	if got.Content != bad || len(got.ToolCalls) != 0 || len(got.Warnings) != 1 {
		t.Errorf("malformed call: got %+v, want it back as content with a warning", got)
	}
}
