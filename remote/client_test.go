package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/remote"
	"github.com/qilin-ai/qilin/remote/remotetest"
)

func ptr[T any](v T) *T { return &v }

// fastClient is a client of the fake with short waits.
func fastClient(t *testing.T, s *remotetest.Server, model string) *remote.Client {
	t.Helper()
	ep, err := remote.ParseEndpoint(s.URL + "#" + model)
	if err != nil {
		t.Fatal(err)
	}
	c := remote.NewClient(ep, "")
	c.Backoff, c.MaxBackoff = time.Millisecond, 5*time.Millisecond
	return c
}

func TestChatStyles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		style  remotetest.Style
		closed bool
	}{
		{"reasoning_content", remotetest.ReasoningContent, true},
		{"reasoning", remotetest.ReasoningField, true},
		{"inline", remotetest.ReasoningInline, true},
		{"template-opened", remotetest.ReasoningOpen, true},
		{"none", remotetest.ReasoningNone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := remotetest.New(t, remotetest.Knobs{Style: tc.style, Words: 7, ReasoningWords: 5,
				Respond: func(remotetest.Request) remotetest.Reply {
					return remotetest.Reply{Reasoning: "Two and two.\nMake four", Content: "It is 4.\n\nDone."}
				}})
			if tc.style == remotetest.ReasoningNone {
				s.Configure(func(k *remotetest.Knobs) {
					k.Respond = func(remotetest.Request) remotetest.Reply { return remotetest.Reply{Content: "It is 4.\n\nDone."} }
				})
			}
			c := fastClient(t, s, "m")
			var got []*remote.ChatResponse
			for _, stream := range []bool{false, true} {
				var streamed strings.Builder
				req := remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "2+2?"}}, TopLogprobs: 3, Stream: stream,
					Seed: ptr(int64(7)), Temperature: ptr(0.6)}
				if stream {
					req.OnDelta = func(d remote.Delta) { streamed.WriteString(d.Reasoning + d.Content) }
				}
				resp, err := c.Chat(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if stream && streamed.Len() == 0 {
					t.Error("OnDelta never called")
				}
				resp.ID = ""
				got = append(got, resp)
			}
			want := &remote.ChatResponse{Model: "m", Content: "It is 4.\n\nDone.", Reasoning: "Two and two.\nMake four",
				ReasoningClosed: tc.closed, FinishReason: "stop", Attempts: 1}
			if !tc.closed {
				want.Reasoning = ""
			}
			usages := []remote.Usage{got[0].Usage, got[1].Usage}
			for i, resp := range got {
				lps := resp.Logprobs
				resp.Logprobs = nil
				resp.Usage = remote.Usage{}
				if diff := cmp.Diff(want, resp); diff != "" {
					t.Errorf("stream=%v (-want +got):\n%s", i == 1, diff)
				}
				if len(lps) == 0 || len(lps[0].TopLogprobs) != 3 || lps[0].TopLogprobs[0].Token != lps[0].Token {
					t.Errorf("stream=%v: logprobs %+v: want one per token with 3 alternatives, the token first", i == 1, lps)
				}
			}
			if diff := cmp.Diff(usages[0], usages[1]); diff != "" || usages[0].CompletionTokens == 0 {
				t.Errorf("usage streamed differs or is empty (-whole +streamed):\n%s", diff)
			}
		})
	}
}

