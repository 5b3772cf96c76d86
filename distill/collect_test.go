package distill_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/remote"
	"github.com/qilin-ai/qilin/remote/remotetest"
)

func ptr[T any](v T) *T { return &v }

// testPrompts returns n prompts, every third one with an explicit id.
func testPrompts(n int) []distill.Prompt {
	var b strings.Builder
	for i := range n {
		if i%3 == 0 {
			fmt.Fprintf(&b, `{"id": "p%d", "prompt": "question %d"}`+"\n", i, i)
		} else {
			fmt.Fprintf(&b, `{"messages": [{"role": "user", "content": "question %d"}]}`+"\n", i)
		}
	}
	ps, _, err := distill.ReadPrompts(strings.NewReader(b.String()), "prompts.jsonl")
	if err != nil {
		panic(err)
	}
	return ps
}

// fakeConfig is a collection from s with fast retries; records name the
// endpoint http://fake/v1 whatever port s has, so that runs against
// different fakes compare.
func fakeConfig(t *testing.T, s *remotetest.Server, prompts []distill.Prompt) distill.Config {
	t.Helper()
	ep, err := remote.ParseEndpoint(s.URL + "#teacher")
	if err != nil {
		t.Fatal(err)
	}
	c := remote.NewClient(ep, "")
	c.Backoff, c.MaxBackoff = time.Millisecond, 4*time.Millisecond
	return distill.Config{Teacher: c, Info: distill.TeacherInfo{Model: ep.Model, Endpoint: "http://fake/v1"}, Prompts: prompts, Samples: 3,
		Params:      distill.Params{Temperature: ptr(0.6), TopP: ptr(0.95), MaxTokens: 64, TopLogprobs: 2, Seed: 42},
		Concurrency: 4, Stream: true}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func collect(t *testing.T, dir string, cfg distill.Config) *distill.Result {
	t.Helper()
	res, err := distill.Collect(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCollect(t *testing.T) {
	s := remotetest.New(t, remotetest.Knobs{})
	prompts := testPrompts(5)
	dir := t.TempDir()
	res := collect(t, dir, fakeConfig(t, s, prompts))
	if res.New != 15 {
		t.Errorf("%d new records, want 15", res.New)
	}
	data := readFile(t, dir, distill.SamplesFile)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(lines) != 15 {
		t.Fatalf("%d lines, want 15", len(lines))
	}
	for i, line := range lines {
		var rec distill.Record
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		p := prompts[i/3]
		if rec.PromptID != p.ID || rec.Sample != i%3 {
			t.Errorf("line %d is (%s, %d), want (%s, %d): not in canonical order", i, rec.PromptID, rec.Sample, p.ID, i%3)
		}
		content, reasoning := rec.Answer()
		if content == "" || reasoning == "" || rec.FinishReason == "" || rec.Usage.CompletionTokens == 0 || len(rec.Logprobs) == 0 {
			t.Errorf("line %d lacks an answer, reasoning, finish reason, usage or logprobs: %s", i, line)
		}
		if len(rec.Logprobs[0].TopLogprobs) != 2 {
			t.Errorf("line %d: %d top logprobs, want 2", i, len(rec.Logprobs[0].TopLogprobs))
		}
		if rec.Teacher.Endpoint != "http://fake/v1" || rec.Params.Seed == 0 || *rec.Params.Temperature != 0.6 {
			t.Errorf("line %d: teacher %+v params %+v", i, rec.Teacher, rec.Params)
		}
	}
	// The key set and the field order of the issue.
	want := `{"prompt_id":"p0","sample":0,"messages":[{"role":"user","content":"question 0"},{"role":"assistant","content":`
	if !bytes.HasPrefix(lines[0], []byte(want)) || !bytes.Contains(lines[0], []byte(`"reasoning_content":`)) ||
		!bytes.Contains(lines[0], []byte(`"finish_reason":"stop","usage":{"prompt_tokens":`)) ||
		!bytes.Contains(lines[0], []byte(`"teacher":{"model":"teacher","endpoint":"http://fake/v1"},"params":{"temperature":0.6,"top_p":0.95,"max_tokens":64,"top_logprobs":2,"seed":`)) ||
		!bytes.Contains(lines[0], []byte(`"logprobs":[{"token":`)) {
		t.Errorf("record layout:\n%s", lines[0])
	}
	m, err := distill.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	wantCounts := distill.Counts{Wanted: 15, Collected: 15, Kept: 15, Rejected: map[string]int{}}
	if diff := cmp.Diff(wantCounts, m.Counts); diff != "" || !m.Complete || m.SamplesSHA256 != hex.EncodeToString(h[:]) {
		t.Errorf("manifest complete=%v sha %s (file %x), counts (-want +got):\n%s", m.Complete, m.SamplesSHA256, h, diff)
	}
	if m.Tokens.Completion == 0 || m.Tokens.Prompt == 0 {
		t.Errorf("manifest tokens %+v", m.Tokens)
	}
	// Run again: nothing is missing, nothing is asked.
	n := len(s.Requests())
	if res := collect(t, dir, fakeConfig(t, s, prompts)); res.New != 0 || len(s.Requests()) != n {
		t.Errorf("second run added %d records with %d requests", res.New, len(s.Requests())-n)
	}
	if !bytes.Equal(readFile(t, dir, distill.SamplesFile), data) {
		t.Error("a second run changed samples.jsonl")
	}
}

// keyed is a client of s that reads its key from env.
func keyed(t *testing.T, s *remotetest.Server, env string) *remote.Client {
	t.Helper()
	ep, _ := remote.ParseEndpoint(s.URL + "#teacher")
	c, err := remote.FromEnv(ep, env)
	if err != nil {
		t.Fatal(err)
	}
	c.Backoff, c.MaxBackoff = time.Millisecond, 4*time.Millisecond
	return c
}
