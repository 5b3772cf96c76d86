package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/enginetest"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// Test models: syn-qwen2 carries the DeepSeek-R1-Distill-Qwen template
// (its generation prompt opens <think>), syn-qwen3 the Qwen3 template
// (<tool_call>, enable_thinking), stories260K no template at all.
const (
	modelR1      = "syn-qwen2-q8_0.gguf"
	modelQwen3   = "syn-qwen3-q8_0.gguf"
	modelStories = "stories260K.gguf"
	testCtx      = 512
)

var (
	enginesMu sync.Mutex
	engines   = map[string]*engine.Engine{}
)

// testEngine loads a shared test model once per test binary (with
// template, when not empty, as its chat template). The engine must only be
// used by one scheduler at a time, so tests that take it do not run in
// parallel.
func testEngine(t testing.TB, name string, template ...string) (*engine.Engine, string) {
	t.Helper()
	path := testdata.Path(t, "models", name)
	opts := engine.Options{Context: testCtx}
	key := name
	if len(template) > 0 {
		opts.ChatTemplate = template[0]
		key += "\x00" + template[0]
	}
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e, ok := engines[key]; ok {
		return e, path
	}
	e, err := engine.Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	engines[key] = e
	return e, path
}

// setup is what a test adds to a server: a chat template for its engine,
// processors for every request (a script).
type setup struct {
	template string
	control  func(prompt []int) []engine.Processor
}

// withTemplate replaces the model's chat template.
func withTemplate(src string) func(*setup) { return func(s *setup) { s.template = src } }

// withScript makes the model write text in every answer (see scriptFor).
func withScript(f func([]int) []engine.Processor) func(*setup) {
	return func(s *setup) { s.control = f }
}

// testServer is a running server on a random loopback port.
type testServer struct {
	*Server
	URL string
	e   *engine.Engine
	m   *model
}

func startServer(t testing.TB, name string, opts Options, with ...func(*setup)) *testServer {
	t.Helper()
	var su setup
	for _, f := range with {
		f(&su)
	}
	var tmpl []string
	if su.template != "" {
		tmpl = []string{su.template}
	}
	e, path := testEngine(t, name, tmpl...)
	if opts.Sched.Slots == 0 {
		opts.Sched.Slots = 4
	}
	opts.ModelName = "test-model"
	return serveEngine(t, e, path, opts, su.control)
}

// serveEngine serves e (loaded from path) on a random loopback port, with
// control's processors in every request (nil: none), until the test ends.
func serveEngine(t testing.TB, e *engine.Engine, path string, opts Options, control func([]int) []engine.Processor) *testServer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := New(opts)
	s.control = control
	if err := s.Load(e, path); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &testServer{Server: s, URL: ts.URL, e: e, m: s.state.Load()}
}

func (ts *testServer) client(opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{option.WithBaseURL(ts.URL + "/v1/"),
		option.WithAPIKey("unused"), option.WithMaxRetries(0)}, opts...)...)
	return &c
}

// post sends a JSON body and returns the status, headers and body.
func (ts *testServer) post(t testing.TB, path, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	return ts.do(t, http.MethodPost, path, body, hdr...)
}

func (ts *testServer) do(t testing.TB, method, path, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// openAIError decodes an OpenAI-shaped error body, failing t when the
// shape is wrong.
func openAIError(t testing.TB, body []byte) apiError {
	t.Helper()
	var e struct {
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	return *e.Error
}

// ndjson splits a newline-delimited JSON body into objects.
func ndjson(t testing.TB, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad NDJSON line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// greedyAlone decodes prompt greedily by hand: the reference.
func greedyAlone(t testing.TB, e *engine.Engine, prompt []int, n int) []int {
	t.Helper()
	out, err := enginetest.Greedy(e.NewSequenceBatch(64), e.Tok.IsEOG, prompt, n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// extra returns a string field the SDK keeps in ExtraFields.
func extraString(t testing.TB, raw string) string {
	t.Helper()
	if raw == "" || raw == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("extra field %s: %v", raw, err)
	}
	return s
}

// scriptFor returns a control that makes the model write text (its
// special-token text parsed as the template's), forced whole and then
// ended, and records prompts.
func scriptFor(t testing.TB, name, text string, prompts *[][]int) func([]int) []engine.Processor {
	e, _ := testEngine(t, name)
	ids, err := e.Tok.Encode(text, false, true)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	return func(p []int) []engine.Processor {
		if prompts != nil {
			mu.Lock()
			*prompts = append(*prompts, append([]int(nil), p...))
			mu.Unlock()
		}
		return []engine.Processor{engine.ProcessorFunc(func(st *engine.Step) error {
			st.Force(append(append([]int(nil), ids...), st.EOG()[0])...)
			return nil
		})}
	}
}

func schedOpts(slots, maxQueue int) engine.SchedOptions {
	return engine.SchedOptions{Slots: slots, MaxQueue: maxQueue}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
