package watermark

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// simStudent is a model "trained" on data: after a window (the last h
// tokens) seen in the data it adds weight lambda per occurrence to the
// tokens that followed it there, over the teacher's own distribution. That
// is what fine-tuning on marked text does to a student: after the windows
// it saw, it prefers what the key chose.
type simStudent struct {
	teacher simLM
	h       int
	lambda  float64
	counts  map[string]map[int]int
}

func trainStudent(teacher simLM, h int, data [][]int) *simStudent {
	s := &simStudent{teacher: teacher, h: h, lambda: 4, counts: map[string]map[int]int{}}
	var buf []byte
	for _, t := range data {
		for i := h; i < len(t); i++ {
			buf = ngramKey(buf, t[i-h:i])
			m := s.counts[string(buf)]
			if m == nil {
				m = map[int]int{}
				s.counts[string(buf)] = m
			}
			m[t[i]]++
		}
	}
	return s
}

// dist returns the student's candidates and weights after hist.
func (s *simStudent) dist(hist []int) ([]int, []float64) {
	ids := make([]int, len(s.teacher.rank))
	s.teacher.candidates(hist[len(hist)-1], ids)
	w := append([]float64(nil), s.teacher.rank...)
	if len(hist) >= s.h {
		var buf [64]byte
		for tok, c := range s.counts[string(ngramKey(buf[:0], hist[len(hist)-s.h:]))] {
			ids = append(ids, tok)
			w = append(w, s.lambda*float64(c))
		}
	}
	return ids, w
}

// continueText samples n tokens after prompt and returns the text and the
// student's argmax prediction at each position.
func (s *simStudent) continueText(rng *rand.Rand, prompt []int, n int) (text, preds []int) {
	text = append([]int(nil), prompt...)
	preds = make([]int, len(prompt), len(prompt)+n)
	for i := range preds {
		preds[i] = -1
	}
	for range n {
		ids, w := s.dist(text)
		best, sum := 0, float64(0)
		for i := range w {
			sum += w[i]
			if w[i] > w[best] {
				best = i
			}
		}
		preds = append(preds, ids[best])
		u := rng.Float64() * sum
		pick := 0
		for ; pick < len(w)-1; pick++ {
			if u -= w[pick]; u < 0 {
				break
			}
		}
		text = append(text, ids[pick])
	}
	return text, preds
}

func radioRun(rng *rand.Rand, st *simStudent, data [][]int, prompts [][]int, n int, useData bool) ReadingInput {
	in := ReadingInput{}
	for _, p := range prompts {
		text, preds := st.continueText(rng, p, n)
		in.Texts = append(in.Texts, text)
		in.Preds = append(in.Preds, preds)
		in.Start = append(in.Start, len(p))
	}
	if useData {
		in.Data = data
	}
	return in
}

func TestRadioactivity(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	key := randomKey(rng, Gumbel)
	// The teacher writes 400 answers of 100 tokens to 8 prompts (many
	// windows repeat across answers, as in real data).
	var prompts [][]int
	for range 8 {
		prompts = append(prompts, defaultLM.randomPrompt(rng))
	}
	var marked, plain [][]int
	for i := range 400 {
		p := prompts[i%len(prompts)]
		marked = append(marked, append(append([]int(nil), p...), defaultLM.generate(rng, p, 100, NewMarker(key))...))
		plain = append(plain, append(append([]int(nil), p...), defaultLM.generate(rng, p, 100, nil)...))
	}
	trained := trainStudent(defaultLM, key.Context, marked)
	control := trainStudent(defaultLM, key.Context, plain)
	var suspectPrompts [][]int
	for range 40 {
		suspectPrompts = append(suspectPrompts, prompts[rng.IntN(len(prompts))])
	}
	for _, useData := range []bool{false, true} {
		r := Radioactive(radioRun(rng, trained, marked, suspectPrompts, 100, useData), []Key{key}, 0)
		t.Logf("trained on marked data, --data %v: p %.3g (%d scored of %d predictions, %d excluded)", useData, r.PValue, r.Scored, r.Predictions, r.Excluded)
		if !r.Radioactive {
			t.Errorf("student trained on marked data (data restriction %v): p = %g, want < 1e-6", useData, r.PValue)
		}
	}
	// The control student, trained on unmarked data of the same teacher,
	// tested with 200 keys: p-values uniform when scoring every window, and
	// at most nominal when restricted to the marked data's windows (which
	// its text rarely meets: a p-value of 1 when nothing is scored).
	for _, useData := range []bool{false, true} {
		low := 0
		var ps []float64
		for range 200 {
			k := randomKey(rng, Gumbel)
			r := Radioactive(radioRun(rng, control, marked, suspectPrompts[:10], 100, useData), []Key{k}, 0)
			ps = append(ps, r.PValue)
			if r.PValue < 0.05 {
				low++
			}
		}
		// P(Binomial(200, 0.05) >= 22) < 1e-6.
		t.Logf("control, --data %v: %d of 200 keys below 0.05, median p %.2f", useData, low, median64(ps))
		if low >= 22 {
			t.Errorf("control student, data restriction %v: %d of 200 keys give p < 0.05: above nominal", useData, low)
		}
		if m := median64(ps); !useData && (m < 0.4 || m > 0.6) {
			t.Errorf("control student: median p %.2f, want near 0.5 (uniform)", m)
		}
	}
}

