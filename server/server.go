package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/grammar"
	"github.com/qilin-ai/qilin/watermark"
)

// Reasoning formats (Options.ReasoningFormat).
const (
	ReasoningDeepSeek = "deepseek" // reasoning in reasoning_content / message.thinking
	ReasoningNone     = "none"     // leave <think>…</think> in the content
)

// grammarCacheSize is how many compiled grammars (schemas, GBNF texts) a
// server keeps.
const grammarCacheSize = 64

// Version is reported by /api/version.
const Version = "0.9.0"

// Options configures a Server. The zero value serves without API keys or
// CORS, with DeepSeek-style reasoning output.
type Options struct {
	// ModelName is the id clients use; "" means the model file's base name
	// without .gguf.
	ModelName string
	// APIKeys, when any, are required as "Authorization: Bearer KEY" on
	// every route but /health and the chat page's files.
	APIKeys []string
	// CORSOrigin, when set, is sent as Access-Control-Allow-Origin ("*"
	// for any) and preflight requests are answered.
	CORSOrigin string
	// ReasoningFormat is ReasoningDeepSeek ("" too) or ReasoningNone.
	ReasoningFormat string
	// LogPrompts logs rendered prompts and outputs (off: never).
	LogPrompts bool
	// Logger receives request logs; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means 8 MiB.
	MaxBodyBytes int64
	// MaxTokensLimit is the largest max_tokens accepted; 0 means the slot
	// context.
	MaxTokensLimit int
	// Sched configures the scheduler started by Load.
	Sched engine.SchedOptions
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Watermark, when set, marks every generated answer (reasoning and
	// content, every route) with this key (engine.Watermark), and responses
	// say so in the X-Qilin-Watermark header. A greedy request (temperature
	// 0) cannot carry a mark: it is answered unmarked, with
	// X-Qilin-Watermark: none and the reason in X-Qilin-Watermark-Note.
	Watermark *watermark.Key
}

// Server is an http.Handler serving one model.
type Server struct {
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	keys    [][sha256.Size]byte
	state   atomic.Pointer[model] // nil while loading
	metrics *metrics
	started time.Time
	// grammars holds the compiled grammars of structured-output requests.
	grammars *grammar.Cache
	// control, when set (by tests), adds processors to every request.
	control func(prompt []int) []engine.Processor
}

// model is what Load attaches.
type model struct {
	e       *engine.Engine
	sched   *engine.Scheduler
	name    string
	path    string
	loaded  time.Time
	tools   chat.ToolFormat
	maxToks int
}

// New returns a server that answers 503 until Load attaches a model.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	if opts.ReasoningFormat == "" {
		opts.ReasoningFormat = ReasoningDeepSeek
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux(), metrics: newMetrics(), started: opts.Now(),
		grammars: grammar.NewCache(grammarCacheSize)}
	for _, k := range opts.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	for _, rt := range s.routes() {
		s.Handle(rt.pattern, rt.handler, rt.public)
	}
	return s
}

// ValidReasoningFormat reports whether f is a known reasoning format.
func ValidReasoningFormat(f string) bool {
	return f == ReasoningDeepSeek || f == ReasoningNone || f == ""
}

// Load attaches a loaded engine and starts its scheduler; from then on the
// server answers requests. path is the model file (for listings).
func (s *Server) Load(e *engine.Engine, path string) error {
	if s.state.Load() != nil {
		return errors.New("server: a model is already loaded")
	}
	if w := e.TemplateWarning(); w != "" {
		s.log.Warn(w)
	}
	m := &model{e: e, path: path, loaded: s.opts.Now(), tools: chat.ToolFormatFor(e.Template().Source())}
	m.name = s.opts.ModelName
	if m.name == "" {
		m.name = strings.TrimSuffix(filepath.Base(path), ".gguf")
	}
	m.sched = e.NewScheduler(s.opts.Sched)
	m.maxToks = s.opts.MaxTokensLimit
	if m.maxToks <= 0 {
		m.maxToks = m.sched.Options().SlotContext
	}
	s.state.Store(m)
	s.log.Info("model loaded", "model", m.name, "slots", m.sched.Options().Slots, "context", m.sched.Options().SlotContext)
	return nil
}

// Shutdown stops accepting generation requests and waits for running ones
// until ctx ends, then cancels them.
func (s *Server) Shutdown(ctx context.Context) error {
	if m := s.state.Load(); m != nil {
		return m.sched.Close(ctx)
	}
	return nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.metrics.request(r.URL.Path, rec.status)
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", s.opts.Now().Sub(start).Round(time.Microsecond))
	}()
	if s.opts.CORSOrigin != "" {
		h := rec.Header()
		h.Set("Access-Control-Allow-Origin", s.opts.CORSOrigin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			rec.WriteHeader(http.StatusNoContent)
			return
		}
	}
	limitBody(rec, r, s.opts.MaxBodyBytes)
	s.mux.ServeHTTP(rec, r)
}

// guard serves h only with a valid API key (see Options.APIKeys).
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			e := &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key",
				Message: "missing or invalid API key: send Authorization: Bearer KEY"}
			w.Header().Set("WWW-Authenticate", `Bearer realm="qilin"`)
			s.writeError(w, r, e)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorized checks the bearer key in constant time (over key hashes, so
// that neither content nor length leaks).
func (s *Server) authorized(r *http.Request) bool {
	if len(s.keys) == 0 {
		return true
	}
	auth := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(key)))
	match := 0
	for i := range s.keys {
		match |= subtle.ConstantTimeCompare(h[:], s.keys[i][:])
	}
	return match == 1
}

// writeError writes e in the shape of the route's API.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeOllamaError(w, e)
		return
	}
	writeOpenAIError(w, e)
}

// withModel answers 503 while no model is loaded.
func (s *Server) withModel(h func(http.ResponseWriter, *http.Request, *model)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := s.state.Load()
		if m == nil {
			w.Header().Set("Retry-After", "5")
			s.writeError(w, r, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "model_loading",
				Message: "the model is still loading"})
			return
		}
		h(w, r, m)
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if s.state.Load() == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// checkModel resolves a requested model name: "" and the served name (with
// or without an Ollama ":latest" tag, or as its file name) are accepted.
func (m *model) checkModel(name string) *apiError {
	n := strings.TrimSuffix(name, ":latest")
	if name == "" || n == m.name || name == m.path || n == strings.TrimSuffix(filepath.Base(m.path), ".gguf") {
		return nil
	}
	return notFoundModel(name)
}

// fileInfo returns the model file's size and modification time.
func (m *model) fileInfo() (int64, time.Time) {
	fi, err := os.Stat(m.path)
	if err != nil { // a model that is no file, such as qilin's built-in one
		return m.e.File.Size, m.loaded
	}
	return fi.Size(), fi.ModTime()
}

// statusRecorder remembers the status code and passes flushes through.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
