package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/quantize"
	"github.com/qilin-ai/qilin/synth"
)

// BenchmarkServeLoad measures aggregate decode throughput of the whole
// server at 1, 4, 8 and 16 concurrent streams. It is a load test, not a
// unit test: run it with
//
//	go test ./server -run '^$' -bench ServeLoad -benchtime 1x -timeout 30m
//
// Method. The model is $QILIN_BENCH_MODEL, or else a random-weight model
// with the exact shape of Qwen2.5-0.5B-Instruct quantized to Q8_0, written
// once by package synth into the temp directory. One server (16 slots of
// 512 positions, so the slot count never limits) is started on a loopback
// port. For each concurrency C, C clients each stream one
// /v1/completions request over HTTP (SSE) with a distinct 16-word prompt,
// greedy sampling and max_tokens 128; the prompts are evaluated first in
// one short pass, so the run is dominated by decoding. Aggregate decode
// tokens/s is the number of tokens received after each stream's first
// token (from the usage chunk), summed over streams, divided by the time from the first "first
// token" to the end of the last stream. Also reported: mean time to first
// token and the speedup over one stream. Before the measured run, a warm-up
// request loads the weights into the page cache. Heap in use is sampled
// after each run to watch for growth.
func BenchmarkServeLoad(b *testing.B) {
	ts := benchServer(b, 16)
	benchStreams(b, ts.URL, 1, 8) // warm-up
	var single float64
	for _, c := range []int{1, 4, 8, 16} {
		b.Run(fmt.Sprintf("streams=%d", c), func(b *testing.B) {
			for range b.N {
				r := benchStreams(b, ts.URL, c, 128)
				if c == 1 {
					single = r.tps
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(r.tps, "tok/s")
				b.ReportMetric(r.ttft.Seconds()*1000, "ms-ttft")
				if single > 0 {
					b.ReportMetric(r.tps/single, "x-single")
				}
				b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
			}
		})
	}
}

// benchServer starts a server with the benchmark model and the given number
// of slots (512 positions each) on a loopback port; it stops with the
// benchmark.
func benchServer(b *testing.B, slots int) *httptest.Server {
	path := benchModel(b)
	e, err := engine.Load(path, engine.Options{Context: 512})
	if err != nil {
		b.Fatal(err)
	}
	s := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ModelName: "bench",
		Sched: engine.SchedOptions{Slots: slots, SlotContext: 512, MaxQueue: 64}})
	if err := s.Load(e, path); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s)
	b.Cleanup(func() {
		ts.Close()
		s.Shutdown(context.Background())
		e.Close()
	})
	return ts
}

type loadResult struct {
	tps  float64
	ttft time.Duration
}

// benchStreams runs c concurrent streaming completions of n tokens.
func benchStreams(b *testing.B, url string, c, n int) loadResult {
	b.Helper()
	var mu sync.Mutex
	var firstAt, lastAt time.Time
	var tokens int
	var ttft time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			words := strings.Fields("the quick brown fox jumps over the lazy dog while a small bird sings in the tall green tree")
			prompt := fmt.Sprintf("Story %d: %s", i, strings.Join(words[i%4:i%4+14], " "))
			body, _ := json.Marshal(map[string]any{"prompt": prompt, "max_tokens": n, "temperature": 0, "stream": true,
				"stream_options": map[string]bool{"include_usage": true}})
			resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(string(body)))
			if err != nil {
				b.Error(err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				msg, _ := io.ReadAll(resp.Body)
				b.Errorf("status %d: %s", resp.StatusCode, msg)
				return
			}
			var first time.Time
			got := 0
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				line := sc.Text()
				if !strings.HasPrefix(line, "data: {") {
					continue
				}
				var chunk struct {
					Choices []struct{} `json:"choices"`
					Usage   *usage     `json:"usage"`
				}
				json.Unmarshal([]byte(line[6:]), &chunk)
				if chunk.Usage != nil {
					got = chunk.Usage.CompletionTokens - 1 // tokens after the first
				} else if first.IsZero() {
					first = time.Now()
				}
			}
			end := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if !first.IsZero() && (firstAt.IsZero() || first.Before(firstAt)) {
				firstAt = first
			}
			if end.After(lastAt) {
				lastAt = end
			}
			ttft += first.Sub(start)
			tokens += got
		}()
	}
	wg.Wait()
	return loadResult{tps: float64(tokens) / lastAt.Sub(firstAt).Seconds(), ttft: ttft / time.Duration(c)}
}

// benchModel returns $QILIN_BENCH_MODEL or a synthesized Qwen2.5-0.5B Q8_0.
func benchModel(b *testing.B) string {
	if p := os.Getenv("QILIN_BENCH_MODEL"); p != "" {
		return p
	}
	path := filepath.Join(os.TempDir(), "qilin-bench-qwen2.5-0.5b-q8_0.gguf")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	shape, err := synth.Lookup("qwen2.5-0.5b")
	if err != nil {
		b.Fatal(err)
	}
	ft, err := quantize.ParseFileType("Q8_0")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("writing %s (once)", path)
	if err := synth.Write(path, shape, synth.Options{Type: ft, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return path
}