// Pairs of the prompt are not scored, windows reaching into the prompt are
// not scored, and each pair is scored once.
func TestScoreReadingExclusions(t *testing.T) {
	k := testKey(Gumbel, 40)
	k.Context = 2
	text := []int{1, 2, 3, 4, 1, 2, 3, 1, 2, 3, 9}
	preds := []int{-1, -1, -1, -1, -1, -1, 3, 9, 9, 9, 5}
	// Start 4: windows from index 4 on; positions 6.. have a window inside
	// the continuation. Position 6: window [1 2] pred 3: (1 2 3) is in the
	// prompt, excluded. 7: [2 3] pred 9 scored. 8: [3 1] pred 9 scored.
	// 9: [1 2] pred 9 scored. 10: [2 3] pred 5 scored.
	sc, preds2, excl := ScoreReading(ReadingInput{Texts: [][]int{text}, Start: []int{4}, Preds: [][]int{preds}}, k)
	if preds2 != 5 || excl != 1 || len(sc.S) != 4 {
		t.Errorf("predictions %d excluded %d scored %d, want 5, 1, 4", preds2, excl, len(sc.S))
	}
	// Closed-model mode scores the text's own tokens: 6 (1 2 3) excluded,
	// 7 (2 3 1) ... 10 (2 3 9); (1 2 3) at 9 excluded again, and (2 3 1)
	// at 7 once.
	sc, preds2, excl = ScoreReading(ReadingInput{Texts: [][]int{text}, Start: []int{4}}, k)
	if preds2 != 5 || excl != 2 || len(sc.S) != 3 {
		t.Errorf("closed model: predictions %d excluded %d scored %d, want 5, 2, 3", preds2, excl, len(sc.S))
	}
	// With data, only windows from the data count.
	sc, preds2, _ = ScoreReading(ReadingInput{Texts: [][]int{text}, Start: []int{4}, Preds: [][]int{preds}, Data: [][]int{{7, 3, 1, 7}}}, k)
	if preds2 != 1 || len(sc.S) != 1 {
		t.Errorf("with data: predictions %d scored %d, want 1, 1", preds2, len(sc.S))
	}
}

