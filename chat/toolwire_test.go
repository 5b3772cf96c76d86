package chat

import "testing"

// TestCallTextParses: the text CallText puts around arguments is a call
// that the parser of the same format reads back, name and arguments.
func TestCallTextParses(t *testing.T) {
	for _, c := range []struct {
		name   string
		format ToolFormat
		tmpl   string
	}{
		{"qwen", ToolFormatQwen, ""},
		{"deepseek-r1", ToolFormatDeepSeek, "... '```json' ..."},
		{"deepseek-v3.1", ToolFormatDeepSeek, "..."},
	} {
		before, after, ok := c.format.CallText(c.tmpl, "get_weather")
		if !ok {
			t.Fatalf("%s: no call text", c.name)
		}
		args := `{"city": "Paris", "n": [1, 2]}`
		d, truncated := Parse("ok "+before+args+after, OutputOptions{Tools: c.format})
		if truncated || len(d.ToolCalls) != 1 || d.Content != "ok " {
			t.Fatalf("%s: parsed %+v (truncated %v)", c.name, d, truncated)
		}
		if f := d.ToolCalls[0].Function; f.Name != "get_weather" || f.Arguments != args {
			t.Errorf("%s: call %+v, want get_weather with %s", c.name, f, args)
		}
	}
	if _, _, ok := ToolFormatNone.CallText("", "f"); ok {
		t.Errorf("ToolFormatNone has call text")
	}
}
