package watermark

import (
	"encoding/binary"
	"math"
)

// ReadingInput is what a radioactivity test reads: whether a suspect model
// was trained on text marked with a key. After Sander et al.,
// "Watermarking Makes Language Models Radioactive" (2024): the suspect
// continues prompts with text of its own, and at each position of that text
// its most likely next token (reading mode, open model; Preds) or the token
// it wrote (closed model, behind an API) is scored with the key against
// the window of text before it. A model that learned from marked text
// prefers the key's tokens (high u, or green) after the windows it learned
// them from; a model that did not has no reason to, and since its text and
// predictions then do not depend on the key, the p-value is exact (Gamma or
// Binomial, as for Detect).
//
// So that nothing but the suspect's own choices is scored, only windows
// wholly inside a continuation count, a (window, token) pair that occurs in
// the prompt is skipped (the prompt may quote marked text, which the
// suspect could copy), and each pair is scored once.
type ReadingInput struct {
	// Texts are prompt and continuation, Texts[t][:Start[t]] the prompt.
	Texts [][]int
	Start []int
	// Preds[t][i] is the suspect's most likely token after Texts[t][:i]
	// (len(Preds[t]) == len(Texts[t]); a negative id is skipped). Nil
	// scores the texts' own tokens instead (closed model).
	Preds [][]int
	// Data, when not nil, are our own marked outputs (as distill collect
	// wrote them): only windows that occur in Data are scored, the
	// supervised and much stronger test, since those are the windows after
	// which the suspect may have learned the key's choices.
	Data [][]int
	// Ours says that the texts are not the suspect's but our marked
	// outputs themselves, read through it (the supervised reading test):
	// their tokens were chosen with the key, so a position is scored only
	// if its window occurs nowhere earlier in Texts, taken in order,
	// prompts included. After an earlier occurrence the key chose the
	// token that the suspect then reads; at a first occurrence nothing it
	// has read depends on the key's numbers for that window, and its
	// prediction scores as a uniform draw unless it learned them.
	Ours bool
	// Cands, with Ours, make the test the weighted one (see Cand): at each
	// position the suspect's candidates and their probabilities, in place
	// of Preds.
	Cands [][][]Cand
}

// RadioResult is the outcome of a radioactivity test; its JSON form is what
// `qilin watermark radioactivity --json` prints.
type RadioResult struct {
	KeyID  string `json:"key_id"` // the key that fits best
	Scheme Scheme `json:"scheme"`
	Mode   string `json:"mode"` // "reading" (open model) or "generation" (closed model: its text detected)
	Texts  int    `json:"texts"`
	Tokens int    `json:"tokens"` // tokens the suspect wrote (continuations)
	// Predictions counts the positions with a window inside a continuation
	// (and, with Data, a window from it); Excluded those whose pair occurs
	// in the prompt (with ReadingInput.Ours: whose window occurs earlier in
	// the texts); Scored the distinct pairs scored.
	Predictions int     `json:"predictions"`
	Excluded    int     `json:"excluded"`
	Scored      int     `json:"scored"`
	Score       float64 `json:"score"`
	PValue      float64 `json:"p_value"` // corrected for the keys tried
	Z           float64 `json:"z"`
	Radioactive bool    `json:"radioactive"`
	Threshold   float64 `json:"threshold"`
	LogPValue   float64 `json:"-"`
}

// ngramSet is a set of token n-grams.
type ngramSet map[string]struct{}

func ngramKey(buf []byte, toks []int) []byte {
	buf = buf[:0]
	for _, t := range toks {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(t))
	}
	return buf
}

// addNgrams adds every n-gram of each text to s.
func (s ngramSet) addNgrams(texts [][]int, n int) {
	var buf []byte
	for _, t := range texts {
		for i := 0; i+n <= len(t); i++ {
			buf = ngramKey(buf, t[i:i+n])
			s[string(buf)] = struct{}{}
		}
	}
}