func TestChatRetries(t *testing.T) {
	clean := remotetest.New(t, remotetest.Knobs{})
	want, err := fastClient(t, clean, "m").Chat(context.Background(), remote.ChatRequest{
		Messages: []remote.Message{{Role: "user", Content: "hi"}}, Stream: true, TopLogprobs: 2, Seed: ptr(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	s := remotetest.New(t, remotetest.Knobs{Script: []remotetest.Fault{remotetest.Status429, remotetest.Status500,
		remotetest.Cut, remotetest.Status503, remotetest.Cut}, CutAfter: 5, RetryAfter: 20 * time.Millisecond})
	c := fastClient(t, s, "m")
	var kinds []string
	var waits []time.Duration
	c.OnRetry = func(r remote.Retry) {
		kinds = append(kinds, remote.ErrorKind(r.Err))
		waits = append(waits, r.Wait)
	}
	restarts := 0
	var text strings.Builder
	got, err := c.Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "hi"}},
		Stream: true, TopLogprobs: 2, Seed: ptr(int64(1)), OnDelta: func(d remote.Delta) {
			if d.Restart {
				restarts++
				text.Reset()
			}
			text.WriteString(d.Reasoning + d.Content)
		}})
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := []string{remote.KindRateLimited, remote.KindServer, remote.KindStreamCut, remote.KindServer, remote.KindStreamCut}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("retried errors (-want +got):\n%s", diff)
	}
	for _, i := range []int{0, 3} {
		if waits[i] < 20*time.Millisecond {
			t.Errorf("wait after %s: %v, want at least the Retry-After of 20ms", kinds[i], waits[i])
		}
	}
	if restarts != 2 {
		t.Errorf("%d restart deltas, want 2 (one per cut stream)", restarts)
	}
	if got.Attempts != 6 {
		t.Errorf("attempts %d, want 6", got.Attempts)
	}
	got.Attempts, want.ID, got.ID = 1, "", ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answer after retries differs from a clean one (-want +got):\n%s", diff)
	}
	if text.String() != got.Reasoning+got.Content {
		t.Errorf("streamed text after the last restart %q, want %q", text.String(), got.Reasoning+got.Content)
	}
}

func TestChatGivesUp(t *testing.T) {
	s := remotetest.New(t, remotetest.Knobs{Rate500: 1})
	c := fastClient(t, s, "m")
	c.Retries = 3
	_, err := c.Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "hi"}}})
	var e *remote.Error
	if !errors.As(err, &e) || e.Status != 500 || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("error %v: want a 500 after 4 attempts", err)
	}
	if n := len(s.Requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestChatStall(t *testing.T) {
	for _, stream := range []bool{true, false} {
		s := remotetest.New(t, remotetest.Knobs{Script: []remotetest.Fault{remotetest.Stall}, StallFor: 5 * time.Second})
		c := fastClient(t, s, "m")
		c.IdleTimeout, c.Timeout = 50*time.Millisecond, 10*time.Second
		if !stream {
			c.Timeout = 100 * time.Millisecond
		}
		var kinds []string
		c.OnRetry = func(r remote.Retry) { kinds = append(kinds, remote.ErrorKind(r.Err)) }
		start := time.Now()
		if _, err := c.Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "hi"}}, Stream: stream}); err != nil {
			t.Fatal(err)
		}
		if len(kinds) != 1 || kinds[0] != remote.KindTimeout {
			t.Errorf("stream=%v: retried %v, want one timeout", stream, kinds)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("stream=%v: took %v: the stall was waited out", stream, d)
		}
	}
}

func TestChatErrorsNameTheProvider(t *testing.T) {
	const key = "sk-secret-0123456789"
	for _, tc := range []struct {
		name, model, key string
		status           int
		want             []string
	}{
		{"wrong key", "m", "sk-wrong", 401, []string{"401", "TEST_KEY"}},
		{"unknown model", "nope", key, 404, []string{"404", "nope", "check the model name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := remotetest.New(t, remotetest.Knobs{Key: key, Models: []string{"m"}})
			ep, _ := remote.ParseEndpoint(s.URL + "#" + tc.model)
			ep.Title, ep.KeyEnv = "TestProvider", "TEST_KEY"
			t.Setenv("TEST_KEY", tc.key)
			c, err := remote.FromEnv(ep, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "hi"}}})
			var e *remote.Error
			if !errors.As(err, &e) || e.Status != tc.status {
				t.Fatalf("error %v, want status %d", err, tc.status)
			}
			for _, w := range append(tc.want, "TestProvider") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q shows the key", err)
			}
			if n := len(s.Requests()); n != 1 {
				t.Errorf("%d requests, want 1 (not retried)", n)
			}
		})
	}
}

func TestKeyNeverShown(t *testing.T) {
	const key = "sk-live-abcdefghijklmnop"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": "Incorrect API key provided: " + key}})
	}))
	defer srv.Close()
	ep, _ := remote.ParseEndpoint(srv.URL + "#m")
	c := remote.NewClient(ep, key)
	_, err := c.Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "hi"}}})
	if err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("error %v: want one without the key", err)
	}
	for _, s := range []string{c.String(), c.GoString(), strings.Join([]string{fmtV(c)}, "")} {
		if strings.Contains(s, key) {
			t.Errorf("client formats as %q, which holds the key", s)
		}
	}
}

