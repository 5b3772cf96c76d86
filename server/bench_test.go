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
// greedy sampling and max_tokens 128, timestamping every chunk as it
// arrives. Aggregate decode tokens/s ("tok/s") counts the tokens that
// arrive while all C streams decode, from the last stream's first chunk to
// the first stream's last, over that time (see benchStreams). End to end
// ("tok/s-e2e"): all completion tokens over the time from sending the
// requests to the end of the last stream, prefill included. Also reported: mean time to first token and the decode
// speedup over one stream. Before the measured run, a warm-up request
// loads the weights into the page cache. Heap in use is sampled after each
// run to watch for growth.
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
				b.ReportMetric(r.endToEnd, "tok/s-e2e")
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
	tps      float64 // decode tokens/s while every stream decodes
	endToEnd float64 // completion tokens / (first request to last end)
	ttft     time.Duration
}

// benchStreams runs c concurrent streaming completions of n tokens. It
// timestamps every content chunk as it arrives; tps counts the tokens that
// arrive while all c streams are decoding (from the last stream's first
// chunk to the first stream's last), so that the prompts' prefill does not
// dilute the decode figure; endToEnd counts them all over the whole run.
// A token that ends inside a UTF-8 character has no chunk of its own (its
// text comes with the next), so a stream's chunks in the window count as
// its completion tokens per chunk each.
func benchStreams(b *testing.B, url string, c, n int) loadResult {
	b.Helper()
	var mu sync.Mutex
	arrivals := make([][]time.Time, c) // content chunk times per stream
	ends := make([]time.Time, c)
	tokens := make([]int, c) // completion tokens per stream
	completion := 0
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
			var times []time.Time
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
					got = chunk.Usage.CompletionTokens
				} else {
					times = append(times, time.Now())
				}
			}
			mu.Lock()
			defer mu.Unlock()
			arrivals[i], ends[i], tokens[i] = times, time.Now(), got
			completion += got
		}()
	}
	wg.Wait()
	var r loadResult
	var from, to time.Time // all streams decoding
	last := start
	for i, ts := range arrivals {
		if len(ts) == 0 {
			b.Errorf("stream %d: no tokens", i)
			return r
		}
		r.ttft += ts[0].Sub(start)
		if ts[0].After(from) {
			from = ts[0]
		}
		if to.IsZero() || ts[len(ts)-1].Before(to) {
			to = ts[len(ts)-1]
		}
		if ends[i].After(last) {
			last = ends[i]
		}
	}
	decoded := 0.0
	for i, ts := range arrivals {
		in := 0
		for _, t := range ts {
			if t.After(from) && !t.After(to) {
				in++
			}
		}
		decoded += float64(in) * float64(tokens[i]) / float64(len(ts))
	}
	r.ttft /= time.Duration(c)
	r.tps = decoded / to.Sub(from).Seconds()
	r.endToEnd = float64(completion) / last.Sub(start).Seconds()
	return r
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
