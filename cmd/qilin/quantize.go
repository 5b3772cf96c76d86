package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
	"github.com/qilin-ai/qilin/quantize"
)

func init() {
	register(&command{
		name:    "quantize",
		summary: "convert a GGUF model to a quantization type (Q4_K_M, Q8_0, ...) as llama-quantize does",
		run:     runQuantize,
	})
}

func runQuantize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quantize", "IN.gguf OUT.gguf TYPE [--allow-requantize]\n\ntypes: "+strings.Join(quantize.FileTypeNames(), ", "), stderr)
	allow := fs.Bool("allow-requantize", false, "accept a source whose tensors are already quantized (loses accuracy twice)")
	threads := new(int)
	threadsFlag(fs, threads)
	verbose := fs.Bool("verbose", false, "list every tensor's conversion")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkThreads(*threads); err != nil {
		return err
	}
	if len(pos) != 3 {
		return usageError("need IN.gguf OUT.gguf TYPE (types: %s)", strings.Join(quantize.FileTypeNames(), ", "))
	}
	inPath, outPath := pos[0], pos[1]
	ft, err := quantize.ParseFileType(pos[2])
	if err != nil {
		return usageError("%v", err)
	}
	if same(inPath, outPath) {
		return usageError("the output %s is the input file", outPath)
	}
	in, err := gguf.Open(inPath)
	if err != nil {
		return err
	}
	defer in.Close()
	start := time.Now()
	res, err := quantize.File(ctx, in, outPath, quantize.Options{Type: ft, AllowRequantize: *allow, Threads: *threads})
	if err != nil {
		return err
	}
	counts := map[quant.Type]int{}
	for _, t := range res.Tensors {
		counts[t.To]++
		if *verbose {
			fmt.Fprintf(stdout, "%-36s %-6v -> %-6v %10.2f MiB\n", t.Name, t.From, t.To, float64(t.OutBytes)/(1<<20))
		}
	}
	var mix []string
	for _, t := range res.Tensors {
		if n := counts[t.To]; n > 0 {
			mix = append(mix, fmt.Sprintf("%v %d", t.To, n))
			counts[t.To] = 0
		}
	}
	fmt.Fprintf(stdout, "wrote %s: %v, %.2f MiB -> %.2f MiB (%.2f bits per weight), tensors: %s, in %v\n",
		outPath, ft, float64(res.InBytes)/(1<<20), float64(res.OutBytes)/(1<<20), bitsPerWeight(in, res.OutBytes),
		strings.Join(mix, ", "), time.Since(start).Round(time.Millisecond))
	return nil
}

// same reports whether two paths name the same existing file.
func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	if err1 == nil && err2 == nil {
		return os.SameFile(fa, fb)
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

func bitsPerWeight(f *gguf.File, bytes int64) float64 {
	var n int64
	for _, t := range f.Tensors {
		n += t.NumElements()
	}
	if n == 0 {
		return 0
	}
	return 8 * float64(bytes) / float64(n)
}
