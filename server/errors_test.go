package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func TestRequestErrors(t *testing.T) {
	ts := startServer(t, modelR1, Options{MaxBodyBytes: 64 << 10})
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200)
	for _, tc := range []struct {
		name, path, body string
		status           int
		code, param      string
		msg              string // substring of the message
	}{
		{"malformed", "/v1/chat/completions", `{"model":"test-model","messages":[`, 400, "invalid_request", "", "malformed JSON"},
		{"not an object", "/v1/chat/completions", `[1,2]`, 400, "invalid_request", "", "want a JSON object"},
		{"trailing data", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]} {}`, 400, "invalid_request", "", "after the request"},
		{"wrong type", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, 400, "invalid_request", "temperature", "want a number"},
		{"nested wrong type", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}}`, 400, "invalid_request", "stream_options.include_usage", "want a boolean"},
		{"messages not array", "/v1/chat/completions", `{"messages":"hi"}`, 400, "invalid_request", "messages", "array"},
		{"no messages", "/v1/chat/completions", `{"model":"test-model"}`, 400, "invalid_request", "messages", "required"},
		{"no role", "/v1/chat/completions", `{"messages":[{"content":"x"}]}`, 400, "invalid_request", "messages[0].role", ""},
		{"unknown role", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"},{"role":"wizard","content":"x"}]}`, 400, "invalid_request", "messages[1].role", `"wizard" is not a known role`},
		{"token out of vocabulary", "/v1/completions", `{"prompt":[1, 5000]}`, 400, "invalid_request", "prompt", "token 5000 is outside the vocabulary of 1024"},
		{"negative token", "/v1/completions", `{"prompt":[[1, 2], [3, -1]]}`, 400, "invalid_request", "prompt", "token -1 is outside"},
		{"image part", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "invalid_request", "messages[0].content[0]", "this model takes text only"},
		{"stop type", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"stop":5}`, 400, "invalid_request", "stop", ""},
		{"temperature range", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"temperature":3}`, 400, "invalid_request", "temperature", "outside"},
		{"top_logprobs", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21}`, 400, "invalid_request", "top_logprobs", "20"},
		{"n", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"n":0}`, 400, "invalid_request", "n", ""},
		{"max_tokens above limit", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"max_tokens":100000}`, 400, "invalid_request", "max_tokens", "limit of 512"},
		{"max_completion_tokens", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":0}`, 400, "invalid_request", "max_completion_tokens", ""},
		{"tool_choice", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tool_choice":"required"}`, 400, "invalid_request", "tool_choice", ""},
		{"bad tool", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}`, 400, "invalid_request", "tools[0]", ""},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}`, 404, "model_not_found", "model", "gpt-9"},
		{"prompt too long", "/v1/chat/completions", `{"messages":[{"role":"user","content":"` + long + `"}]}`, 400, "context_length_exceeded", "messages", "context"},
		{"completion too long", "/v1/completions", `{"prompt":"` + long + `"}`, 400, "context_length_exceeded", "", "context"},
		{"completion prompt type", "/v1/completions", `{"prompt":{"a":1}}`, 400, "invalid_request", "prompt", ""},
		{"body too large", "/v1/chat/completions", `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 70<<10) + `"}]}`, 413, "request_too_large", "", "bytes"},
		{"no route", "/v1/embeddings", `{}`, 404, "not_found", "", "no route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := ts.post(t, tc.path, tc.body)
			e := openAIError(t, body)
			if code != tc.status || e.Code != tc.code || (tc.param != "" && e.Param != tc.param) || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("status %d code %q param %q message %q; want %d %q %q containing %q", code, e.Code, e.Param, e.Message, tc.status, tc.code, tc.param, tc.msg)
			}
		})
	}
	// The SDK sees a typed error.
	_, err := ts.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-9", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	var ae *openai.Error
	if !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Code != "model_not_found" {
		t.Errorf("SDK error %v", err)
	}
}

