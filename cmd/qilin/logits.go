package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
)

func init() {
	register(&command{name: "logits", summary: "write a prompt's logits to a float32 file", run: runLogits})
}

func runLogits(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("logits", "[--model] MODEL (--prompt TEXT | --tokens IDS) --out FILE.f32", stderr)
	var lf loadFlags
	lf.register(fs)
	prompt := fs.String("prompt", "", "prompt `TEXT`")
	tokens := fs.String("tokens", "", "prompt as comma-separated token `IDS` instead of text")
	outPath := fs.String("out", "", "output `FILE`: float32 little-endian logits [n_prompt_tokens][n_vocab]")
	addSpecial := fs.Bool("add-special", true, "add the model's BOS token when its metadata says so")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := lf.takeModel(pos); err != nil {
		return err
	}
	if *outPath == "" || (*prompt == "" && *tokens == "") {
		return usageError("need --out and --prompt or --tokens")
	}
	e, _, err := lf.load(stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	ids, err := promptTokens(e, *prompt, *tokens, *addSpecial && e.Tok.AddBOS())
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageError("the prompt has no tokens")
	}
	if len(ids) > e.Context() {
		return fmt.Errorf("prompt of %d tokens exceeds the context of %d (raise --ctx)", len(ids), e.Context())
	}
	f, err := os.Create(*outPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	buf := make([]byte, 4)
	var werr error
	// The whole prompt is one batch, as the references are computed.
	err = e.NewSequenceBatch(len(ids)).Eval(ids, true, func(_ int, logits []float32) {
		for _, v := range logits {
			binary.LittleEndian.PutUint32(buf, math.Float32bits(v))
			if _, err := w.Write(buf); err != nil && werr == nil {
				werr = err
			}
		}
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*outPath)
		return err
	}
	return json.NewEncoder(stdout).Encode(ids)
}
