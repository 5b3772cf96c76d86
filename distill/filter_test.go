package distill_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/remote/remotetest"
)

func TestCollectFilters(t *testing.T) {
	// Answers chosen by prompt: "long" runs past max_tokens, "plain" has
	// no reasoning, "same" answers every sample alike, "math" answers
	// 4 on even seeds and 5 on odd ones.
	respond := func(r remotetest.Request) remotetest.Reply {
		q := r.Messages[len(r.Messages)-1].Content
		switch {
		case strings.HasPrefix(q, "long"):
			return remotetest.Reply{Reasoning: strings.Repeat("hmm ", 100), Content: "x"}
		case strings.HasPrefix(q, "plain"):
			return remotetest.Reply{Content: "just an answer"}
		case strings.HasPrefix(q, "same"):
			return remotetest.Reply{Reasoning: "think", Content: "same answer"}
		}
		v := "4"
		if *r.Seed%2 == 1 {
			v = "5"
		}
		return remotetest.Reply{Reasoning: "2+2", Content: fmt.Sprintf(`seed %d, so \boxed{%s}`, *r.Seed, v)}
	}
	prompts, _, err := distill.ReadPrompts(strings.NewReader(`{"id": "long", "prompt": "long"}
{"id": "plain", "prompt": "plain"}
{"id": "same", "prompt": "same"}
{"id": "math", "prompt": "math: 2+2?", "answer": 4}
`), "p")
	if err != nil {
		t.Fatal(err)
	}
	s := remotetest.New(t, remotetest.Knobs{Respond: respond})
	cfg := fakeConfig(t, s, prompts)
	cfg.Samples = 4
	cfg.Filters = distill.Filters{DropTruncated: true, RequireReasoning: true, Dedupe: true, CheckAnswers: true}
	dir := t.TempDir()
	collect(t, dir, cfg)
	m, _ := distill.ReadManifest(dir)
	wrong := 0
	for i := range 4 {
		if distill.AnswerMatches(respond(remotetest.Request{Messages: prompts[3].Messages, Seed: ptr(seedOf(t, dir, "math", i))}).Content, "4") == false {
			wrong++
		}
	}
	want := map[string]int{distill.RejectTruncated: 4, distill.RejectNoReasoning: 4, distill.RejectDuplicate: 3}
	if wrong > 0 {
		want[distill.RejectWrongAnswer] = wrong
	}
	if diff := cmp.Diff(want, m.Counts.Rejected); diff != "" {
		t.Errorf("rejected (-want +got):\n%s", diff)
	}
	if m.Counts.Kept != 16-11-wrong || m.Counts.Collected != 16 || !m.Complete {
		t.Errorf("counts %+v", m.Counts)
	}
	// Without filters, a rerun moves every record back to samples.jsonl
	// and asks for nothing.
	n := len(s.Requests())
	cfg.Filters = distill.Filters{}
	collect(t, dir, cfg)
	if m, _ := distill.ReadManifest(dir); m.Counts.Kept != 16 || len(s.Requests()) != n {
		t.Errorf("after dropping the filters: %d kept, %d requests", m.Counts.Kept, len(s.Requests())-n)
	}
}

// seedOf reads the seed of a record from rejected.jsonl or samples.jsonl.
func seedOf(t *testing.T, dir, id string, sample int) int64 {
	for _, name := range []string{distill.SamplesFile, distill.RejectedFile} {
		for _, line := range strings.Split(string(readFile(t, dir, name)), "\n") {
			if line == "" {
				continue
			}
			r, err := distill.ParseRecord([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			if r.PromptID == id && r.Sample == sample {
				return r.Params.Seed
			}
		}
	}
	t.Fatalf("no record (%s, %d)", id, sample)
	return 0
}

func TestAnswerMatches(t *testing.T) {
	for _, tc := range []struct {
		text, want string
		ok         bool
	}{
		{`so the total is \boxed{42}.`, "42", true},
		{`\boxed{\frac{3}{4}}`, "0.75", true},
		{`\boxed{\dfrac{1}{2}}`, "1/2", true},
		{`The answer is 1,000.`, "1000", true},
		{`Answer: $5`, "5", true},
		{`first 3 then 7`, "7", true},
		{`first 3 then 7`, "3", false},
		{`The answer is Paris.`, "paris", true},
		{`\boxed{\text{Paris}}`, "Paris", true},
		{`\boxed{x^{2}+1}`, "x^2+1", true},
		{`50% of them`, "0.5", true},
		{`no number here`, "4", false},
		{`\boxed{4} wait, \boxed{5}`, "5", true},
	} {
		if got := distill.AnswerMatches(tc.text, tc.want); got != tc.ok {
			t.Errorf("AnswerMatches(%q, %q) = %v, want %v", tc.text, tc.want, got, tc.ok)
		}
	}
}

func TestCollectBudget(t *testing.T) {
	prompts := testPrompts(6)
	want, _ := clean(t, prompts, remotetest.Knobs{}, nil)
	s := remotetest.New(t, remotetest.Knobs{})
	dir := t.TempDir()
	cfg := fakeConfig(t, s, prompts)
	cfg.BudgetTokens = 600
	res := collect(t, dir, cfg)
	m, _ := distill.ReadManifest(dir)
	spent := m.Tokens.Prompt + m.Tokens.Completion
	if !res.BudgetReached || spent > 600 || m.Complete || m.Counts.Collected == 0 {
		t.Fatalf("budget 600: reached %v, %d tokens spent, counts %+v", res.BudgetReached, spent, m.Counts)
	}
	t.Logf("budget 600: %d records, %d tokens", m.Counts.Collected, spent)
	// The same command asks for nothing more; a larger budget goes on.
	n := len(s.Requests())
	if res := collect(t, dir, cfg); res.New != 0 || len(s.Requests()) != n {
		t.Errorf("rerun with the spent budget asked %d times", len(s.Requests())-n)
	}
	cfg.BudgetTokens = 0
	collect(t, dir, cfg)
	if got := readFile(t, dir, distill.SamplesFile); string(got) != string(want) {
		t.Error("after the budget was lifted, samples.jsonl differs from an unlimited run's")
	}
}

func TestCollectKeyNeverWritten(t *testing.T) {
	const key = "sk-test-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	t.Setenv("FAKE_KEY", key)
	s := remotetest.New(t, remotetest.Knobs{Key: key, Script: []remotetest.Fault{remotetest.Status429, remotetest.Status500}})
	cfg := fakeConfig(t, s, testPrompts(3))
	cfg.Teacher = keyed(t, s, "FAKE_KEY")
	var log strings.Builder
	cfg.Logf = func(f string, a ...any) { log.WriteString(f) }
	dir := t.TempDir()
	if _, err := distill.Collect(context.Background(), dir, cfg); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{distill.SamplesFile, distill.RejectedFile, distill.ManifestFile} {
		if strings.Contains(string(readFile(t, dir, name)), key) {
			t.Errorf("%s holds the key", name)
		}
	}
	if got := s.Requests()[0].Auth; got != "Bearer "+key {
		t.Errorf("sent Authorization %q", got)
	}
}
