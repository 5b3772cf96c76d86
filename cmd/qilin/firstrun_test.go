package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/internal/builtinmodel"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// freshInstall makes the environment of a new user on a fresh clone: no
// shared data, an empty home and store, no network, and a working
// directory outside the repository.
func freshInstall(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("QILIN_TESTDATA", filepath.Join(home, "no-testdata"))
	t.Setenv("HOME", home)
	t.Setenv("QILIN_MODELS", filepath.Join(home, "models"))
	t.Setenv("QILIN_OFFLINE", "1")
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1")
	t.Chdir(t.TempDir())
}

// TestBuiltinModelFreshInstall runs the README's first command as a new
// user would: no model argument, nothing but the binary.
func TestBuiltinModelFreshInstall(t *testing.T) {
	// The shared reference continuation, when the data is here (before
	// freshInstall hides it); the built-in file is the same file.
	var ref struct {
		GreedyText string `json:"greedy_text"`
	}
	if dir, ok := testdata.Find(); ok {
		b, err := os.ReadFile(filepath.Join(dir, "refs", "stories260K.p1.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatal(err)
		}
	}
	freshInstall(t)

	out, errs, code := runCLI(t, "run", "--prompt", "Once upon a time", "--max-tokens", "48", "--temp", "0", "--json")
	if code != 0 {
		t.Fatalf("run with no model: exit %d: %s", code, errs)
	}
	var got runResult
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if len(got.Tokens) != 48 || len(strings.Fields(got.Text)) < 20 {
		t.Errorf("built-in model made %d tokens, %q; want 48 tokens of story", len(got.Tokens), got.Text)
	}
	if ref.GreedyText != "" && got.Text != ref.GreedyText {
		t.Errorf("built-in model's greedy text %q, want llama.cpp's %q", got.Text, ref.GreedyText)
	}
	// By name too, and with the README's exact command (sampled).
	named, errs, code := runCLI(t, "run", builtinmodel.Name, "--prompt", "Once upon a time", "--max-tokens", "48", "--temp", "0", "--json")
	if code != 0 || named != out {
		t.Errorf("run %s: exit %d, %q (stderr %q); want the default model's output %q", builtinmodel.Name, code, named, errs, out)
	}
	if out, errs, code := runCLI(t, "run", "--prompt", "Once upon a time"); code != 0 || len(strings.Fields(out)) < 5 {
		t.Errorf("the README's command: exit %d, %q (stderr %q)", code, out, errs)
	}

	out, _, code = runCLI(t, "list")
	if code != 0 || !regexp.MustCompile(`(?m)^`+builtinmodel.Name+`\s+1\.1 MiB\s+F32\s+llama\s+built in`).MatchString(out) {
		t.Errorf("list: exit %d, lacks the built-in model:\n%s", code, out)
	}
	for _, args := range [][]string{{"show"}, {"show", builtinmodel.Name}} {
		out, errs, code := runCLI(t, append(args, "--json")...)
		var info modelInfo
		if err := json.Unmarshal([]byte(out), &info); code != 0 || err != nil {
			t.Fatalf("%q: exit %d, %v: %s", args, code, err, errs)
		}
		if info.Path != builtinmodel.Name || info.FileSize != builtinmodel.Size() || info.Architecture != builtinmodel.Arch || info.ChatTemplate {
			t.Errorf("%q: %+v", args, info)
		}
	}
	a, _, code1 := runCLI(t, "tokenize", "Once upon a time")
	b, _, code2 := runCLI(t, "tokenize", builtinmodel.Name, "Once upon a time")
	if code1 != 0 || code2 != 0 || a != b || len(strings.Fields(a)) < 3 {
		t.Errorf("tokenize with the default model %q (exit %d), by name %q (exit %d)", a, code1, b, code2)
	}
}

// serveUntilListening runs qilin serve with args on a free port until the test ends
// and returns its base URL, read from the "listening on" line.
func serveUntilListening(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- runMain(ctx, append([]string{"serve", "--port", "0"}, args...), &out, &errb) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exit %d; stderr:\n%s", code, errb.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop after the interrupt")
		}
	})
	addr := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before listening; stderr:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line; stderr:\n%s", errb.String())
		}
	}
}

// TestServeBuiltinLoadsFirst: serve with no model serves the built-in one,
// and is ready the moment it says it listens.
func TestServeBuiltinLoadsFirst(t *testing.T) {
	freshInstall(t)
	base := serveUntilListening(t)
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/health right after the listening line: %s, want 200 (the model loads before)", resp.Status)
	}
	var models struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	getJSON(t, base+"/v1/models", &models)
	if len(models.Data) != 1 || models.Data[0].ID != builtinmodel.Name {
		t.Errorf("/v1/models: %+v, want the built-in model", models)
	}
	// The chat page, told to complete plain text: the model has no template.
	var props struct {
		HasChatTemplate *bool `json:"has_chat_template"`
	}
	getJSON(t, base+"/props", &props)
	if props.HasChatTemplate == nil || *props.HasChatTemplate {
		t.Errorf("/props has_chat_template: %v, want false", props.HasChatTemplate)
	}
	page, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), ">Message</label>") {
		t.Errorf("GET /: %s, %d bytes; want the chat page", page.Status, len(body))
	}

	// qilin ps shows what it has loaded.
	out, errs, code := runCLI(t, "ps", "--host", base)
	if code != 0 || !regexp.MustCompile(`(?m)^`+builtinmodel.Name+`:latest\s+1\.1 MiB\s`).MatchString(out) {
		t.Errorf("ps: exit %d, %q (stderr %q)", code, out, errs)
	}

	// The CLI refuses what the server refuses, in the same words.
	for _, c := range []struct {
		field, value string
		args         []string
	}{
		{"temperature", "-1", []string{"--temp", "-1"}},
		{"top_p", "5", []string{"--top-p", "5"}},
		{"min_p", "2", []string{"--min-p", "2"}},
		{"repeat_penalty", "11", []string{"--repeat-penalty", "11"}},
	} {
		resp, err := http.Post(base+"/v1/completions", "application/json",
			strings.NewReader(`{"prompt":"Once","`+c.field+`":`+c.value+`}`))
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		serverMsg, ok := strings.CutPrefix(e.Error.Message, c.field+": ")
		_, errs, code := runCLI(t, append([]string{"run", "-p", "x"}, c.args...)...)
		cliMsg := strings.TrimSpace(errs[strings.LastIndex(errs, ": ")+2:])
		if resp.StatusCode != 400 || !ok || code != 2 || cliMsg != serverMsg {
			t.Errorf("%s %s: server %d %q, CLI exit %d %q; want the same message", c.field, c.value, resp.StatusCode, e.Error.Message, code, errs)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
