package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// templateCase is one entry of templates/cases.json.
type templateCase struct {
	Name                string                     `json:"name"`
	Messages            json.RawMessage            `json:"messages"`
	Tools               []json.RawMessage          `json:"tools"`
	AddGenerationPrompt *bool                      `json:"add_generation_prompt"` // absent means true
	Kwargs              map[string]json.RawMessage `json:"kwargs"`
	// RawOnly: the messages have no typed []Message form (content parts).
	RawOnly bool `json:"raw_only"`
}

// specialTokens returns the bos/eos strings the model behind a template file
// defines in its tokenizer_config.json (transformers passes them to the
// template; Qwen models have no BOS).
func specialTokens(file string) (bos, eos string) {
	name := strings.ToLower(file)
	switch {
	case strings.Contains(name, "deepseek"):
		return "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
	case strings.Contains(name, "llama-3"):
		return "<|begin_of_text|>", "<|eot_id|>"
	case strings.Contains(name, "kimi"):
		return "[BOS]", "[EOS]"
	case strings.Contains(name, "qwen"):
		return "", "<|im_end|>"
	}
	return "", ""
}

// fixedNow is the clock the expected renderings were made with.
func fixedNow() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }

// TestTemplatesMatchTransformers renders the shared templates' cases.
func TestTemplatesMatchTransformers(t *testing.T) {
	checkTemplateDir(t, filepath.Join(testdata.Dir(t), "templates"))
}

// TestOwnTemplatesMatchTransformers renders the templates kept in this
// package's testdata (Qwen3.5's, which the shared set lacks) with their own
// cases; testdata/templates/render.py made the expected renderings.
func TestOwnTemplatesMatchTransformers(t *testing.T) {
	checkTemplateDir(t, filepath.Join("testdata", "templates"))
}

// checkTemplateDir renders every *.jinja of dir with every case of its
// cases.json and compares with expected/TEMPLATE.CASE.txt (or expects an
// error where TEMPLATE.CASE.error exists).
func checkTemplateDir(t *testing.T, dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []templateCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("cases.json: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.jinja"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates in %s (%v)", dir, err)
	}
	var pass, fail, errPass, typedPass int
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".jinja")
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := NewTemplate(string(src))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			fail += len(cases)
			continue
		}
		bos, eos := specialTokens(name)
		for _, c := range cases {
			t.Run(name+"/"+c.Name, func(t *testing.T) {
				in := Input{
					RawMessages:         c.Messages,
					Tools:               c.Tools,
					AddGenerationPrompt: c.AddGenerationPrompt == nil || *c.AddGenerationPrompt,
					BOS:                 bos,
					EOS:                 eos,
					Now:                 fixedNow,
					Vars:                map[string]any{},
				}
				for k, v := range c.Kwargs {
					in.Vars[k] = v
				}
				got, err := tmpl.Render(in)
				base := filepath.Join(dir, "expected", name+"."+c.Name)
				if _, statErr := os.Stat(base + ".error"); statErr == nil {
					if err == nil {
						fail++
						t.Fatalf("rendered without error, want an error (%s.error exists):\n%s", base, got)
					}
					errPass++
					return
				}
				want, rerr := os.ReadFile(base + ".txt")
				if rerr != nil {
					t.Fatal(rerr)
				}
				if err != nil {
					fail++
					t.Fatalf("render: %v", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					fail++
					t.Fatalf("rendering differs (-want +got):\n%s", diff)
				}
				pass++

				// The typed form of the same conversation renders alike.
				if c.RawOnly {
					return
				}
				var typed []Message
				if err := json.Unmarshal(c.Messages, &typed); err != nil {
					t.Fatalf("messages as []Message: %v", err)
				}
				in.RawMessages, in.Messages = nil, typed
				got, err = tmpl.Render(in)
				if err != nil {
					t.Fatalf("render typed messages: %v", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Fatalf("typed messages: rendering differs (-want +got):\n%s", diff)
				}
				typedPass++
			})
		}
	}
	t.Logf("templates: %d templates x %d cases: %d byte-identical (%d also from typed []Message), %d expected errors raised, %d failed",
		len(files), len(cases), pass, typedPass, errPass, fail)
	if pass+errPass == 0 {
		t.Error("no case passed")
	}
}
