package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/remote/remotetest"
	"github.com/qilin-ai/qilin/train"
)

// distillHelperEnv, when set, makes TestDistillHelperProcess run qilin
// with these arguments (a JSON array): the kill test runs the test binary
// itself as qilin.
const distillHelperEnv = "QILIN_DISTILL_HELPER_ARGS"

func TestDistillHelperProcess(t *testing.T) {
	raw := os.Getenv(distillHelperEnv)
	if raw == "" {
		t.Skip("runs only as the kill test's qilin process")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(runMain(context.Background(), args, os.Stdout, os.Stderr))
}

// writePrompts writes n JSONL prompts, some with an answer, and returns
// the file.
func writePrompts(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		switch i % 3 {
		case 0:
			b.WriteString(`{"id": "q` + itoa(i) + `", "prompt": "What is ` + itoa(i) + ` plus one?", "answer": ` + itoa(i+1) + "}\n")
		case 1:
			b.WriteString(`{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Story ` + itoa(i) + `"}]}` + "\n")
		default:
			b.WriteString(`{"prompt": "Tell me about ` + itoa(i) + `"}` + "\n")
		}
	}
	path := filepath.Join(t.TempDir(), "prompts.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func itoa(i int) string { return strconv.Itoa(i) }

// respondVaried answers the prompts of writePrompts deterministically by
// seed: answers of 4 to 40 words (so that some run past --max-tokens 40),
// and for "What is N plus one?" the right sum two times in three.
func respondVaried(r remotetest.Request) remotetest.Reply {
	seed := *r.Seed
	q := r.Messages[len(r.Messages)-1].Content
	words := strings.Repeat("and then ", int(4+seed%18))
	var n int
	if _, err := fmt.Sscanf(q, "What is %d plus one?", &n); err == nil {
		sum := n + 1
		if seed%3 == 0 {
			sum++
		}
		return remotetest.Reply{Reasoning: "add one to " + itoa(n), Content: words + `\boxed{` + itoa(sum) + `}`}
	}
	return remotetest.Reply{Reasoning: "think about " + q, Content: words + "the end."}
}

// lines counts the complete lines of a file.
func lines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// TestDistillCollectKilled is the acceptance test: a collection
// from a fake endpoint that answers with 429s, 500s and cut streams,
// killed twice with SIGKILL and rerun with the same command, ends with a
// samples.jsonl byte-identical to an uninterrupted run's, and the API key
// appears in no file and no output.
func TestDistillCollectKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test skipped in -short mode")
	}
	const key = "sk-kill-test-5c3d9e1f7a2b4c6d8e0f"
	s := remotetest.New(t, remotetest.Knobs{Key: key, Style: remotetest.ReasoningInline, Delay: 3 * time.Millisecond, Respond: respondVaried})
	prompts := writePrompts(t, 24)
	args := func(dir string) []string {
		return []string{"distill", "collect", "--teacher", s.URL + "#teacher", "--prompts", prompts, "--out", dir,
			"--samples", "3", "--max-tokens", "40", "--top-logprobs", "2", "--concurrency", "4", "--seed", "9",
			"--api-key-env", "KILL_TEST_KEY", "--drop-truncated", "--check-answers"}
	}
	t.Setenv("KILL_TEST_KEY", key)

	// The uninterrupted reference, in process.
	ref := filepath.Join(t.TempDir(), "ref")
	var refOut bytes.Buffer
	if code := runMain(context.Background(), args(ref), &refOut, &refOut); code != 0 {
		t.Fatalf("reference run: status %d\n%s", code, refOut.String())
	}
	want, err := os.ReadFile(filepath.Join(ref, distill.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}

	// The same collection with faults, killed twice.
	s.Configure(func(k *remotetest.Knobs) {
		k.Seed, k.Rate429, k.Rate500, k.RateCut, k.CutAfter = 3, 0.1, 0.1, 0.1, 5
	})
	dir := filepath.Join(t.TempDir(), "killed")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	run := func(killAfter int) {
		samples, rejected := filepath.Join(dir, distill.SamplesFile), filepath.Join(dir, distill.RejectedFile)
		onDisk := func() int { return lines(samples) + lines(rejected) }
		logs.WriteString(runKilled(t, exe, args(dir), killAfter, onDisk, "records"))
	}
	run(10)
	run(40)
	run(0)

	got, err := os.ReadFile(filepath.Join(dir, distill.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("samples.jsonl after two kills differs from the uninterrupted run's (%d vs %d bytes)", len(got), len(want))
	}
	for _, name := range []string{distill.RejectedFile} {
		a, _ := os.ReadFile(filepath.Join(ref, name))
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the uninterrupted run's", name)
		}
	}
	mRef, _ := distill.ReadManifest(ref)
	m, _ := distill.ReadManifest(dir)
	faults, _ := s.Stats()
	if m.Errors["rate_limited"] == 0 || m.Errors["server_error"] == 0 || m.Errors["stream_cut"] == 0 {
		t.Errorf("manifest errors %v: the faults (%v) did not all happen", m.Errors, faults)
	}
	t.Logf("faults served %v; manifest errors of the killed runs %v", faults, m.Errors)
	t.Logf("kept %d, rejected %v", m.Counts.Kept, m.Counts.Rejected)
	if m.Counts.Kept == 0 || m.Counts.Rejected[distill.RejectTruncated] == 0 || m.Counts.Rejected[distill.RejectWrongAnswer] == 0 {
		t.Errorf("counts %+v: want records kept and rejected by both filters", m.Counts)
	}
	mRef.Errors, m.Errors = nil, nil
	if diff := cmp.Diff(mRef, m); diff != "" {
		t.Errorf("manifest, errors aside (-uninterrupted +killed):\n%s", diff)
	}
	if !m.Complete || m.Counts.Collected != 72 {
		t.Errorf("manifest counts %+v", m.Counts)
	}
	// The key is in no file and no output.
	for _, d := range []string{ref, dir} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(d, e.Name()))
			if bytes.Contains(b, []byte(key)) {
				t.Errorf("%s holds the API key", filepath.Join(d, e.Name()))
			}
		}
	}
	if bytes.Contains(logs.Bytes(), []byte(key)) || bytes.Contains(refOut.Bytes(), []byte(key)) {
		t.Error("the output shows the API key")
	}
}

