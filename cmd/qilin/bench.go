package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quantize"
	"github.com/qilin-ai/qilin/synth"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "measure prompt and generation speed (like llama-bench), memory bandwidth and the roofline share",
		run:     runBench,
	})
}

// benchReport is the result of one bench run; its JSON form is --json.
type benchReport struct {
	Model         string      `json:"model"`
	Threads       int         `json:"threads"`
	Results       []benchTest `json:"results"`
	BandwidthGBs  float64     `json:"bandwidth_gbs"`  // the mean of the tg test's paired passes (the best pass without one)
	RooflineShare float64     `json:"roofline_share"` // the mean over tg samples of tok/s × decode bytes per token / its bandwidth
	PrefillGFLOPs float64     `json:"prefill_gflops"` // pp FLOPs / time
	File          string      `json:"file,omitempty"`
	SizeBytes     int64       `json:"size_bytes"` // tensor bytes
	Params        int64       `json:"params"`
	DecodeBytes   int64       `json:"decode_bytes_per_token"` // weight bytes read per decoded token
	PrefillFLOPs  float64     `json:"prefill_flops"`          // per pp run
	BWThreads     int         `json:"bandwidth_threads"`
	BWBufferBytes int64       `json:"bandwidth_buffer_bytes"`
	LoadSeconds   float64     `json:"load_s"`
	FirstTokenS   float64     `json:"first_token_s"`            // from opening the file to the first token's logits
	FileBytes     int64       `json:"file_bytes"`               // the model file
	KVBytes       int64       `json:"kv_cache_bytes"`           // the sequence's f16 KV cache
	KVBytesPerTok int64       `json:"kv_cache_bytes_per_token"` // as qilin show reports it
	ResidentBytes int64       `json:"resident_bytes,omitempty"` // most VmRSS seen right after a tg run (Linux)
	Command       string      `json:"command"`
}

