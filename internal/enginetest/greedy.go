// Package enginetest holds what the generation tests of several packages
// share: the plain reference decoder they compare the scheduler against,
// and a tiny reasoning model they write (TinyReasoner).
package enginetest

// Evaluator is what Greedy needs of an engine.Sequence.
type Evaluator interface {
	Eval(toks []int, all bool, fn func(i int, logits []float32)) error
}

// Greedy decodes up to n tokens after prompt by hand: evaluate, take the
// most likely token (the lowest id on ties), stop at an end-of-generation
// token (not returned). It is the reference batched and served greedy
// output must equal.
func Greedy(seq Evaluator, isEOG func(int) bool, prompt []int, n int) ([]int, error) {
	var out []int
	var next int
	pick := func(_ int, logits []float32) {
		next = 0
		for i, l := range logits {
			if l > logits[next] {
				next = i
			}
		}
	}
	if err := seq.Eval(prompt, false, pick); err != nil {
		return nil, err
	}
	for len(out) < n && !isEOG(next) {
		out = append(out, next)
		if len(out) == n {
			break
		}
		if err := seq.Eval([]int{next}, false, pick); err != nil {
			return nil, err
		}
	}
	return out, nil
}