func TestDistillCollectUsage(t *testing.T) {
	prompts := writePrompts(t, 2)
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"distill", "collect", "--prompts", prompts, "--out", "x"}, "--teacher, --prompts and --out are required", 2},
		{[]string{"distill", "collect", "--teacher", "deepseek:", "--prompts", prompts, "--out", "x"}, "deepseek:deepseek-reasoner", 2},
		{[]string{"distill", "collect", "--teacher", "https://u:sk-secret@h/v1#m", "--prompts", prompts, "--out", "x"}, "--api-key-env", 2},
		{[]string{"distill", "collect", "--teacher", "openai:o1", "--prompts", prompts, "--out", t.TempDir(), "--api-key-env", "NO_SUCH_VAR_SET"}, "NO_SUCH_VAR_SET is empty", 1},
		{[]string{"distill", "collect", "--teacher", "deepseek:deepseek-reasoner", "--prompts", prompts, "--out", t.TempDir()}, "--api-key-env VAR", 1},
		{[]string{"distill", "collect", "--teacher", "m", "--prompts", prompts, "--out", "x", "--tpm", "10", "--max-tokens", "0"}, "need a --max-tokens", 2},
		{[]string{"distill", "export"}, "name one dataset directory", 2},
		{[]string{"distill", "export", t.TempDir(), "--format", "csv"}, "want one of messages, sharegpt, think-inline", 1},
		{[]string{"show", "deepseek:deepseek-reasoner"}, "is a remote endpoint", 1},
	} {
		t.Setenv("DEEPSEEK_API_KEY", "")
		var out bytes.Buffer
		code := runMain(context.Background(), tc.args, &out, &out)
		if code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%q: status %d, output %q; want %d and %q", tc.args, code, out.String(), tc.code, tc.want)
		}
		if strings.Contains(out.String(), "sk-secret") {
			t.Errorf("%q: the output repeats the key", tc.args)
		}
	}
}

