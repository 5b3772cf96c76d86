// Package remotetest emulates an OpenAI-compatible chat completions
// endpoint for tests: an httptest server whose answers are a deterministic
// function of the request (model, messages, seed, sampling parameters), with
// reasoning returned as DeepSeek's reasoning_content, OpenRouter's
// reasoning, an inline <think> block or a block the template opened, token
// log-probabilities with top alternatives, usage counts, streaming or not;
// and knobs that make it misbehave: 429 and 503 with Retry-After, 500s,
// streams cut in the middle, stalls, a required API key, unknown models.
// Faults follow a script and then a seeded random draw per request, so a
// run is reproducible whatever the order requests arrive in.
package remotetest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/remote"
)

// Style is how the fake returns reasoning.
type Style int

// Reasoning styles.
const (
	ReasoningContent Style = iota // a reasoning_content field (DeepSeek, vLLM, qilin)
	ReasoningField                // a reasoning field (OpenRouter)
	ReasoningInline               // <think>…</think> at the start of the content
	ReasoningOpen                 // content up to a </think>, the template having opened the block
	ReasoningNone                 // no reasoning
)

// Fault is a misbehaviour of one request.
type Fault int

// Faults.
const (
	OK        Fault = iota
	Status429       // 429 with Retry-After
	Status500       // 500
	Status503       // 503 with Retry-After
	Cut             // the connection drops after Knobs.CutAfter events (or before the body)
	Stall           // nothing is sent for Knobs.StallFor (after Knobs.CutAfter events of a stream), then the rest
)

func (f Fault) String() string {
	return [...]string{"ok", "429", "500", "503", "cut", "stall"}[f]
}

// Knobs configure a Server. Change them with Server.Configure.
type Knobs struct {
	Key    string   // bearer token the server requires; "" requires none
	Models []string // models it serves (others get 404); empty serves any
	Style  Style
	// Words and ReasoningWords are the lengths of an answer and of its
	// reasoning, in tokens; 0 means 24 and 16.
	Words, ReasoningWords int
	NoUsage               bool          // leave usage out
	NoLogprobs            bool          // ignore logprobs requests
	Delay                 time.Duration // pause before each streamed event

	// Script gives the faults of the first len(Script) requests, in the
	// order they arrive; after it each request draws its fault from the
	// rates below with a generator seeded by (Seed, request number).
	Script                    []Fault
	Seed                      uint64
	Rate429, Rate500, RateCut float64
	RetryAfter                time.Duration // announced with 429 and 503; 0 means 10ms
	CutAfter                  int           // events sent before a cut; 0 means 3
	StallFor                  time.Duration // length of a Stall; 0 means one second

	// Respond, when not nil, gives the answer instead of the generated
	// words (it must be deterministic for reproducible runs).
	Respond func(Request) Reply
}

// Request is a request as the server received it.
type Request struct {
	Auth        string // the Authorization header
	Model       string
	Messages    []remote.Message
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	Seed        *int64
	Logprobs    bool
	TopLogprobs int
	Stream      bool
	Think       *bool // from chat_template_kwargs.enable_thinking
	Body        json.RawMessage
}

// Reply is an answer to give.
type Reply struct {
	Reasoning, Content string
}

// Server is a fake endpoint.
type Server struct {
	// URL is the API root (".../v1") to use in URL#MODEL.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	knobs    Knobs
	n        int // requests received
	requests []Request
	faults   map[Fault]int
	answered int
}

// New starts a Server, closed when the test ends.
func New(t testing.TB, k Knobs) *Server {
	s := &Server{knobs: k, faults: map[Fault]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.route))
	s.URL = s.srv.URL + "/v1"
	t.Cleanup(s.srv.Close)
	return s
}

