package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/qilin-ai/qilin/tokenizer"
)

func init() {
	register(&command{name: "tokenize", summary: "print the token ids of a text", run: runTokenize})
}

// runTokenize prints the ids of TEXT space-separated on one line, like
// llama.cpp's llama-tokenize --ids without the brackets. By default no
// BOS/EOS is added and text that looks like a special token stays text.
func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", "[[--model] MODEL] [--add-special] [--parse-special] [--json] TEXT", stderr)
	model := new(string)
	modelFlag(fs, model)
	addSpecial := fs.Bool("add-special", false, "add BOS/EOS where the model's metadata asks for them")
	parseSpecial := fs.Bool("parse-special", false, "turn special tokens written in TEXT (such as <|im_start|>) into their ids")
	asJSON := fs.Bool("json", false, `print {"ids":[...],"pieces":[...]} instead`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *model == "" && len(pos) == 2 {
		*model, pos = pos[0], pos[1:]
	}
	if len(pos) != 1 {
		return usageError("want exactly one TEXT (after an optional MODEL), have %d arguments", len(pos))
	}
	mf, err := resolveModel(*model)
	if err != nil {
		return err
	}
	f, err := mf.open(false)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return fmt.Errorf("%s: %w", mf.Path, err)
	}
	ids, err := tok.Encode(pos[0], *addSpecial, *parseSpecial)
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			IDs    []int    `json:"ids"`
			Pieces []string `json:"pieces"`
		}{IDs: ids, Pieces: make([]string, len(ids))}
		for i, id := range ids {
			out.Pieces[i] = string(tok.Piece(id))
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	var sb strings.Builder
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(id))
	}
	sb.WriteByte('\n')
	_, err = io.WriteString(stdout, sb.String())
	return err
}