// TestShortNamesAreNotEndpoints: no store short name reads as PROVIDER:MODEL.
func TestShortNamesAreNotEndpoints(t *testing.T) {
	for _, sn := range hub.ShortNames {
		if err := localOnly(sn.Name); err != nil {
			t.Errorf("%s: %v", sn.Name, err)
		}
	}
}

func TestDistillExport(t *testing.T) {
	s := remotetest.New(t, remotetest.Knobs{Style: remotetest.ReasoningContent})
	dir := filepath.Join(t.TempDir(), "ds")
	var out bytes.Buffer
	if code := runMain(context.Background(), []string{"distill", "collect", "--teacher", s.URL + "#t", "--prompts", writePrompts(t, 3),
		"--out", dir, "--samples", "2"}, &out, &out); code != 0 {
		t.Fatalf("collect: %d\n%s", code, out.String())
	}
	// What the trainer reads from the collection itself, logprobs aside: each
	// exported file must give it the same conversations.
	_, want, err := train.ReadDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].Logprobs, want[i].FinishReason = nil, ""
	}
	for _, format := range []string{"messages", "sharegpt", "think-inline"} {
		file := filepath.Join(t.TempDir(), format+".jsonl")
		out.Reset()
		if code := runMain(context.Background(), []string{"distill", "export", dir, "--format", format, "--out", file}, &out, &out); code != 0 {
			t.Fatalf("export %s: %d\n%s", format, code, out.String())
		}
		b, _ := os.ReadFile(file)
		rows := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(rows) != 6 {
			t.Errorf("%s: %d rows, want 6", format, len(rows))
		}
		var row map[string][]map[string]string
		if err := json.Unmarshal([]byte(rows[0]), &row); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		turns := row["messages"]
		if format == "sharegpt" {
			turns = row["conversations"]
		}
		last := turns[len(turns)-1]
		text := last["content"] + last["value"]
		if format == "messages" {
			if last["reasoning_content"] == "" || strings.Contains(text, "<think>") {
				t.Errorf("messages: the reasoning should be in reasoning_content: %v", last)
			}
		} else if !strings.HasPrefix(text, "<think>\n") || !strings.Contains(text, "\n</think>\n\n") {
			t.Errorf("%s: the answer should carry its reasoning inline: %q", format, text)
		}
		_, got, err := train.ReadDataset(file)
		if err != nil {
			t.Fatalf("%s: the trainer cannot read the export: %v", format, err)
		}
		for i := range got {
			got[i].Logprobs, got[i].FinishReason = nil, ""
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: the trainer reads other conversations from the export than from the collection (-collection +export):\n%s", format, diff)
		}
	}
}

// runKilled runs `qilin ARGS` in a child process (TestDistillHelperProcess
// does the work) and returns its output. With killAfter > 0 it SIGKILLs
// the child as soon as count() (what the child has written: records,
// samples) reaches killAfter, failing after 30 s without; with 0 it waits
// for the child, which must succeed.
func runKilled(t *testing.T, exe string, args []string, killAfter int, count func() int, what string) string {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(exe, "-test.run=^TestDistillHelperProcess$")
	cmd.Env = append(os.Environ(), distillHelperEnv+"="+string(raw))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if killAfter == 0 {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("final run: %v\n%s", err, out.String())
		}
		return out.String()
	}
	for deadline := time.Now().Add(30 * time.Second); count() < killAfter; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no %d %s after 30s:\n%s", killAfter, what, out.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	t.Logf("killed with %d %s on disk", count(), what)
	return out.String()
}
