package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
)

// bench runs the synthetic deepseek2 shape and sizes its cache as show
// does: one latent row of kv_lora_rank + rope dims per token and layer.
func TestBenchDeepSeek2(t *testing.T) {
	stdout, stderr, code := runCLI(t, "bench", "--synthetic", "tiny-deepseek2", "-p", "8", "-n", "4", "-r", "1", "-t", "2",
		"--json", "--bandwidth-mib", "64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		KVBytes       int64 `json:"kv_cache_bytes"`
		KVBytesPerTok int64 `json:"kv_cache_bytes_per_token"`
		Results       []struct {
			TokensPerS float64 `json:"tokens_per_s"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	const perTok = 3 * 2 * (64 + 16) // 3 layers, f16 rows of kv_lora_rank 64 + 16 rope dims
	if got.KVBytesPerTok != perTok || got.KVBytes != 8*perTok || len(got.Results) != 2 {
		t.Errorf("kv_cache_bytes_per_token %d (want %d), kv_cache_bytes %d for 8 tokens, %d results", got.KVBytesPerTok, perTok, got.KVBytes, len(got.Results))
	}
}

func TestBenchJSON(t *testing.T) {
	stdout, stderr, code := runCLI(t, "bench", "--synthetic", "tiny-qwen2", "-p", "8", "-n", "4", "-r", "1", "-t", "2",
		"--json", "--bandwidth-mib", "64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	for _, key := range []string{"model", "threads", "results", "bandwidth_gbs", "roofline_share", "prefill_gflops"} {
		if _, ok := got[key]; !ok {
			t.Errorf("key %q missing from %s", key, stdout)
		}
	}
	if m, _ := got["model"].(string); !strings.Contains(m, "tiny-qwen2") {
		t.Errorf("model %q", m)
	}
	if th, _ := got["threads"].(float64); th != 2 {
		t.Errorf("threads %v, want 2", got["threads"])
	}
	for _, key := range []string{"bandwidth_gbs", "roofline_share", "prefill_gflops"} {
		if v, _ := got[key].(float64); !(v > 0) {
			t.Errorf("%s = %v, want a positive number", key, got[key])
		}
	}
	var res struct {
		Results []struct {
			Test       string    `json:"test"`
			TokensPerS float64   `json:"tokens_per_s"`
			Stddev     *float64  `json:"stddev"`
			Samples    []float64 `json:"samples"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	var tests []string
	for _, r := range res.Results {
		tests = append(tests, r.Test)
		if !(r.TokensPerS > 0) || r.Stddev == nil || len(r.Samples) != 1 {
			t.Errorf("result %+v", r)
		}
	}
	if !slices.Equal(tests, []string{"pp8", "tg4"}) {
		t.Errorf("tests %v, want [pp8 tg4]", tests)
	}

	// --report renders saved runs as Markdown with their commands.
	saved := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(saved, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	md, stderr, code := runCLI(t, "bench", "--report", saved)
	if code != 0 {
		t.Fatalf("--report: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"| model", "tiny-qwen2 Q4_K_M (synthetic)", "pp8: ", "qilin bench --synthetic tiny-qwen2 -p 8", "GB/s"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if _, _, code := runCLI(t, "bench", "--report", filepath.Join(t.TempDir(), "none.json")); code != 1 {
		t.Errorf("--report of a missing file: exit %d, want 1", code)
	}
}

func TestBenchTableAndModelFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	if _, stderr, code := runCLI(t, "synth", "tiny-qwen3moe", path, "--quant", "Q8_0"); code != 0 {
		t.Fatal(stderr)
	}
	stdout, stderr, code := runCLI(t, "bench", "--model", path, "-p", "4", "-n", "2", "-r", "2", "--bandwidth-mib", "16")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"| model", "pp4", "tg2", "±", "GB/s", "roofline", "GFLOP/s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, args := range [][]string{
		{"bench"},
		{"bench", "--model", path, "--synthetic", "tiny-qwen2"},
		{"bench", "--synthetic", "gpt-5"},
		{"bench", "--synthetic", "tiny-qwen2", "--quant", "Q9"},
		{"bench", "--model", path, "-p", "0", "-n", "0"},
		{"bench", "--model", path, "-r", "0"},
	} {
		if _, stderr, code := runCLI(t, args...); code != 2 {
			t.Errorf("%q: exit %d (%s), want 2", args, code, stderr)
		}
	}
}

// TestWeightTraffic checks the bytes a decoded token reads on an MoE model:
// two of eight experts, every other layer weight, the untied output and one
// embedding row.
func TestWeightTraffic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	if _, stderr, code := runCLI(t, "synth", "tiny-qwen3moe", path, "--quant", "Q4_K_M"); code != 0 {
		t.Fatal(stderr)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all, experts, embd int64
	for _, tn := range f.Tensors {
		all += int64(len(tn.Data))
		if strings.HasSuffix(tn.Name, "_exps.weight") {
			experts += int64(len(tn.Data))
		}
		if tn.Name == "token_embd.weight" {
			embd = int64(len(tn.Data))
		}
	}
	w := weightTraffic(f, 8, 2)
	want := all - experts + experts/4 - embd + embd/1024
	if w.decodeBytes != want || w.size != all {
		t.Errorf("decode bytes %d, size %d; want %d, %d", w.decodeBytes, w.size, want, all)
	}
	if w.params != 4068864 {
		t.Errorf("params %d", w.params)
	}
}

// --report merges alternating rounds of qilin bench and llama-bench on one
// file: samples pooled, the ratio of the means and each round's ratio.
func TestBenchReportBesideLlamaBench(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) string { return writeJSON(t, dir, name, v) }
	qilinRound := func(bw float64, pp, tg []float64) *benchReport {
		return &benchReport{Model: "m Q4_K_M", File: "/models/m.gguf", Threads: 2, BandwidthGBs: bw, DecodeBytes: 1e9, PrefillFLOPs: 4e9,
			Command: "qilin bench -m /models/m.gguf -p 4 -n 2", Results: []benchTest{{Test: "pp4", Samples: pp}, {Test: "tg2", Samples: tg}}}
	}
	llamaRound := func(pp, tg []float64) []llamaBenchTest {
		return []llamaBenchTest{
			{ModelFilename: "/models/m.gguf", BuildCommit: "d32676d77", NThreads: 2, NPrompt: 4, SamplesTS: pp},
			{ModelFilename: "/models/m.gguf", BuildCommit: "d32676d77", NThreads: 2, NGen: 2, SamplesTS: tg},
			{ModelFilename: "/models/other.gguf", BuildCommit: "d32676d77", NThreads: 2, NGen: 2, SamplesTS: []float64{1}},
		}
	}
	files := []string{
		write("q1.json", qilinRound(40, []float64{100, 110}, []float64{20, 22})),
		write("l1.json", llamaRound([]float64{80}, []float64{10, 12})),
		write("q2.json", qilinRound(50, []float64{90}, []float64{18})),
		write("l2.json", llamaRound([]float64{60}, []float64{9})),
	}
	md, stderr, code := runCLI(t, append([]string{"bench", "--report"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"pp4: 100.00 ± 10.00", "tg2: 20.00 ± 2.00", "50.0 GB/s", "40.0%", "| 100.0",
		"70.00 / 10.33", "1.43×, 1.94×", "20.7%",
		"llama-bench -m /models/m.gguf -t 2 -p 4 -n 2 -r 1 -o json",
		"2 round(s), qilin and llama-bench alternately",
		"llama.cpp d32676d77 (llama-bench, the same file and threads, on this machine in the same run): pp4 70.00 ± 14.14 t/s, qilin 1.43× (rounds: 1.31×, 1.50×); " +
			"tg2 10.33 ± 1.53 t/s (20.7% of the roofline), qilin 1.94× (rounds: 1.91×, 2.00×)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "other.gguf") {
		t.Errorf("report shows llama-bench figures of a file qilin did not run:\n%s", md)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"n_gen": "x"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "bench", "--report", files[0], bad); code != 1 || !strings.Contains(stderr, "llama-bench") {
		t.Errorf("--report of malformed llama-bench output: exit %d (%s), want 1 naming llama-bench", code, stderr)
	}
}

// -d runs each test after that many tokens of context, named as
// llama-bench names them, resuming at the depth for every repetition (on a
// recurrent model too, at a depth off the snapshots' block boundaries);
// each tg sample has its bandwidth pass.
func TestBenchDepth(t *testing.T) {
	stdout, stderr, code := runCLI(t, "bench", "--synthetic", "tiny-qwen35", "-p", "4", "-n", "2", "-d", "0,100", "-r", "2",
		"-t", "2", "--json", "--bandwidth-mib", "16")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got benchReport
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	var tests []string
	for _, r := range got.Results {
		tests = append(tests, r.Test)
		if len(r.Samples) != 2 || (strings.HasPrefix(r.Test, "tg") && len(r.Bandwidth) != 2) {
			t.Errorf("%s: %d samples, %d bandwidth passes", r.Test, len(r.Samples), len(r.Bandwidth))
		}
	}
	if want := []string{"pp4", "tg2", "pp4 @ d100", "tg2 @ d100"}; !slices.Equal(tests, want) {
		t.Errorf("tests %q, want %q", tests, want)
	}
	if want := int64(104) * got.KVBytesPerTok; got.KVBytes != want {
		t.Errorf("kv_cache_bytes %d, want %d (104 positions)", got.KVBytes, want)
	}
}

// The roofline share is the mean of each tg sample's share of the
// bandwidth pass paired with it, pooled over the rounds; llama.cpp's depth
// tests are set beside qilin's of the same name.
func TestBenchReportPairedBandwidth(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) string { return writeJSON(t, dir, name, v) }
	// 1e9 bytes per token: 10 tok/s at 20 GB/s is 50%, 5 tok/s at 5 GB/s 100%,
	// 12 tok/s at 40 GB/s 30%: the mean share 60%, the mean bandwidth 21.7 GB/s.
	round := func(tg, bw []float64) *benchReport {
		return &benchReport{Model: "m Q4_K_M", File: "/m.gguf", Threads: 2, BandwidthGBs: 99, DecodeBytes: 1e9, Command: "qilin bench -m /m.gguf",
			Results: []benchTest{{Test: "tg2", Samples: tg, Bandwidth: bw}, {Test: "tg2 @ d512", Depth: 512, Samples: []float64{4}, Bandwidth: []float64{1}}}}
	}
	files := []string{
		write("q1.json", round([]float64{10, 5}, []float64{20, 5})),
		write("q2.json", round([]float64{12}, []float64{40})),
		write("l1.json", []llamaBenchTest{{ModelFilename: "/m.gguf", NThreads: 2, NGen: 2, NDepth: 512, SamplesTS: []float64{2}}}),
	}
	md, stderr, code := runCLI(t, append([]string{"bench", "--report"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"21.7 GB/s", "60.0%", "tg2 @ d512 2.00 ± 0.00 t/s, qilin 2.00×", "-n 2 -d 512 -r 1",
		"| tg2 @ d512 | 4.00 ± 0.00 | 1.00              | 2.00 ± 0.00   | 1.00              | 2.00×"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// A model that ran only depth tests gets no empty row in the main table,
// its depth runs are not counted as rounds, and a llama-bench built
// outside git is not called "llama.cpp unknown".
func TestBenchReportDepthOnlyAndUnknownBuild(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) string { return writeJSON(t, dir, name, v) }
	shallow := &benchReport{Model: "a Q4_K_M", File: "/a.gguf", Threads: 2, DecodeBytes: 1e9, Command: "qilin bench -m /a.gguf",
		Results: []benchTest{{Test: "tg2", Samples: []float64{10}}}}
	deep := &benchReport{Model: "a Q4_K_M", File: "/a.gguf", Threads: 2, DecodeBytes: 1e9, Command: "qilin bench -m /a.gguf -d 512",
		Results: []benchTest{{Test: "tg2 @ d512", Depth: 512, Samples: []float64{4}}}}
	only := &benchReport{Model: "b Q4_K_M", File: "/b.gguf", Threads: 2, DecodeBytes: 1e9, Command: "qilin bench -m /b.gguf -d 512",
		Results: []benchTest{{Test: "tg2 @ d512", Depth: 512, Samples: []float64{3}}}}
	files := []string{
		write("q1.json", shallow), write("l1.json", []llamaBenchTest{{ModelFilename: "/a.gguf", BuildCommit: "unknown", NThreads: 2, NGen: 2, SamplesTS: []float64{5}}}),
		write("q2.json", shallow), write("l2.json", []llamaBenchTest{{ModelFilename: "/a.gguf", BuildCommit: "unknown", NThreads: 2, NGen: 2, SamplesTS: []float64{5}}}),
		write("q3.json", deep), write("q4.json", only),
	}
	md, stderr, code := runCLI(t, append([]string{"bench", "--report"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if main, _, _ := strings.Cut(md, "###"); strings.Contains(main, "b Q4_K_M") {
		t.Errorf("report has a row for the depth-only model:\n%s", md)
	}
	if !strings.Contains(md, "### b Q4_K_M") {
		t.Errorf("report lacks the depth-only model's section:\n%s", md)
	}
	if !strings.Contains(md, "2 round(s), qilin and llama-bench alternately") {
		t.Errorf("report does not count 2 rounds:\n%s", md)
	}
	if strings.Contains(md, "llama.cpp unknown") || !strings.Contains(md, "recorded no build commit") {
		t.Errorf("report names the unknown build badly:\n%s", md)
	}
}

// writeJSON writes v as JSON to dir/name and returns the path.
func writeJSON(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