// benchTest is one llama-bench test: ppN (N prompt tokens in one batch) or
// tgN (N tokens decoded one at a time), named "tgN @ dD" after D tokens of
// context (-d D), as llama-bench prints it.
type benchTest struct {
	Test       string    `json:"test"`
	Depth      int       `json:"depth,omitempty"`
	TokensPerS float64   `json:"tokens_per_s"`
	Stddev     float64   `json:"stddev"`
	Samples    []float64 `json:"samples"`
	// Bandwidth (tg tests) is the memory read bandwidth in GB/s measured
	// right after each sample, streaming for as long as it ran.
	Bandwidth []float64 `json:"bandwidth_gbs,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[--model] MODEL | --synthetic NAME [--quant TYPE] [-p 512] [-n 128] [-d 0,...] [-t THREADS] [-r REPS] [--json]", stderr)
	modelRef := new(string)
	modelFlag(fs, modelRef)
	synthName := fs.String("synthetic", "", "measure a random-weight model of the shape `NAME` (written to a temporary file): "+strings.Join(synth.Names(), ", "))
	qt := fs.String("quant", "Q4_K_M", "quantization `TYPE` of the --synthetic model")
	nPrompt := fs.Int("p", 512, "prompt tokens evaluated in one batch (pp test; 0: none)")
	nGen := fs.Int("n", 128, "tokens generated one at a time (tg test; 0: none)")
	var depthList commaFlag
	fs.Var(&depthList, "d", "run the tests after `N` tokens of context (a prefill, not timed), like llama-bench -d; comma-separated for several (default 0)")
	threads := new(int)
	threadsFlag(fs, threads)
	reps := fs.Int("r", 5, "repetitions of each test")
	asJSON := fs.Bool("json", false, "print one JSON object")
	report := fs.Bool("report", false, "instead of measuring, print a Markdown report of the --json outputs named as arguments")
	bwMiB := fs.Int("bandwidth-mib", 512, "buffer `MiB` for the memory bandwidth measurement (well above the caches)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic weights and of the token ids")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *report {
		return benchReportFiles(stdout, pos)
	}
	depths, err := intList("d", depthList, 0)
	if err != nil {
		return err
	}
	if len(depths) == 0 {
		depths = []int{0}
	}
	if *modelRef == "" && *synthName == "" && len(pos) > 0 {
		*modelRef, pos = pos[0], pos[1:]
	}
	if *threads == 0 {
		*threads = runtime.NumCPU()
	}
	switch {
	case len(pos) > 0:
		return usageError("unexpected arguments %q", pos)
	case (*modelRef == "") == (*synthName == ""):
		return usageError("give either a model (FILE or store name) or --synthetic NAME")
	case *nPrompt < 0 || *nGen < 0 || *nPrompt+*nGen == 0:
		return usageError("-p and -n must be >= 0 and not both 0")
	case *threads < 0:
		return checkThreads(*threads)
	case *reps < 1 || *bwMiB < 1:
		return usageError("-r and --bandwidth-mib must be positive")
	}

	rep := &benchReport{Threads: *threads, Command: "qilin bench " + strings.Join(args, " ")}
	var mf modelFile
	if *synthName != "" {
		shape, err := synth.Lookup(*synthName)
		if err != nil {
			return usageError("%v", err)
		}
		ft, err := quantize.ParseFileType(*qt)
		if err != nil {
			return usageError("%v", err)
		}
		dir, err := os.MkdirTemp("", "qilin-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, shape.Name+".gguf")
		mf = modelFile{Path: path}
		start := time.Now()
		if err := synth.Write(path, shape, synth.Options{Type: ft, Seed: *seed}); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote a synthetic %s %v in %v\n", shape.Name, ft, time.Since(start).Round(time.Millisecond))
		debug.FreeOSMemory() // the writer's buffers must not count as resident memory
		rep.Model = fmt.Sprintf("%s %v (synthetic)", shape.Name, ft)
	} else {
		if mf, err = resolveModel(*modelRef); err != nil {
			return err
		}
		rep.File = mf.Path
	}

	start := time.Now()
	maxDepth := slices.Max(depths)
	nCtx := maxDepth + max(*nPrompt, *nGen)
	batch := max(*nPrompt, 1)
	if maxDepth > 0 {
		batch = max(batch, min(maxDepth, 512)) // the depth is a prefill, as llama-bench's (n_ubatch 512)
	}
	e, err := mf.load(engine.Options{Threads: *threads, Context: nCtx, BatchSize: batch})
	if err != nil {
		return err
	}
	defer e.Close()
	rep.LoadSeconds = time.Since(start).Seconds()
	rep.FileBytes = mf.size()
	rep.KVBytesPerTok = e.Model.CacheBytesPerToken()
	rep.KVBytes = int64(nCtx) * rep.KVBytesPerTok
	if rep.Model == "" {
		rep.Model = strings.TrimSpace(e.File.String("general.name", mf.name()) + " " + e.File.FileTypeName())
	}
	w := weightTraffic(e.File, e.Model.NExpert, e.Model.NExpertUse)
	rep.SizeBytes, rep.Params, rep.DecodeBytes = w.size, w.params, w.decodeBytes

	rep.BWThreads = runtime.NumCPU()
	rep.BWBufferBytes = int64(*bwMiB) << 20
	bwPool := kernels.NewPool(rep.BWThreads)
	defer bwPool.Close()
	b := &benchRun{ctx: ctx, e: e, seq: e.NewSequenceBatch(batch), reps: *reps, bw: bwPool, bwBytes: int(rep.BWBufferBytes),
		rng: rand.New(rand.NewPCG(*seed, 0xbe7c)), rep: rep}
	// Warm up: one token touches every buffer and is the first token after
	// loading. It reads only the experts it is routed to, so the rest of the
	// mapped file is paged in too (llama.cpp maps it with MAP_POPULATE):
	// no test then waits on the disk.
	if err := b.seq.Eval(b.randomTokens(1), false, b.keep); err != nil {
		return err
	}
	rep.FirstTokenS = time.Since(start).Seconds()
	pageIn(e.File)
	var bestBW float64 // bytes per second, for a run without a tg test
	for _, d := range depths {
		if err := b.fill(d); err != nil {
			return err
		}
		if *nPrompt > 0 {
			bestBW = max(bestBW, b.probe(0))
			res, err := b.pp(*nPrompt, d)
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, res)
			if d == 0 || rep.PrefillGFLOPs == 0 {
				// The output projection runs for the last token only.
				rep.PrefillFLOPs = 2 * (float64(w.layerParams)*float64(*nPrompt) + float64(w.outputParams))
				rep.PrefillGFLOPs = rep.PrefillFLOPs * res.TokensPerS / float64(*nPrompt) / 1e9
			}
		}
		if *nGen > 0 {
			res, err := b.tg(*nGen, d)
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, res)
		}
	}
	if *nGen == 0 {
		bestBW = max(bestBW, b.probe(0))
	}
	rep.BandwidthGBs = bestBW / 1e9
	if t := rooflineTest(rep.Results); t != nil {
		rep.BandwidthGBs, rep.RooflineShare = pairedShare([]benchTest{*t}, rep.DecodeBytes)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printBench(stdout, rep)
	return nil
}

// repeat runs reps measured runs of a test.
func repeat(ctx context.Context, name string, reps int, run func() (float64, error)) (benchTest, error) {
	res := benchTest{Test: name}
	for i := 0; i < reps; i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		tps, err := run()
		if err != nil {
			return res, err
		}
		res.Samples = append(res.Samples, tps)
	}
	res.TokensPerS, res.Stddev = meanStddev(res.Samples)
	return res, nil
}

// meanStddev returns the mean and the sample standard deviation of x.
func meanStddev(x []float64) (float64, float64) {
	var sum float64
	for _, v := range x {
		sum += v
	}
	mean := sum / float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}

// printBench writes the report as a Markdown table (like llama-bench's)
// followed by the derived figures.
func printBench(w io.Writer, rep *benchReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| model\t size\t params\t threads\t test\t t/s |")
	fmt.Fprintln(tw, "| ---\t ---:\t ---:\t ---:\t ---:\t ---: |")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "| %s\t %.2f MiB\t %.2f M\t %d\t %s\t %.2f ± %.2f |\n", rep.Model, float64(rep.SizeBytes)/(1<<20),
			float64(rep.Params)/1e6, rep.Threads, r.Test, r.TokensPerS, r.Stddev)
	}
	tw.Flush()
	fmt.Fprintln(w)
	how := "best of 3 passes before the tests"
	if rooflineTest(rep.Results) != nil {
		how = "right after each tg repetition for as long as it ran, the mean; the share is the mean of each pair's"
	}
	fmt.Fprintf(w, "- memory read bandwidth: %.1f GB/s (%d threads streaming a %d MiB buffer, %s)\n",
		rep.BandwidthGBs, rep.BWThreads, rep.BWBufferBytes>>20, how)
	for _, r := range rep.Results {
		switch {
		case r.Depth > 0: // the figures below are for an empty context
		case strings.HasPrefix(r.Test, "tg"):
			fmt.Fprintf(w, "- decode: %.1f MiB of weights read per token; %s at %.2f tok/s is %.1f%% of the bandwidth roofline (%.1f tok/s)\n",
				float64(rep.DecodeBytes)/(1<<20), r.Test, r.TokensPerS, 100*rep.RooflineShare, rep.BandwidthGBs*1e9/float64(rep.DecodeBytes))
		case strings.HasPrefix(r.Test, "pp"):
			fmt.Fprintf(w, "- prefill: %.1f GFLOP/s (%.4g GFLOP per %s run: 2 × weights × tokens, the output projection for the last token only)\n",
				rep.PrefillGFLOPs, rep.PrefillFLOPs/1e9, r.Test)
		}
	}
	fmt.Fprintf(w, "- model load: %.2f s; to the first token: %.2f s\n", rep.LoadSeconds, rep.FirstTokenS)
	if rep.ResidentBytes > 0 {
		base := rep.FileBytes + rep.KVBytes
		fmt.Fprintf(w, "- resident memory after decoding: %.1f MiB = %.2f × (file %.1f MiB + KV cache %.1f MiB)\n",
			mib(rep.ResidentBytes), float64(rep.ResidentBytes)/float64(base), mib(rep.FileBytes), mib(rep.KVBytes))
	}
}