func median64(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

// copier is an innocent suspect that has learned to copy: after a window
// it has read earlier in the same text it predicts the token that followed
// there, else the teacher's most likely token. It knows nothing of any
// key, yet on marked text that repeats itself it predicts marked tokens.
func copierPreds(text []int, start, h int) []int {
	preds := make([]int, len(text))
	last := map[string]int{}
	var buf []byte
	ids := make([]int, len(defaultLM.rank))
	for i := range text {
		preds[i] = -1
		if i < start || i == 0 {
			continue
		}
		defaultLM.candidates(text[i-1], ids)
		preds[i] = ids[0]
		if i >= h {
			buf = ngramKey(buf, text[i-h:i])
			if j, ok := last[string(buf)]; ok {
				preds[i] = text[j]
			}
			last[string(buf)] = i
		}
	}
	return preds
}

// preds returns the student's most likely token after each prefix of text
// (-1 at 0).
func (s *simStudent) preds(text []int) []int {
	preds := make([]int, len(text))
	preds[0] = -1
	for i := 1; i < len(text); i++ {
		ids, w := s.dist(text[:i])
		best := 0
		for j := range w {
			if w[j] > w[best] {
				best = j
			}
		}
		preds[i] = ids[best]
	}
	return preds
}

// readOurs is the supervised reading test: our marked answers (prompt and
// answer) read through a suspect whose predictions pred gives.
func readOurs(answers [][]int, start int, pred func(text []int) []int) ReadingInput {
	in := ReadingInput{Data: answers, Ours: true}
	for _, a := range answers {
		in.Texts = append(in.Texts, a)
		in.Start = append(in.Start, start)
		in.Preds = append(in.Preds, pred(a))
	}
	return in
}

// Reading our marked outputs through the suspect (ReadingInput.Ours): a
// student trained on 5% of them is found; innocent suspects, even one that
// copies what it has read, give uniform p-values over 200 keys, each key
// marking its own data, because only windows read for the first time are
// scored. Without that rule the copier looks radioactive.
func TestRadioactivityReadingOurs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	const n = 200
	answers := func(key Key, n, length int) [][]int { return markedAnswers(rng, key, n, length) }
	h := DefaultContext
	key := randomKey(rng, Gumbel)
	marked := answers(key, n, 100)
	student := trainStudent(defaultLM, h, marked[:n/20])
	r := Radioactive(readOurs(marked, 8, student.preds), []Key{key}, 0)
	t.Logf("student trained on 5%% of our %d answers: p %.3g (%d scored, %d excluded)", n, r.PValue, r.Scored, r.Excluded)
	if !r.Radioactive {
		t.Errorf("student trained on 5%% of the marked answers: p = %g, want < 1e-5", r.PValue)
	}

	teacher := func(text []int) []int { return copierPreds(text, 8, len(text)+1) }
	copier := func(text []int) []int { return copierPreds(text, 8, h) }
	for _, c := range []struct {
		name string
		pred func([]int) []int
		ours bool
	}{{"teacher", teacher, true}, {"copier", copier, true}, {"copier, every pair once", copier, false}} {
		low := 0
		var ps []float64
		for range 200 {
			k := randomKey(rng, Gumbel)
			in := readOurs(answers(k, 4, 400), 8, c.pred)
			in.Ours = c.ours
			r := Radioactive(in, []Key{k}, 0)
			ps = append(ps, r.PValue)
			if r.PValue < 0.05 {
				low++
			}
		}
		t.Logf("%s: %d of 200 keys below 0.05, median p %.2f", c.name, low, median64(ps))
		m := median64(ps)
		uniform := low < 22 && m > 0.4 && m < 0.6 // P(Binomial(200, 0.05) >= 22) < 1e-6
		if uniform != c.ours {
			t.Errorf("%s (first windows only: %v): %d of 200 keys give p < 0.05, median %.2f", c.name, c.ours, low, m)
		}
	}
}

// markedAnswers returns n answers of length tokens, each after its own
// random 8-token prompt (prompt included), marked with k.
func markedAnswers(rng *rand.Rand, k Key, n, length int) [][]int {
	var out [][]int
	for range n {
		p := defaultLM.randomPrompt(rng)
		out = append(out, append(p, defaultLM.generate(rng, p, length, NewMarker(k))...))
	}
	return out
}

// simCands returns the candidates of a model whose candidate ids and
// weights dist gives, normalized, the top 16.
func simCands(text []int, dist func([]int) ([]int, []float64)) [][]Cand {
	out := make([][]Cand, len(text))
	for i := 1; i < len(text); i++ {
		ids, w := dist(text[:i])
		var sum float64
		for _, x := range w {
			sum += x
		}
		var cs []Cand
		for j, id := range ids {
			cs = append(cs, Cand{ID: id, P: w[j] / sum})
		}
		slices.SortFunc(cs, func(a, b Cand) int { return cmp.Compare(b.P, a.P) })
		out[i] = cs[:min(16, len(cs))]
	}
	return out
}

