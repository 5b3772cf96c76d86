package distill_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/remote/remotetest"
)

func TestExport(t *testing.T) {
	s := remotetest.New(t, remotetest.Knobs{Respond: func(r remotetest.Request) remotetest.Reply {
		return remotetest.Reply{Reasoning: "I add.", Content: "It is 4."}
	}})
	prompts, _, _ := distill.ReadPrompts(strings.NewReader(`{"id": 1, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]}`), "p")
	cfg := fakeConfig(t, s, prompts)
	cfg.Samples = 1
	dir := t.TempDir()
	collect(t, dir, cfg)
	for _, tc := range []struct {
		format, want string
	}{
		{distill.FormatMessages, `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"},{"role":"assistant","content":"It is 4.","reasoning_content":"I add."}]}`},
		{distill.FormatThinkInline, `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"},{"role":"assistant","content":"<think>\nI add.\n</think>\n\nIt is 4."}]}`},
		{distill.FormatShareGPT, `{"conversations":[{"from":"system","value":"Be brief."},{"from":"human","value":"2+2?"},{"from":"gpt","value":"<think>\nI add.\n</think>\n\nIt is 4."}]}`},
	} {
		var b bytes.Buffer
		n, err := distill.Export(dir, tc.format, &b)
		if err != nil || n != 1 {
			t.Fatalf("%s: %d, %v", tc.format, n, err)
		}
		if diff := cmp.Diff(tc.want+"\n", b.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.format, diff)
		}
		if !json.Valid(bytes.TrimSpace(b.Bytes())) {
			t.Errorf("%s: not JSON", tc.format)
		}
	}
	if _, err := distill.Export(dir, "alpaca", &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "sharegpt") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestReadPrompts(t *testing.T) {
	ps, dups, err := distill.ReadPrompts(strings.NewReader(`
{"id": "a", "prompt": "first"}
{"id": 7, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "second"}], "answer": 12.5}
{"prompt": "third", "answer": "Paris", "extra": true}
{"messages": [{"role": "user", "content": "third"}]}
`), "p.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, p := range ps {
		got = append(got, p.ID+"|"+p.Messages[len(p.Messages)-1].Content+"|"+p.Answer)
	}
	third := distill.CanonicalID(ps[2].Messages)
	want := []string{"a|first|", "7|second|12.5", third + "|third|Paris"}
	if diff := cmp.Diff(want, got); diff != "" || dups != 1 || len(third) != 64 {
		t.Errorf("prompts (-want +got), %d dups:\n%s", dups, diff)
	}
	text, _, err := distill.ReadPrompts(strings.NewReader("Tell a story.\r\n\nAnother one\n"), "p.txt")
	if err != nil || len(text) != 2 || text[0].Messages[0].Content != "Tell a story." || text[0].ID != distill.CanonicalID(text[0].Messages) {
		t.Errorf("text prompts %+v, %v", text, err)
	}
	for _, bad := range []struct{ in, want string }{
		{`{"id": "a", "prompt": "x"}` + "\n" + `{"id": "a", "prompt": "y"}`, "p:2: id \"a\" was used on line 1"},
		{`{"prompt": "x", "messages": [{"role": "user", "content": "y"}]}`, "not both"},
		{`{"id": "a"}`, `no "prompt" nor "messages"`},
		{`{"messages": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "z"}]}`, "nothing to answer"},
		{`{"messages": [{"role": "wizard", "content": "y"}]}`, "role"},
		{`{"prompt": "x"` + "\n", "p:1: not a JSON prompt"},
		{"\n\n", "no prompts"},
	} {
		if _, _, err := distill.ReadPrompts(strings.NewReader(bad.in), "p"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.in, err, bad.want)
		}
	}
}

func FuzzReadPrompts(f *testing.F) {
	f.Add([]byte(`{"id": 1, "prompt": "x", "answer": 2}` + "\n" + `{"messages": [{"role": "user", "content": "y"}]}`))
	f.Add([]byte("plain\nlines\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, _, err := distill.ReadPrompts(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, p := range ps {
			if p.ID == "" || ids[p.ID] || len(p.Messages) == 0 {
				t.Fatalf("prompt %+v: empty or repeated id, or no messages", p)
			}
			ids[p.ID] = true
		}
	})
}
