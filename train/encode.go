package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/internal/chatprompt"
	"github.com/qilin-ai/qilin/tokenizer"
)

// Encoder turns records into training examples with one model's tokenizer
// and chat template, as the engine renders prompts: the conversation up to
// the last message is the prompt (rendered with the generation prompt,
// tokenized so that control tokens come only from the template, no loss),
// and the assistant's answer, reasoning included, then the template's end
// of turn, are the targets.
type Encoder struct {
	tok  *tokenizer.Tokenizer
	tmpl *chat.Template
	// TopK keeps the teacher's top-k log-probabilities as distillation
	// targets where a record carries them.
	TopK bool

	pieces    map[string]int32 // decoded piece -> token id
	endOfTurn []int32          // what the model emits to end its turn
}

// NewEncoder returns an encoder for tok and tmpl.
func NewEncoder(tok *tokenizer.Tokenizer, tmpl *chat.Template) *Encoder {
	e := &Encoder{tok: tok, tmpl: tmpl, pieces: map[string]int32{}}
	for id := 0; id < tok.VocabSize(); id++ {
		p := string(tok.Piece(id))
		if old, ok := e.pieces[p]; !ok || (tok.TokenType(int(old)) != tokenizer.TypeNormal && tok.TokenType(id) == tokenizer.TypeNormal) {
			e.pieces[p] = int32(id)
		}
	}
	e.endOfTurn = e.probeEndOfTurn()
	return e
}

// probeEndOfTurn renders a one-turn conversation whose answer is a
// sentinel and returns the tokens the template writes after the answer, up
// to and including the first end-of-generation token: "<|im_end|>" for
// ChatML, "<｜end▁of▁sentence｜>" for DeepSeek-R1. Without such a token it
// returns the tokenizer's EOS (or nothing when there is none).
func (e *Encoder) probeEndOfTurn() []int32 {
	const sentinel = "qilinanswer7f3a"
	eos := []int32(nil)
	if e.tok.EOS() >= 0 {
		eos = []int32{int32(e.tok.EOS())}
	}
	p, err := chatprompt.Render(e.tmpl, e.tok, chat.Input{Messages: []chat.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: sentinel}}})
	if err != nil {
		return eos
	}
	i := strings.LastIndex(p.Text, sentinel)
	if i < 0 {
		return eos
	}
	ids, err := e.tok.EncodeTemplated(p.Text[i+len(sentinel):], false, nil)
	if err != nil {
		return eos
	}
	for j, id := range ids {
		if e.tok.IsEOG(id) {
			out := make([]int32, j+1)
			for k, x := range ids[:j+1] {
				out[k] = int32(x)
			}
			return out
		}
	}
	return eos
}

// EncodeStats counts what Encode did with a dataset's records.
type EncodeStats struct {
	Records, Examples  int
	Tokens, Targets    int
	TopKTargets        int
	Skipped            map[string]int // reason -> records
	LogprobsUnaligned  int            // records whose logprobs could not be mapped to tokens
	TruncatedByTeacher int            // answers cut by the teacher's token limit (no end of turn)
}

// Encode turns rec into an example.
func (e *Encoder) Encode(rec Record) (Example, error) {
	n := len(rec.Messages)
	if n == 0 || rec.Messages[n-1].Role != "assistant" {
		return Example{}, fmt.Errorf("the last message is not the assistant's")
	}
	ans := rec.Messages[n-1]
	if ans.Content == "" && ans.ReasoningContent == "" {
		return Example{}, fmt.Errorf("the assistant's answer is empty")
	}
	prompt, err := chatprompt.Render(e.tmpl, e.tok, chat.Input{Messages: rec.Messages[:n-1], AddGenerationPrompt: true})
	if err != nil {
		return Example{}, err
	}
	ex := Example{}
	for _, id := range prompt.Tokens {
		ex.Tokens = append(ex.Tokens, int32(id))
		ex.Loss = append(ex.Loss, false)
	}
	gen, top, ok := e.fromLogprobs(rec.Logprobs)
	ex.fromLogprobs = ok
	if !ok {
		ids, err := e.answerTokens(prompt, ans)
		if err != nil {
			return Example{}, err
		}
		gen, top = ids, nil
	}
	if rec.FinishReason != "length" && (len(gen) == 0 || !e.tok.IsEOG(int(gen[len(gen)-1]))) {
		gen = append(gen, e.endOfTurn...)
	}
	if top != nil {
		ex.TopOff = make([]int32, len(ex.Tokens)+1)
	}
	for i, id := range gen {
		ex.Tokens = append(ex.Tokens, id)
		ex.Loss = append(ex.Loss, true)
		if ex.TopOff != nil {
			if i < len(top) {
				for _, t := range top[i] {
					ex.TopID = append(ex.TopID, t.id)
					ex.TopLogp = append(ex.TopLogp, t.logp)
				}
			}
			ex.TopOff = append(ex.TopOff, int32(len(ex.TopID)))
		}
	}
	return ex, nil
}

// answerTokens tokenizes the answer as the model writes it after the
// prompt: with reasoning, "<think>\n" (unless the prompt opened the block)
// + reasoning + "\n</think>\n\n" + content, the DeepSeek-R1 layout. The
// tags are tokens where the vocabulary has them; the texts stay plain. The
// answer is tokenized together with the prompt, as a tokenizer sees the
// whole conversation (so that a SentencePiece vocabulary does not start it
// with a word boundary of its own), and alone where that would change the
// prompt's tokens.
func (e *Encoder) answerTokens(prompt chatprompt.Prompt, m chat.Message) ([]int32, error) {
	var b strings.Builder
	var plain []tokenizer.Range
	text := func(s string) {
		plain = append(plain, tokenizer.Range{Start: b.Len(), End: b.Len() + len(s)})
		b.WriteString(s)
	}
	if m.ReasoningContent != "" {
		if !prompt.ThinkingOpen {
			b.WriteString(chat.ThinkOpen + "\n")
		}
		text(m.ReasoningContent)
		b.WriteString("\n" + chat.ThinkClose + "\n\n")
	}
	text(m.Content)
	answer := b.String()
	ids, err := e.jointTokens(prompt, answer, plain)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		if ids, err = e.tok.EncodeTemplated(answer, false, plain); err != nil {
			return nil, err
		}
	}
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out, nil
}

