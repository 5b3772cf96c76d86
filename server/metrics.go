package server

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/qilin-ai/qilin/engine"
)

// metrics holds the server's counters and histograms.
type metrics struct {
	ttft, itl, tps *histogram

	mu       sync.Mutex
	requests map[[2]string]int64 // (path, code) -> count

	promptTokens, cachedTokens, generatedTokens, finished atomic.Int64
}

func newMetrics() *metrics {
	return &metrics{
		ttft: newHistogram("qilin_time_to_first_token_seconds", "Time from a request's arrival to its first generated token.",
			[]float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
		itl: newHistogram("qilin_inter_token_latency_seconds", "Time between consecutive generated tokens of a stream.",
			[]float64{0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1}),
		tps: newHistogram("qilin_request_decode_tokens_per_second", "Decode speed of each finished request.",
			[]float64{1, 2, 5, 10, 20, 30, 50, 75, 100, 200, 500}),
		requests: map[[2]string]int64{},
	}
}

// request counts a served request by route and status code.
func (m *metrics) request(path string, code int) {
	switch {
	case strings.HasPrefix(path, "/v1/models/"):
		path = "/v1/models/{id}"
	case !knownPath(path):
		path = "other"
	}
	m.mu.Lock()
	m.requests[[2]string{path, fmt.Sprint(code)}]++
	m.mu.Unlock()
}

func knownPath(p string) bool {
	switch p {
	case "/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions",
		"/api/chat", "/api/generate", "/api/tags", "/api/show", "/api/ps", "/api/version":
		return true
	}
	return false
}

// tokens counts a finished choice's tokens.
func (m *metrics) tokens(res engine.Result) {
	m.promptTokens.Add(int64(res.PromptTokens))
	m.cachedTokens.Add(int64(res.CachedTokens))
	m.generatedTokens.Add(int64(res.CompletionTokens))
	m.finished.Add(1)
}

// histogram is a Prometheus histogram with fixed buckets, safe for
// concurrent use without locks.
type histogram struct {
	name, help string
	bounds     []float64
	counts     []atomic.Int64 // per bucket (not cumulative), +Inf last
	sumMicros  atomic.Int64   // sum in millionths
}

func newHistogram(name, help string, bounds []float64) *histogram {
	return &histogram{name: name, help: help, bounds: bounds, counts: make([]atomic.Int64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	if math.IsNaN(v) || v < 0 {
		return
	}
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i].Add(1)
	h.sumMicros.Add(int64(v * 1e6))
}

func (h *histogram) write(w io.Writer, labels string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.name, h.help, h.name)
	var cum int64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		fmt.Fprintf(w, "%s_bucket{%sle=\"%g\"} %d\n", h.name, labels, b, cum)
	}
	cum += h.counts[len(h.bounds)].Load()
	fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", h.name, labels, cum)
	fmt.Fprintf(w, "%s_sum{%s} %g\n", h.name, strings.TrimSuffix(labels, ","), float64(h.sumMicros.Load())/1e6)
	fmt.Fprintf(w, "%s_count{%s} %d\n", h.name, strings.TrimSuffix(labels, ","), cum)
}

// serveMetrics writes the Prometheus text exposition.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var sb strings.Builder
	m := s.state.Load()
	name := ""
	var st engine.SchedStats
	if m != nil {
		name = m.name
		st = m.sched.Stats()
	}
	lbl := fmt.Sprintf("model_name=%q", name)
	gauge := func(metric, help string, v float64) {
		fmt.Fprintf(&sb, "# HELP %s %s\n# TYPE %s gauge\n%s{%s} %g\n", metric, help, metric, metric, lbl, v)
	}
	counter := func(metric, help string, v int64) {
		fmt.Fprintf(&sb, "# HELP %s %s\n# TYPE %s counter\n%s{%s} %d\n", metric, help, metric, metric, lbl, v)
	}
	kv := 0.0
	if st.KVTotal > 0 {
		kv = float64(st.KVUsed) / float64(st.KVTotal)
	}
	gauge("vllm:num_requests_running", "Requests in a decoding slot.", float64(st.Running))
	gauge("vllm:num_requests_waiting", "Requests waiting for a slot.", float64(st.Waiting))
	gauge("vllm:kv_cache_usage_perc", "Fraction of KV-cache positions held by running requests (0 to 1).", kv)
	loaded := 0.0
	if m != nil {
		loaded = 1
	}
	gauge("qilin_model_loaded", "1 once the model is loaded.", loaded)
	gauge("qilin_slots", "Parallel decoding slots.", float64(st.Slots))
	counter("qilin_prompt_tokens_total", "Prompt tokens of admitted requests.", st.PromptTokens)
	counter("qilin_prompt_tokens_cached_total", "Prompt tokens whose KV cache was reused.", st.CachedTokens)
	counter("qilin_generation_tokens_total", "Generated tokens.", st.GeneratedTokens)
	counter("qilin_forward_steps_total", "Batched forward steps run.", st.Steps)
	counter("qilin_requests_finished_total", "Finished generations (choices).", s.metrics.finished.Load())
	fmt.Fprintf(&sb, "# HELP qilin_http_requests_total HTTP requests by route and status code.\n# TYPE qilin_http_requests_total counter\n")
	s.metrics.mu.Lock()
	keys := make([][2]string, 0, len(s.metrics.requests))
	for k := range s.metrics.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(&sb, "qilin_http_requests_total{path=%q,code=%q} %d\n", k[0], k[1], s.metrics.requests[k])
	}
	s.metrics.mu.Unlock()
	for _, h := range []*histogram{s.metrics.ttft, s.metrics.itl, s.metrics.tps} {
		h.write(&sb, lbl+",")
	}
	io.WriteString(w, sb.String())
}
