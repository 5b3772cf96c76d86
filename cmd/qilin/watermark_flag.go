package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/watermark"
)

// watermarkKeyFlag registers --watermark-key-file (serve and run).
func watermarkKeyFlag(fs *flag.FlagSet) *string {
	return fs.String("watermark-key-file", "", "watermark every answer with the first key of `FILE` (qilin watermark keygen); greedy answers (temperature 0) cannot be marked")
}

// loadMarkingKey returns the key that marks answers: the first of the key
// file at path, nil when path is "".
func loadMarkingKey(path string) (*watermark.Key, error) {
	if path == "" {
		return nil, nil
	}
	keys, err := watermark.LoadKeys(path)
	if err != nil {
		return nil, err
	}
	return &keys[0], nil
}

// markRequest adds k's watermark to req, or says on stderr why a greedy
// request stays unmarked.
func markRequest(req *engine.Request, k *watermark.Key, stderr io.Writer) {
	if k == nil {
		return
	}
	if greedy(req.Sample) {
		fmt.Fprintln(stderr, "qilin: greedy decoding (temperature 0) cannot carry a watermark; this answer is not marked")
		return
	}
	req.Processors = append(req.Processors, engine.Watermark(*k))
}

func greedy(p sample.Params) bool { return p.Temperature <= 0 || p.TopK == 1 }