// Configure changes the knobs for the requests that follow.
func (s *Server) Configure(f func(*Knobs)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.knobs)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Stats returns how many requests got each fault and how many were
// answered in full.
func (s *Server) Stats() (faults map[Fault]int, answered int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[Fault]int{}
	for k, v := range s.faults {
		out[k] = v
	}
	return out, s.answered
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		s.models(w)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		s.chat(w, r)
	default:
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) models(w http.ResponseWriter) {
	s.mu.Lock()
	models := s.knobs.Models
	s.mu.Unlock()
	data := []map[string]string{}
	for _, m := range models {
		data = append(data, map[string]string{"id": m, "object": "model"})
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

// wireRequest is the part of a request body the fake reads.
type wireRequest struct {
	Model       string           `json:"model"`
	Messages    []remote.Message `json:"messages"`
	MaxTokens   int              `json:"max_tokens"`
	MaxCompl    int              `json:"max_completion_tokens"`
	Temperature *float64         `json:"temperature"`
	TopP        *float64         `json:"top_p"`
	Seed        *int64           `json:"seed"`
	Logprobs    bool             `json:"logprobs"`
	TopLogprobs int              `json:"top_logprobs"`
	Stream      bool             `json:"stream"`
	StreamOpts  *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	TemplateArgs map[string]any `json:"chat_template_kwargs"`
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return
	}
	var wr wireRequest
	if err := json.Unmarshal(body, &wr); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "malformed JSON: "+err.Error())
		return
	}
	req := Request{Auth: r.Header.Get("Authorization"), Model: wr.Model, Messages: wr.Messages, MaxTokens: max(wr.MaxTokens, wr.MaxCompl),
		Temperature: wr.Temperature, TopP: wr.TopP, Seed: wr.Seed, Logprobs: wr.Logprobs || wr.TopLogprobs > 0,
		TopLogprobs: wr.TopLogprobs, Stream: wr.Stream, Body: body}
	if v, ok := wr.TemplateArgs["enable_thinking"].(bool); ok {
		req.Think = &v
	}

	s.mu.Lock()
	k := s.knobs
	n := s.n
	s.n++
	s.requests = append(s.requests, req)
	fault := s.fault(n)
	s.faults[fault]++
	s.mu.Unlock()

	if k.Key != "" && req.Auth != "Bearer "+k.Key {
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided")
		return
	}
	if len(k.Models) > 0 && !slices.Contains(k.Models, req.Model) {
		writeError(w, http.StatusNotFound, "model_not_found", fmt.Sprintf("The model `%s` does not exist", req.Model))
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages must not be empty")
		return
	}
	retry := k.RetryAfter
	if retry <= 0 {
		retry = 10 * time.Millisecond
	}
	switch fault {
	case Status429, Status503:
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
		w.Header().Set("Retry-After-Ms", strconv.FormatInt(retry.Milliseconds(), 10))
		code, msg := http.StatusTooManyRequests, "Rate limit reached"
		if fault == Status503 {
			code, msg = http.StatusServiceUnavailable, "The server is overloaded"
		}
		writeError(w, code, "rate_limit_exceeded", msg)
		return
	case Status500:
		writeError(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	case Stall:
		if !req.Stream && !sleep(r, k.StallFor) {
			return
		}
	}
	a := s.answer(&req, &k)
	at := -1 // the event before which a stream is cut or stalls
	if fault == Cut || fault == Stall {
		at = k.CutAfter
		if at <= 0 {
			at = 3
		}
	}
	var complete bool
	if req.Stream {
		complete = writeStream(w, r, a, &k, wr.StreamOpts != nil && wr.StreamOpts.IncludeUsage, at, fault == Stall)
	} else {
		if fault == Cut {
			panic(http.ErrAbortHandler)
		}
		writeWhole(w, a, &k)
		complete = true
	}
	if complete {
		s.mu.Lock()
		s.answered++
		s.mu.Unlock()
	}
}

// fault decides the fault of request n.
func (s *Server) fault(n int) Fault {
	k := &s.knobs
	if n < len(k.Script) {
		return k.Script[n]
	}
	// Mix (Seed, n) first: PCG streams of neighbouring seeds start alike.
	x := rand.New(rand.NewPCG(splitmix(k.Seed), splitmix(uint64(n)^0x5851f42d4c957f2d))).Float64()
	switch {
	case x < k.Rate429:
		return Status429
	case x < k.Rate429+k.Rate500:
		return Status500
	case x < k.Rate429+k.Rate500+k.RateCut:
		return Cut
	}
	return OK
}

func writeError(w http.ResponseWriter, code int, kind, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": kind, "code": kind}})
}

// sleep pauses for d (0 means one second) or until the client leaves.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		d = time.Second
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

// flush sends what was written so far.
func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// splitmix is SplitMix64's finalizer, a bijective mix of x's bits.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
