package main

import (
	"bufio"
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

	"github.com/google/go-cmp/cmp"

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
	srv := startServe(t, model, "--port", "0", "--ctx", "256", "--parallel", "2", "--api-key", "flag-key", "--alias", "r1")
	base := srv.base
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("listening on %s, want loopback by default", base)
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
	srv.stop(t)
	if strings.Contains(srv.errb.String(), "Hi") {
		t.Errorf("the prompt reached the log without --log-prompts:\n%s", srv.errb.String())
	}
}

// testServer is a running qilin serve.
type testServer struct {
	base      string // http://host:port
	out, errb *lockedBuffer
	cancel    func()
	done      chan int
}

// startServe runs qilin serve model args... until stop, and waits until
// it answers /health.
func startServe(t *testing.T, model string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{out: &lockedBuffer{}, errb: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- runMain(ctx, append([]string{"serve", model}, args...), s.out, s.errb) }()
	t.Cleanup(cancel)
	addr := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for deadline := time.Now().Add(20 * time.Second); s.base == ""; {
		if m := addr.FindStringSubmatch(s.out.String()); m != nil {
			s.base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line; stderr:\n%s", s.errb.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(s.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never healthy; stderr:\n%s", s.errb.String())
		}
	}
	return s
}

// stop interrupts the server and checks that it exits cleanly.
func (s *testServer) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("exit %d; stderr:\n%s", code, s.errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after the interrupt")
	}
}

// TestServeReasoningDeepSeek2 serves a deepseek2 model with R1's template
// (scripted to think, then answer) and checks that the OpenAI API splits
// the reasoning into reasoning_content, whole and streamed. The template
// thinks only with enable_thinking, as DeepSeek-V3.1's does.
func TestServeReasoningDeepSeek2(t *testing.T) {
	m := newReasoner(t, "next/syn-deepseek2-f32.gguf", false)
	srv := startServe(t, m.path, "--port", "0", "--ctx", "256", "--alias", "r1")
	defer srv.stop(t)
	post := func(stream bool) *http.Response {
		body := `{"model":"r1","messages":[{"role":"user","content":"How many apples?"}],"temperature":0,"max_tokens":40,` +
			`"chat_template_kwargs":{"enable_thinking":true},"stream":` +
			map[bool]string{true: "true", false: "false"}[stream] + `}`
		resp, err := http.Post(srv.base+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp
	}
	resp := post(false)
	var whole struct {
		Choices []struct {
			Message struct {
				Content          string `json:"content"`
				ReasoningContent string `json:"reasoning_content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	err := json.NewDecoder(resp.Body).Decode(&whole)
	resp.Body.Close()
	if err != nil || len(whole.Choices) != 1 {
		t.Fatalf("response %+v: %v", whole, err)
	}
	c := whole.Choices[0]
	if diff := cmp.Diff([]string{m.reasoning, m.answer, "stop"}, []string{c.Message.ReasoningContent, c.Message.Content, c.FinishReason}); diff != "" {
		t.Errorf("reasoning_content, content, finish_reason (-want +got):\n%s", diff)
	}

	resp = post(true)
	defer resp.Body.Close()
	var reasoning, content strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content          *string `json:"content"`
					ReasoningContent string  `json:"reasoning_content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		for _, ch := range chunk.Choices {
			reasoning.WriteString(ch.Delta.ReasoningContent)
			if ch.Delta.Content != nil {
				content.WriteString(*ch.Delta.Content)
			}
		}
	}
	if diff := cmp.Diff([]string{m.reasoning, m.answer}, []string{strings.TrimSpace(reasoning.String()), content.String()}); diff != "" {
		t.Errorf("streamed reasoning_content, content (-want +got):\n%s", diff)
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
