package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/qilin-ai/qilin/gguf"
)

// traffic summarizes a model's weights for the roofline and FLOP counts.
type traffic struct {
	size         int64 // bytes of all tensors
	params       int64 // elements of all tensors
	decodeBytes  int64 // bytes read to decode one token
	layerParams  int64 // matrix weights per token in the layers
	outputParams int64 // weights of the output projection
}

// weightTraffic counts what one token reads: every layer weight (for
// expert tensors only the nUsed of nExpert experts a token is routed to),
// the output projection, and one row of the token embedding (all of it when
// it is also the output projection).
func weightTraffic(f *gguf.File, nExpert, nUsed int) traffic {
	var w traffic
	_, untied := f.Tensor("output.weight")
	for _, t := range f.Tensors {
		b, n := int64(len(t.Data)), t.NumElements()
		w.size += b
		w.params += n
		switch {
		case t.Name == "token_embd.weight":
			rows := max(int64(t.Rows()), 1)
			w.decodeBytes += b / rows
			if !untied {
				w.decodeBytes += b
				w.outputParams += n
			}
		case t.Name == "output.weight":
			w.decodeBytes += b
			w.outputParams += n
		case strings.Contains(t.Name, "_exps.") && nExpert > 0:
			w.decodeBytes += b * int64(nUsed) / int64(nExpert)
			w.layerParams += n * int64(nUsed) / int64(nExpert)
		default:
			w.decodeBytes += b
			if len(t.Dims) >= 2 && strings.HasPrefix(t.Name, "blk.") {
				w.layerParams += n
			}
		}
	}
	return w
}

// pageSink keeps pageIn's reads from being optimized away.
var pageSink byte

// pageIn reads one byte of every 4 KiB of every tensor of f, so that a
// mapped file is resident before it is measured.
func pageIn(f *gguf.File) {
	var s byte
	for _, t := range f.Tensors {
		for i := 0; i < len(t.Data); i += 4096 {
			s += t.Data[i]
		}
	}
	pageSink = s
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// residentBytes returns the process's resident set size (VmRSS), or 0
// where /proc/self/status does not give it.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