// ScoreReading returns the scores of in under k, how many positions had a
// window to score, and how many of those were skipped because their pair
// occurs in the prompt.
func ScoreReading(in ReadingInput, k Key) (sc Scores, predictions, excluded int) {
	h := k.Context
	var windows ngramSet
	if in.Data != nil {
		windows = ngramSet{}
		windows.addNgrams(in.Data, h)
	}
	win := newWindower(k.Secret)
	sc.Key = k
	seen := ngramSet{}
	past := ngramSet{} // Ours: the windows of the texts read so far
	var buf []byte
	tuple := make([]int, h+1)
	for ti, text := range in.Texts {
		start := min(max(0, in.Start[ti]), len(text))
		prompt := ngramSet{}
		prompt.addNgrams([][]int{text[:start]}, h+1)
		if in.Ours {
			for i := h; i < min(start+h, len(text)); i++ {
				buf = ngramKey(buf, text[i-h:i])
				past[string(buf)] = struct{}{}
			}
		}
		for i := start + h; i < len(text); i++ {
			w := text[i-h : i]
			earlier := false
			if in.Ours {
				buf = ngramKey(buf, w)
				_, earlier = past[string(buf)]
				past[string(buf)] = struct{}{}
			}
			tok := text[i]
			if in.Preds != nil {
				if i >= len(in.Preds[ti]) {
					break
				}
				tok = in.Preds[ti][i]
			}
			if tok < 0 {
				continue
			}
			if windows != nil {
				if _, ok := windows[string(ngramKey(buf, w))]; !ok {
					continue
				}
			}
			predictions++
			if earlier {
				excluded++
				continue
			}
			copy(tuple, w)
			tuple[h] = tok
			buf = ngramKey(buf, tuple)
			if _, ok := prompt[string(buf)]; ok {
				excluded++
				continue
			}
			if _, dup := seen[string(buf)]; dup {
				continue
			}
			seen[string(buf)] = struct{}{}
			sc.Pos = append(sc.Pos, i)
			sc.S = append(sc.S, tokenScore(k, win.window(w), tok))
		}
	}
	return sc, predictions, excluded
}

// Radioactive runs the reading test for every key and reports the best,
// its p-value multiplied by the number of keys.
func Radioactive(in ReadingInput, keys []Key, threshold float64) RadioResult {
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	tokens := 0
	for i, t := range in.Texts {
		tokens += len(t) - min(max(0, in.Start[i]), len(t))
	}
	var best RadioResult
	for i, k := range keys {
		var r RadioResult
		if in.Cands != nil && in.Ours {
			sum, q, scored, preds, excl := scoreWeighted(in, k)
			r = RadioResult{
				KeyID: k.ID, Scheme: k.Scheme, Mode: "reading, weighted", Texts: len(in.Texts), Tokens: tokens,
				Predictions: preds, Excluded: excl, Scored: scored, Score: sum,
				Z: weightedZ(k, q, sum), Threshold: threshold, LogPValue: chernoffLogTail(k, q, sum),
			}
		} else {
			sc, preds, excl := ScoreReading(in, k)
			sum := sumScores(sc.S)
			mode := "reading"
			if in.Preds == nil {
				mode = "generation"
			}
			r = RadioResult{
				KeyID: k.ID, Scheme: k.Scheme, Mode: mode, Texts: len(in.Texts), Tokens: tokens,
				Predictions: preds, Excluded: excl, Scored: len(sc.S), Score: sum,
				Z: zScore(k, len(sc.S), sum), Threshold: threshold, LogPValue: logTail(k, len(sc.S), sum),
			}
		}
		if i == 0 || r.LogPValue < best.LogPValue {
			best = r
		}
	}
	best.LogPValue = min(0, best.LogPValue+math.Log(float64(max(1, len(keys)))))
	best.PValue = math.Exp(best.LogPValue)
	best.Radioactive = best.PValue < threshold
	return best
}

func sumScores(s []float64) float64 {
	var t float64
	for _, x := range s {
		t += x
	}
	return t
}