// The weighted reading test: a student trained on 5% of our answers scores
// a larger z than with its most likely tokens alone, and the teacher, whose
// candidates know nothing of the key, gives p-values at or above uniform
// (Chernoff's bound is conservative) over 100 keys.
func TestRadioactivityWeighted(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 4))
	gen := func(k Key, n, length int) [][]int { return markedAnswers(rng, k, n, length) }
	teacherDist := func(hist []int) ([]int, []float64) {
		ids := make([]int, len(defaultLM.rank))
		defaultLM.candidates(hist[len(hist)-1], ids)
		return ids, defaultLM.rank
	}
	weighted := func(answers [][]int, dist func([]int) ([]int, []float64)) ReadingInput {
		in := ReadingInput{Ours: true}
		for _, a := range answers {
			in.Texts = append(in.Texts, a)
			in.Start = append(in.Start, 8)
			in.Cands = append(in.Cands, simCands(a, dist))
		}
		return in
	}
	for _, scheme := range []Scheme{Gumbel, RedGreen} {
		key := randomKey(rng, scheme)
		marked := gen(key, 200, 100)
		student := trainStudent(defaultLM, key.Context, marked[:10])
		student.lambda = 0.5 // a weak student: its most likely token rarely changes
		top1 := Radioactive(readOurs(marked, 8, func(text []int) []int {
			preds := make([]int, len(text))
			preds[0] = -1
			for i, cs := range simCands(text, student.dist)[1:] {
				preds[i+1] = cs[0].ID
			}
			return preds
		}), []Key{key}, 0)
		w := Radioactive(weighted(marked, student.dist), []Key{key}, 0)
		t.Logf("%s, weak student on 5%%: most likely token z %.2f p %.3g; weighted z %.2f p %.3g (%d positions)", scheme, top1.Z, top1.PValue, w.Z, w.PValue, w.Scored)
		if w.Z < top1.Z+2 || (scheme == Gumbel && !w.Radioactive) {
			t.Errorf("%s: weighted test p %g z %.2f, most likely token z %.2f: want a stronger test (gumbel: detected)", scheme, w.PValue, w.Z, top1.Z)
		}
		low, sum := 0, 0.0
		for range 100 {
			k := randomKey(rng, scheme)
			r := Radioactive(weighted(gen(k, 2, 200), teacherDist), []Key{k}, 0)
			sum += r.PValue
			if r.PValue < 0.05 {
				low++
			}
		}
		t.Logf("%s, teacher over 100 keys: %d below 0.05, mean p %.2f", scheme, low, sum/100)
		if low >= 16 { // P(Binomial(100, 0.05) >= 16) < 1e-4
			t.Errorf("%s: teacher, %d of 100 keys below 0.05", scheme, low)
		}
	}
}

// Chernoff's bound is above the exact tail, and close to it: with equal
// weights it is the Gamma (Binomial) tail's bound.
func TestChernoffLogTail(t *testing.T) {
	for _, k := range []Key{{Scheme: Gumbel}, {Scheme: RedGreen, Gamma: 0.25}} {
		for _, n := range []int{10, 100, 1000} {
			q := make([]float64, n)
			for i := range q {
				q[i] = 1
			}
			mean := float64(n)
			if k.Scheme == RedGreen {
				mean *= k.Gamma
			}
			for _, sd := range []float64{1, 3, 6} {
				s := math.Round(mean + sd*math.Sqrt(mean))
				if k.Scheme == RedGreen && s > float64(n) {
					continue
				}
				exact, bound := logTail(k, n, s), chernoffLogTail(k, q, s)
				if bound < exact-1e-9 || (sd >= 3 && bound > exact/2) {
					t.Errorf("%s n=%d s=%g: bound ln p %g, exact %g", k.Scheme, n, s, bound, exact)
				}
			}
		}
		if chernoffLogTail(k, []float64{0.5, 0.5}, 0.1) != 0 {
			t.Errorf("%s: a sum below the mean must give ln p = 0", k.Scheme)
		}
	}
}
