package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/tokenizer"
)

// markedRecord is one of our marked outputs with the conversation that
// asked for it.
type markedRecord struct {
	prompt []chat.Message // the messages before the answer (none for a "text" line)
	key    string         // prompt as JSON, to tell prompts apart
	output string         // reasoning and answer
	// pieces are the bytes of each token the teacher generated, from the
	// record's logprobs (distill collect --top-logprobs); nil without them.
	pieces [][]byte
}

// readMarkedRecords reads our marked outputs from the *.jsonl files of dir,
// as distill collect writes them (one record a line, with "messages": the
// messages before the assistant's are the prompt, the assistant's
// reasoning_content and content the marked output, and "logprobs" the
// tokens generated), or lines with a "text" field.
func readMarkedRecords(dir string) ([]markedRecord, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--data %s: no *.jsonl files", dir)
	}
	var recs []markedRecord
	for _, name := range files {
		if err := readMarkedFile(name, &recs); err != nil {
			return nil, err
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("--data %s: no outputs (records with assistant messages or text)", dir)
	}
	return recs, nil
}

func readMarkedFile(name string, recs *[]markedRecord) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var rec struct {
			Text     *string `json:"text"`
			Messages []struct {
				Role             string  `json:"role"`
				Content          string  `json:"content"`
				ReasoningContent *string `json:"reasoning_content"`
			} `json:"messages"`
			Logprobs []struct {
				Token string `json:"token"`
				Bytes []int  `json:"bytes"`
			} `json:"logprobs"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s:%d: %v", name, line, err)
		}
		var r markedRecord
		if rec.Text != nil {
			r.output = *rec.Text
		}
		for _, m := range rec.Messages {
			if m.Role == "assistant" {
				if m.ReasoningContent != nil && *m.ReasoningContent != "" {
					r.output += *m.ReasoningContent + "\n"
				}
				r.output += m.Content
				break
			}
			r.prompt = append(r.prompt, chat.Message{Role: m.Role, Content: m.Content})
		}
		if r.output == "" {
			continue
		}
		if len(r.prompt) > 0 {
			b, _ := json.Marshal(r.prompt)
			r.key = string(b)
		}
		for _, lp := range rec.Logprobs {
			p := []byte(lp.Token)
			if lp.Bytes != nil {
				p = make([]byte, len(lp.Bytes))
				for i, c := range lp.Bytes {
					p[i] = byte(c)
				}
			}
			r.pieces = append(r.pieces, p)
		}
		*recs = append(*recs, r)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// pieceIndex maps a token's bytes (tokenizer.Piece) to its id, or to -1
// where several ids spell the same bytes.
type pieceIndex map[string]int

func newPieceIndex(tok *tokenizer.Tokenizer) pieceIndex {
	x := pieceIndex{}
	for id := range tok.VocabSize() {
		p := string(tok.Piece(id))
		if _, dup := x[p]; dup {
			x[p] = -1
		} else {
			x[p] = id
		}
	}
	return x
}

// outputIDs returns r's output as token ids of tok: the tokens the teacher
// generated, when the record's logprobs name them unambiguously and they
// spell the output exactly (generated is then true), else the output
// retokenized. Only the generated ids are the windows the key chose from:
// retokenizing rewrites some of them (a tokenizer need not segment text the
// way its model wrote it), and whether a window survives can depend on the
// token the key chose after it, which the first-read rule of
// watermark.ReadingInput.Ours cannot see.
func outputIDs(r markedRecord, tok *tokenizer.Tokenizer, x pieceIndex) (ids []int, generated bool, err error) {
	if len(r.pieces) > 0 {
		var text strings.Builder
		for _, p := range r.pieces {
			id, ok := x[string(p)]
			if !ok || id < 0 {
				ids = nil
				break
			}
			ids = append(ids, id)
			text.Write(p)
		}
		// a generation that ended at an end-of-generation token lists it
		for len(ids) > 0 && tok.IsEOG(ids[len(ids)-1]) && text.Len() > len(r.output) {
			text.Reset()
			ids = ids[:len(ids)-1]
			text.WriteString(tok.Decode(ids))
		}
		if ids != nil && text.String() == r.output {
			return ids, true, nil
		}
	}
	ids, err = tok.Encode(r.output, false, false)
	return ids, false, err
}

// readMarkedData reads our marked outputs (readMarkedRecords) as token ids
// of a local suspect e: each its prompt, rendered with e's chat template as
// the server rendered it for the teacher (and distill train for the
// student), or e's BOS for a "text" line, followed by the output (see
// outputIDs); texts[i][:starts[i]] is the prompt. It also returns how many
// outputs were read as the teacher generated them.
func readMarkedData(dir string, e *engine.Engine) (texts [][]int, starts []int, generated int, err error) {
	recs, err := readMarkedRecords(dir)
	if err != nil {
		return nil, nil, 0, err
	}
	x := newPieceIndex(e.Tok)
	for _, r := range recs {
		var prompt []int
		if len(r.prompt) > 0 {
			p, err := renderChat(e, r.prompt, engine.ThinkingDefault)
			if err != nil {
				return nil, nil, 0, err
			}
			prompt = p.Tokens
		} else if prompt, err = e.Tok.Encode("", e.Tok.AddBOS(), false); err != nil {
			return nil, nil, 0, err
		}
		ids, gen, err := outputIDs(r, e.Tok, x)
		if err != nil {
			return nil, nil, 0, err
		}
		if gen {
			generated++
		}
		texts = append(texts, append(prompt[:len(prompt):len(prompt)], ids...))
		starts = append(starts, len(prompt))
	}
	return texts, starts, generated, nil
}