func TestFromEnvNeedsKey(t *testing.T) {
	ep, err := remote.ParseEndpoint("deepseek:deepseek-reasoner")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEEPSEEK_API_KEY", "")
	if _, err := remote.FromEnv(ep, ""); err == nil || !strings.Contains(err.Error(), "DEEPSEEK_API_KEY") {
		t.Errorf("error %v: want one naming DEEPSEEK_API_KEY", err)
	}
	t.Setenv("OTHER", "k")
	if _, err := remote.FromEnv(ep, "OTHER"); err != nil {
		t.Errorf("with --api-key-env OTHER: %v", err)
	}
	t.Setenv("QILIN_OFFLINE", "1")
	if _, err := remote.FromEnv(ep, "OTHER"); err == nil {
		t.Error("QILIN_OFFLINE=1 allowed api.deepseek.com")
	}
	local, _ := remote.ParseEndpoint("http://127.0.0.1:8080#m")
	if _, err := remote.FromEnv(local, ""); err != nil {
		t.Errorf("QILIN_OFFLINE=1 refused a loopback endpoint: %v", err)
	}
}

func TestRequestBody(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		want map[string]any
	}{
		{"http://h/v1#m", map[string]any{"chat_template_kwargs": map[string]any{"enable_thinking": false}, "max_tokens": 9.0}},
		{"qwen:qwen-max", map[string]any{"enable_thinking": false, "max_tokens": 9.0}},
		{"deepseek:deepseek-reasoner", map[string]any{"thinking": map[string]any{"type": "disabled"}, "max_tokens": 9.0}},
		{"moonshot:kimi-k2.5", map[string]any{"thinking": map[string]any{"type": "disabled"}, "max_tokens": 9.0}},
		{"openrouter:deepseek/deepseek-r1", map[string]any{"reasoning": map[string]any{"enabled": false}, "max_tokens": 9.0}},
		{"openai:o1", map[string]any{"max_completion_tokens": 9.0}},
	} {
		ep, err := remote.ParseEndpoint(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewDecoder(r.Body).Decode(&body)
			w.WriteHeader(400)
		}))
		ep.BaseURL = srv.URL
		remote.NewClient(ep, "k").Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "x"}},
			MaxTokens: 9, Think: ptr(false), TopLogprobs: 2, Seed: ptr(int64(5)), Temperature: ptr(0.5)})
		srv.Close()
		want := map[string]any{"model": ep.Model, "messages": []any{map[string]any{"role": "user", "content": "x"}},
			"logprobs": true, "top_logprobs": 2.0, "seed": 5.0, "temperature": 0.5}
		for k, v := range tc.want {
			want[k] = v
		}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("%s: body (-want +got):\n%s", tc.ref, diff)
		}
	}
}

// TestThinkBudgetBody: a reasoning budget goes in each endpoint's own
// field, and nowhere for endpoints that take none.
func TestThinkBudgetBody(t *testing.T) {
	for _, tc := range []struct {
		ref     string
		budgets bool
		want    map[string]any // the fields besides model and messages
	}{
		{"http://h/v1#m", true, map[string]any{"chat_template_kwargs": map[string]any{"enable_thinking": true}, "thinking_budget_tokens": 64.0}},
		{"qwen:qwen-max", true, map[string]any{"enable_thinking": true, "thinking_budget": 64.0}},
		{"openrouter:deepseek/deepseek-r1", true, map[string]any{"reasoning": map[string]any{"enabled": true, "max_tokens": 64.0}}},
		{"deepseek:deepseek-reasoner", false, map[string]any{"thinking": map[string]any{"type": "enabled"}}},
		{"openai:o1", false, map[string]any{}},
	} {
		ep, err := remote.ParseEndpoint(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		if ep.Budgets() != tc.budgets {
			t.Errorf("%s: Budgets() = %v, want %v", tc.ref, ep.Budgets(), tc.budgets)
		}
		var body map[string]any
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewDecoder(r.Body).Decode(&body)
			w.WriteHeader(400)
		}))
		ep.BaseURL = srv.URL
		budget := 64
		remote.NewClient(ep, "k").Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "x"}},
			Think: ptr(true), ThinkBudget: &budget})
		srv.Close()
		delete(body, "model")
		delete(body, "messages")
		if diff := cmp.Diff(tc.want, body); diff != "" {
			t.Errorf("%s: body (-want +got):\n%s", tc.ref, diff)
		}
	}
}