// TestQueueFullAndDisconnect: with one slot and no queue, a second request
// is refused with 429 and Retry-After; a client that goes away frees the
// slot at once.
func TestQueueFullAndDisconnect(t *testing.T) {
	ts := startServer(t, modelStories, Options{Sched: schedOpts(1, -1)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions",
		strings.NewReader(`{"prompt":"Once upon a time","stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: {") {
		t.Fatalf("first SSE line %q, %v", line, err)
	}
	if st := ts.m.sched.Stats(); st.Running != 1 || st.KVUsed == 0 {
		t.Errorf("while streaming: %+v", st)
	}
	metrics := ts.metricsText(t)
	for _, want := range []string{`vllm:num_requests_running{model_name="test-model"} 1`, `vllm:num_requests_waiting{model_name="test-model"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	code, hdr, body := ts.post(t, "/v1/completions", `{"prompt":"Hello","max_tokens":2}`)
	if e := openAIError(t, body); code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || e.Type != "rate_limit_error" {
		t.Errorf("busy server: %d Retry-After %q %s", code, hdr.Get("Retry-After"), body)
	}
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for ts.m.sched.Stats().Running != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the disconnected client's slot was not freed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, _, body := ts.post(t, "/v1/completions", `{"prompt":"Hello","max_tokens":2}`); code != 200 {
		t.Errorf("after the disconnect: %d %s", code, body)
	}
	if !strings.Contains(ts.metricsText(t), `qilin_http_requests_total{path="/v1/completions",code="429"} 1`) {
		t.Errorf("metrics do not count the 429")
	}
}

func (ts *testServer) metricsText(t *testing.T) string {
	t.Helper()
	code, hdr, b := ts.do(t, "GET", "/metrics", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q", code, hdr.Get("Content-Type"))
	}
	return string(b)
}

func TestAuthCORSAndHealth(t *testing.T) {
	ts := startServer(t, modelStories, Options{APIKeys: []string{"key-one", "key-two"}, CORSOrigin: "https://app.example"})
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/v1/models", "", 401},
		{"GET", "/v1/models", "Bearer wrong", 401},
		{"GET", "/v1/models", "key-two", 401}, // no Bearer scheme
		{"GET", "/v1/models", "Bearer key-two", 200},
		{"GET", "/api/tags", "Bearer key-one", 200},
		{"GET", "/api/tags", "", 401},
		{"GET", "/metrics", "", 401},
		{"GET", "/health", "", 200},
		{"HEAD", "/", "", 200}, // health checkers
		{"GET", "/", "", 200},  // the chat page
		{"GET", "/ui/app.js", "", 200},
		{"GET", "/props", "", 401},
		{"GET", "/nope", "", 401},
		{"GET", "/nope", "Bearer key-one", 404},
	} {
		code, hdr, b := ts.do(t, tc.method, tc.path, "", "Authorization", tc.auth)
		if code != tc.want {
			t.Errorf("%s %s with %q: %d %s, want %d", tc.method, tc.path, tc.auth, code, b, tc.want)
		}
		if hdr.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("%s: no CORS header", tc.path)
		}
	}
	// Preflight needs no key.
	code, hdr, _ := ts.do(t, "OPTIONS", "/v1/chat/completions", "")
	if code != 204 || !strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", code, hdr)
	}
	// The SDK sends its key as a bearer token.
	if _, err := ts.client(option.WithAPIKey("key-one")).Models.List(context.Background()); err != nil {
		t.Errorf("SDK with the key: %v", err)
	}
	var ae *openai.Error
	if _, err := ts.client().Models.List(context.Background()); !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != "invalid_api_key" {
		t.Errorf("SDK without the key: %v", err)
	}

	// Without the option there is no CORS header.
	plain := startServer(t, modelStories, Options{})
	if _, hdr, _ := plain.do(t, "GET", "/v1/models", ""); hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header without --cors-origin")
	}

	// Loading: 503 everywhere but /metrics.
	s := New(Options{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	for _, tc := range []struct {
		path string
		want int
	}{{"/health", 503}, {"/v1/models", 503}, {"/api/tags", 503}, {"/metrics", 200}} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("loading, %s: %d, want %d", tc.path, rec.Code, tc.want)
		}
	}
}

// TestLogsKeepPromptsPrivate: prompt and output text reach the log only with
// LogPrompts.
func TestLogsKeepPromptsPrivate(t *testing.T) {
	const secret = "my-secret-diary-entry"
	for _, logPrompts := range []bool{false, true} {
		var buf syncBuffer
		ts := startServer(t, modelStories, Options{LogPrompts: logPrompts, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		if code, _, b := ts.post(t, "/v1/chat/completions", `{"messages":[{"role":"user","content":"`+secret+`"}],"max_tokens":2}`); code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		logs := buf.String()
		if strings.Contains(logs, secret) != logPrompts {
			t.Errorf("LogPrompts %v: secret in logs = %v:\n%s", logPrompts, !logPrompts, logs)
		}
		if !strings.Contains(logs, "completion_tokens=2") || !strings.Contains(logs, "no chat template") {
			t.Errorf("logs lack the generation record or the fallback-template warning:\n%s", logs)
		}
	}
}

func TestMetrics(t *testing.T) {
	ts := startServer(t, modelStories, Options{})
	for range 2 {
		if code, _, b := ts.post(t, "/v1/completions", `{"prompt":"Once upon a time","max_tokens":5}`); code != 200 {
			t.Fatalf("%d %s", code, b)
		}
	}
	m := ts.metricsText(t)
	for _, want := range []string{
		"# TYPE vllm:num_requests_running gauge",
		`vllm:num_requests_running{model_name="test-model"} 0`,
		`vllm:num_requests_waiting{model_name="test-model"} 0`,
		`vllm:kv_cache_usage_perc{model_name="test-model"} 0`,
		`qilin_generation_tokens_total{model_name="test-model"} 10`,
		`qilin_time_to_first_token_seconds_count{model_name="test-model"} 2`,
		`qilin_inter_token_latency_seconds_count{model_name="test-model"} 8`,
		`qilin_time_to_first_token_seconds_bucket{model_name="test-model",le="+Inf"} 2`,
		`qilin_request_decode_tokens_per_second_count{model_name="test-model"} 2`,
		`qilin_http_requests_total{path="/v1/completions",code="200"} 2`,
		"# TYPE qilin_inter_token_latency_seconds histogram",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The second request reused the first one's prompt.
	if strings.Contains(m, `qilin_prompt_tokens_cached_total{model_name="test-model"} 0`) {
		t.Errorf("no cached prompt tokens counted")
	}
}

// TestBodyTooLargeAnswered: a client that sends its whole oversized body
// before reading (as Python's urllib does) gets the 413 JSON error, not a
// reset connection.
func TestBodyTooLargeAnswered(t *testing.T) {
	ts := startServer(t, modelStories, Options{MaxBodyBytes: 64 << 10})
	body := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 8<<20) + `"}]}`
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	head := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	if _, err := io.WriteString(conn, head+body); err != nil {
		t.Fatalf("sending the body: %v (the server cut the connection)", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if e := openAIError(t, b); resp.StatusCode != 413 || e.Code != "request_too_large" {
		t.Errorf("status %d, body %s", resp.StatusCode, b)
	}
}
