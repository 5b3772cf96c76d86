package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// runRenderCmd runs "qilin render ARGS" and returns stdout, stderr and the
// exit status.
func runRenderCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), append([]string{"render"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRenderSharedTemplates renders every case of the shared template set
// through the command line and compares with the expected prompts.
func TestRenderSharedTemplates(t *testing.T) {
	dir := filepath.Join(testdata.Dir(t), "templates")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name                string                     `json:"name"`
		Messages            json.RawMessage            `json:"messages"`
		Tools               json.RawMessage            `json:"tools"`
		AddGenerationPrompt *bool                      `json:"add_generation_prompt"`
		Kwargs              map[string]json.RawMessage `json:"kwargs"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	files, err := filepath.Glob(filepath.Join(dir, "*.jinja"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates in %s", dir)
	}
	n := 0
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".jinja")
		// The BOS string of the model family, as its tokenizer_config.json
		// defines it (only DeepSeek and Llama 3 templates print it).
		b := ""
		switch lower := strings.ToLower(name); {
		case strings.Contains(lower, "deepseek"):
			b = "<｜begin▁of▁sentence｜>"
		case strings.Contains(lower, "llama-3"):
			b = "<|begin_of_text|>"
		}
		for _, c := range cases {
			args := []string{"--template", filepath.Join(dir, name+".jinja"),
				"--messages", writeFile(t, tmp, c.Name+".messages.json", string(c.Messages))}
			if c.Tools != nil {
				args = append(args, "--tools", writeFile(t, tmp, c.Name+".tools.json", string(c.Tools)))
			}
			if c.AddGenerationPrompt != nil && !*c.AddGenerationPrompt {
				args = append(args, "--no-generation-prompt")
			}
			for k, v := range c.Kwargs {
				args = append(args, "--var", k+"="+string(v))
			}
			if b != "" {
				args = append(args, "--var", "bos_token="+b)
			}
			got, errOut, code := runRenderCmd(t, args...)
			if code != 0 {
				t.Fatalf("%s %s: exit %d: %s", name, c.Name, code, errOut)
			}
			want, err := os.ReadFile(filepath.Join(dir, "expected", name+"."+c.Name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", name, c.Name, diff)
			}
			n++
		}
	}
	t.Logf("render: %d template x case renderings through the CLI compared", n)
}

// writeChatModel writes a GGUF holding only tokenizer metadata and, when
// template is not empty, a chat template.
func writeChatModel(t *testing.T, template string) string {
	t.Helper()
	w := gguf.NewWriter()
	w.SetKV("general.architecture", "llama")
	w.SetKV("tokenizer.ggml.model", "gpt2")
	w.SetKV("tokenizer.ggml.tokens", []string{"<unk>", "<s>", "</s>", "hi"})
	w.SetKV("tokenizer.ggml.bos_token_id", uint32(1))
	w.SetKV("tokenizer.ggml.eos_token_id", uint32(2))
	if template != "" {
		w.SetKV("tokenizer.chat_template", template)
	}
	path := filepath.Join(t.TempDir(), "chat.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRenderModel(t *testing.T) {
	tmp := t.TempDir()
	messages := writeFile(t, tmp, "m.json", `[{"role": "user", "content": "Hi"}]`)
	tools := writeFile(t, tmp, "t.json", `[{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}]`)
	model := writeChatModel(t, `{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}`+
		`{% if tools %}{{ tools[0] | tojson }}{% endif %}{% if add_generation_prompt %}[assistant]{% endif %}|{{ enable_thinking }}|{{ x }}`+"\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"model tokens", []string{"--model", model, "--messages", messages},
			"<s>[user]Hi</s>[assistant]||"},
		{"tools vars no generation prompt", []string{"--model", model, "--messages", messages, "--tools", tools,
			"--var", "enable_thinking=false", "--var", "x=not json", "--no-generation-prompt", "--var", "bos_token=<B>"},
			`<B>[user]Hi</s>{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}|False|not json`},
		{"flags after nothing, var holding =", []string{"--messages", messages, "--var", `x={"k": "a=b"}`, "--model", model},
			"<s>[user]Hi</s>[assistant]||{'k': 'a=b'}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errOut, code := runRenderCmd(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if errOut != "" {
				t.Errorf("unexpected stderr %q", errOut)
			}
		})
	}
}

func TestRenderModelWithoutTemplateWarns(t *testing.T) {
	tmp := t.TempDir()
	messages := writeFile(t, tmp, "m.json", `[{"role": "user", "content": "Hi"}]`)
	got, errOut, code := runRenderCmd(t, "--model", writeChatModel(t, ""), "--messages", messages)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !strings.Contains(errOut, "warning") || !strings.Contains(errOut, "chatml-fallback") {
		t.Errorf("stderr %q lacks a warning naming the fallback", errOut)
	}
}

func TestRenderStrftimeNow(t *testing.T) {
	tmp := t.TempDir()
	got, errOut, code := runRenderCmd(t, "--template", writeFile(t, tmp, "t.jinja", `{{ strftime_now("%d %b %Y") }}`),
		"--messages", writeFile(t, tmp, "m.json", `[]`), "--now", "2026-11-28T12:00:00Z")
	if code != 0 || got != "28 Nov 2026" {
		t.Errorf("got %q (exit %d, %s), want %q", got, code, errOut, "28 Nov 2026")
	}
}

func TestRenderErrors(t *testing.T) {
	tmp := t.TempDir()
	messages := writeFile(t, tmp, "m.json", `[{"role": "user", "content": "Hi"}]`)
	tmpl := writeFile(t, tmp, "t.jinja", `{{ messages[0].content }}`)
	raising := writeFile(t, tmp, "r.jinja", `{{ raise_exception("roles must alternate") }}`)
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no source", []string{"--messages", messages}, 2, "exactly one of --model"},
		{"both sources", []string{"--messages", messages, "--template", tmpl, "--model", tmpl}, 2, "exactly one of --model"},
		{"no messages", []string{"--template", tmpl}, 2, "--messages"},
		{"bad var", []string{"--template", tmpl, "--messages", messages, "--var", "novalue"}, 2, "NAME=VALUE"},
		{"extra argument", []string{"--template", tmpl, "--messages", messages, "stray"}, 2, `unexpected argument "stray"`},
		{"bad --now", []string{"--template", tmpl, "--messages", messages, "--now", "today"}, 2, "--now"},
		{"messages not an array", []string{"--template", tmpl, "--messages", writeFile(t, tmp, "o.json", `{"role": "user"}`)}, 1, "want a JSON array"},
		{"missing file", []string{"--template", filepath.Join(tmp, "nope.jinja"), "--messages", messages}, 1, "nope.jinja"},
		{"bad template", []string{"--template", writeFile(t, tmp, "b.jinja", `{% if %}`), "--messages", messages}, 1, "b.jinja"},
		{"template raises", []string{"--template", raising, "--messages", messages}, 1, "roles must alternate"},
		{"not a model", []string{"--model", tmpl, "--messages", messages}, 1, "t.jinja"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runRenderCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and an error containing %q", code, errOut, tt.code, tt.wantErr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}
