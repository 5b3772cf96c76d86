package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// lockedBuffer collects a command's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServe(t *testing.T) {
	model := testdata.Path(t, "models", "syn-qwen2-q8_0.gguf")
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte("# keys\nfile-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("QILIN_API_KEYS", keyFile)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"serve", model, "--port", "0", "--ctx", "256", "--parallel", "2",
			"--api-key", "flag-key", "--alias", "r1"}, &out, &errb)
	}()
	addr := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line; stderr:\n%s", errb.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("listening on %s, want loopback by default", base)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never healthy; stderr:\n%s", errb.String())
		}
	}
	for _, key := range []string{"flag-key", "file-key", ""} {
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions",
			strings.NewReader(`{"model":"r1","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"temperature":0}`))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Usage struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		want := 200
		if key == "" {
			want = 401
		}
		if resp.StatusCode != want || (want == 200 && body.Usage.CompletionTokens != 3) {
			t.Errorf("key %q: status %d, %d tokens", key, resp.StatusCode, body.Usage.CompletionTokens)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr:\n%s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after the interrupt")
	}
	if strings.Contains(errb.String(), "Hi") {
		t.Errorf("the prompt reached the log without --log-prompts:\n%s", errb.String())
	}
}

func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--threads", "-3"},
		{"serve", "-c", "-1"},
		{"serve", "x.gguf", "--reasoning-format", "raw"},
		{"serve", "x.gguf", "--parallel", "0"},
		{"serve", "x.gguf", "--port", "70000"},
		{"serve", "a.gguf", "b.gguf"},
	} {
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage); stderr %s", args, code, errb.String())
		}
	}
}