// jointTokens tokenizes prompt text + answer and returns the tokens after
// the prompt's, or nil when the prompt's tokens are not a prefix of the
// whole (a merge across the boundary, or user text that the template's
// marking had kept plain).
func (e *Encoder) jointTokens(prompt chatprompt.Prompt, answer string, plain []tokenizer.Range) ([]int, error) {
	shifted := make([]tokenizer.Range, len(plain))
	for i, r := range plain {
		shifted[i] = tokenizer.Range{Start: r.Start + len(prompt.Text), End: r.End + len(prompt.Text)}
	}
	addBOS := len(prompt.Tokens) > 0 && e.tok.BOS() >= 0 && prompt.Tokens[0] == e.tok.BOS() &&
		!strings.HasPrefix(prompt.Text, e.tok.TokenText(e.tok.BOS()))
	all, err := e.tok.EncodeTemplated(prompt.Text+answer, addBOS, shifted)
	if err != nil {
		return nil, err
	}
	if len(all) <= len(prompt.Tokens) {
		return nil, nil
	}
	for i, id := range prompt.Tokens {
		if all[i] != id {
			return nil, nil
		}
	}
	return all[len(prompt.Tokens):], nil
}

type topEntry struct {
	id   int32
	logp float32
}

// fromLogprobs returns the teacher's own tokens and, with TopK, each one's
// alternatives (the sampled token included), when every generated token
// maps to a token of the vocabulary. Alternatives that do not map are left
// out: their mass joins the remainder bucket.
func (e *Encoder) fromLogprobs(lps []TokenLogprobs) ([]int32, [][]topEntry, bool) {
	if len(lps) == 0 {
		return nil, nil, false
	}
	ids := make([]int32, len(lps))
	var top [][]topEntry
	if e.TopK {
		top = make([][]topEntry, len(lps))
	}
	for i, lp := range lps {
		id, ok := e.lookup(lp.Token, lp.Bytes)
		if !ok {
			return nil, nil, false
		}
		ids[i] = id
		if top == nil {
			continue
		}
		seen := false
		for _, t := range lp.Top {
			tid, ok := e.lookup(t.Token, t.Bytes)
			if !ok || dupEntry(top[i], tid) || math.IsNaN(t.Logprob) || t.Logprob > 0 {
				continue
			}
			top[i] = append(top[i], topEntry{tid, float32(t.Logprob)})
			seen = seen || tid == id
		}
		if !seen && lp.Logprob <= 0 && !math.IsNaN(lp.Logprob) {
			top[i] = append(top[i], topEntry{id, float32(lp.Logprob)})
		}
	}
	return ids, top, true
}

func dupEntry(es []topEntry, id int32) bool {
	for _, e := range es {
		if e.id == id {
			return true
		}
	}
	return false
}

// lookup maps a logprobs token (its bytes where given, else its text) to
// the id whose decoded piece it is.
func (e *Encoder) lookup(token string, bytes []int) (int32, bool) {
	if bytes != nil {
		b := make([]byte, len(bytes))
		for i, v := range bytes {
			if v < 0 || v > 255 {
				return 0, false
			}
			b[i] = byte(v)
		}
		token = string(b)
	}
	id, ok := e.pieces[token]
	return id, ok
}

// EncodeAll encodes records, skipping (and counting) those that cannot be
// used.
func (e *Encoder) EncodeAll(recs []Record) ([]Example, EncodeStats) {
	st := EncodeStats{Records: len(recs), Skipped: map[string]int{}}
	var out []Example
	for _, rec := range recs {
		ex, err := e.Encode(rec)
		if err != nil {
			st.Skipped[err.Error()]++
			continue
		}
		if len(rec.Logprobs) > 0 && !ex.fromLogprobs {
			st.LogprobsUnaligned++
		}
		if rec.FinishReason == "length" {
			st.TruncatedByTeacher++
		}
		st.Examples++
		st.Tokens += len(ex.Tokens)
		for i, l := range ex.Loss {
			if l {
				st.Targets++
				if ex.TopOff != nil && ex.TopOff[i+1] > ex.TopOff[i] {
					st.TopKTargets++
				}
			}
		}
		out = append(out, ex)
	}
	return out, st
}

// SameVocabulary returns an error naming the first difference between two
// vocabularies: distillation compares distributions token by token, so the
// teacher's and the student's must be the same list of tokens.
func SameVocabulary(student, teacher *tokenizer.Tokenizer) error {
	if a, b := student.VocabSize(), teacher.VocabSize(); a != b {
		return fmt.Errorf("train: the teacher's vocabulary has %d tokens, the student's %d: distillation needs the same vocabulary (train with --kd none)", b, a)
	}
	for id := 0; id < student.VocabSize(); id++ {
		if a, b := student.TokenText(id), teacher.TokenText(id); a != b {
			return fmt.Errorf("train: token %d is %q for the student and %q for the teacher: distillation needs the same vocabulary (train with --kd none)", id, a, b)
		}
	}
	return nil
}
