package model

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// maxRelErr returns max|a-b| / max|b| over all values.
func maxRelErr(got []float32, want []float64) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(float64(got[i])-want[i]))
		den = math.Max(den, math.Abs(want[i]))
	}
	return num / den
}

// klDiv returns KL(softmax(want) || softmax(got)).
func klDiv(want []float64, got []float32) float64 {
	g := make([]float64, len(got))
	for i, v := range got {
		g[i] = float64(v)
	}
	p, q := softmax(want), softmax(g)
	var kl float64
	for i := range p {
		kl += p[i] * math.Log(p[i]/q[i])
	}
	return kl
}

func TestTinyModelsMatchReference(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	toks := []int{1, 5, 9, 33, 2, 66, 0, 12, 40, 41, 7}
	for _, s := range tinySpecs {
		t.Run(s.name(), func(t *testing.T) {
			f, m := loadTiny(t, s)
			want := refModel{s: s, f: f, eps: 1e-6}.forward(toks)
			// F32 weights: float32 arithmetic against float64, with the query
			// rounded to f16 and values accumulated in f16 inside attention
			// (llama.cpp's flash attention), each ~2^-11 relative, so a
			// relative bound of 2e-3. Quantized weights: activations are
			// rounded to 8 bits as llama.cpp does, so compare distributions
			// instead, with the dense-model bound of the shared references.
			const tol, klTol = 2e-3, 1e-3
			quantized := s.wtype != quant.F32
			if quantized {
				t.Logf("tolerance: mean KL(reference || engine) <= %g", klTol)
			} else {
				t.Logf("tolerance: max abs error / max |logit| <= %g", tol)
			}

			// All tokens in one batch.
			n := len(toks)
			r := m.NewRunner(pool, n, 32)
			c := m.NewCache(32)
			b := &Batch{Tokens: toks, Pos: make([]int, n), Caches: make([]*Cache, n), Logits: make([]bool, n)}
			for i := range toks {
				b.Pos[i], b.Caches[i], b.Logits[i] = i, c, true
			}
			batched := make([]float32, n*m.NVocab)
			if err := r.Forward(b, batched); err != nil {
				t.Fatal(err)
			}
			var kl float64
			for i := range toks {
				got := batched[i*m.NVocab : (i+1)*m.NVocab]
				kl += klDiv(want[i], got) / float64(n)
				if e := maxRelErr(got, want[i]); !quantized && e > tol {
					t.Errorf("batch: position %d: relative error %.3g > %g", i, e, tol)
				}
			}
			if kl > klTol {
				t.Errorf("mean KL %.3g > %g", kl, klTol)
			}

			// Token by token, in a fresh cache: identical to the batch for
			// quantized weights. F32 products of a batch take tinyBLAS's
			// order and those of one token ggml_vec_dot_f32's, as in
			// llama.cpp, so there decoding meets the batch's tolerance.
			c2 := m.NewCache(32)
			one := make([]float32, m.NVocab)
			for i, tok := range toks {
				step := &Batch{Tokens: []int{tok}, Pos: []int{i}, Caches: []*Cache{c2}, Logits: []bool{true}}
				if err := r.Forward(step, one); err != nil {
					t.Fatal(err)
				}
				if !quantized {
					if e := maxRelErr(one, want[i]); e > tol {
						t.Errorf("decode: position %d: relative error %.3g > %g", i, e, tol)
					}
					continue
				}
				for j := range one {
					if one[j] != batched[i*m.NVocab+j] {
						t.Fatalf("decode position %d differs from batch at logit %d: %v vs %v", i, j, one[j], batched[i*m.NVocab+j])
					}
				}
			}
		})
	}
}

// Two sequences interleaved in one batch give the same logits as each alone.
func TestMixedSequenceBatch(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, s := range tinySpecs {
		_, m := loadTiny(t, s)
		a, b := []int{3, 4, 5, 6}, []int{10, 11}
		alone := func(toks []int) []float32 {
			r := m.NewRunner(pool, 8, 16)
			c := m.NewCache(16)
			out := make([]float32, m.NVocab)
			bt := &Batch{Tokens: toks, Pos: make([]int, len(toks)), Caches: make([]*Cache, len(toks)), Logits: make([]bool, len(toks))}
			for i := range toks {
				bt.Pos[i], bt.Caches[i] = i, c
			}
			bt.Logits[len(toks)-1] = true
			if err := r.Forward(bt, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		wantA, wantB := alone(a), alone(b)
		r := m.NewRunner(pool, 8, 16)
		ca, cb := m.NewCache(16), m.NewCache(16)
		mixed := &Batch{
			Tokens: []int{3, 10, 4, 11, 5, 6},
			Pos:    []int{0, 0, 1, 1, 2, 3},
			Caches: []*Cache{ca, cb, ca, cb, ca, ca},
			Logits: []bool{false, false, false, true, false, true},
		}
		out := make([]float32, 2*m.NVocab)
		if err := r.Forward(mixed, out); err != nil {
			t.Fatal(err)
		}
		if s.wtype == quant.F32 {
			// F32 products take tinyBLAS's order from two rows, and the last
			// layer's FFN sees the two rows with logits here but one alone,
			// as in llama.cpp: equal to float32 rounding.
			const tol = 2e-3
			if e := relErr32(out[:m.NVocab], wantB); e > tol {
				t.Errorf("%s: sequence b in the mixed batch: relative error %.3g > %g", s.name(), e, tol)
			}
			if e := relErr32(out[m.NVocab:], wantA); e > tol {
				t.Errorf("%s: sequence a in the mixed batch: relative error %.3g > %g", s.name(), e, tol)
			}
			continue
		}
		for j := 0; j < m.NVocab; j++ {
			if out[j] != wantB[j] || out[m.NVocab+j] != wantA[j] {
				t.Fatalf("%s: mixed batch differs from sequences alone at logit %d", s.name(), j)
			}
		}
	}
}

// relErr32 is maxRelErr for float32 references.
func relErr32(got, want []float32) float64 {
	w := make([]float64, len(want))
	for i, v := range want {
		w[i] = float64(v)
	}
	return maxRelErr(got, w)
}

// TestLogitRowsOnly checks that logits asked for some rows of a batch are
// those rows of the logits of every row: Forward runs the last layer's FFN
// only for the rows with logits (as llama.cpp does), and with arithmetic
// that does not depend on the batch (Q8_0, dense FFN) that changes no bit.
func TestLogitRowsOnly(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	toks := []int{1, 5, 9, 33, 2, 66, 0, 12, 40}
	for _, s := range tinySpecs {
		if s.wtype == quant.F32 || s.experts > 0 {
			continue
		}
		_, m := loadTiny(t, s)
		run := func(keep func(i int) bool) ([]float32, int) {
			r := m.NewRunner(pool, len(toks), 16)
			c := m.NewCache(16)
			b := &Batch{Tokens: toks, Pos: make([]int, len(toks)), Caches: make([]*Cache, len(toks)), Logits: make([]bool, len(toks))}
			k := 0
			for i := range toks {
				b.Pos[i], b.Caches[i], b.Logits[i] = i, c, keep(i)
				if b.Logits[i] {
					k++
				}
			}
			out := make([]float32, k*m.NVocab)
			if err := r.Forward(b, out); err != nil {
				t.Fatal(err)
			}
			return out, k
		}
		all, _ := run(func(int) bool { return true })
		some, k := run(func(i int) bool { return i == 2 || i == 5 || i == len(toks)-1 })
		if k != 3 {
			t.Fatalf("%d rows kept", k)
		}
		for o, i := range []int{2, 5, len(toks) - 1} {
			for j := 0; j < m.NVocab; j++ {
				if some[o*m.NVocab+j] != all[i*m.NVocab+j] {
					t.Fatalf("%s: row %d, logit %d: %v with logits for 3 rows, %v for all", s.name(), i, j, some[o*m.NVocab+j], all[i*m.NVocab+j])
				}
			}
		}
		none, _ := run(func(int) bool { return false })
		if len(none) != 0 {
			t.Fatalf("%s: %d logits without rows asked", s.name(), len(none))
		}
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, s := range tinySpecs {
		_, m := loadTiny(t, s)
		r := m.NewRunner(pool, 1, 64)
		c := m.NewCache(64)
		out := make([]float32, m.NVocab)
		b := &Batch{Tokens: []int{1}, Pos: []int{0}, Caches: []*Cache{c}, Logits: []bool{true}}
		pos := 0
		allocs := testing.AllocsPerRun(20, func() {
			b.Pos[0] = pos
			pos++
			if err := r.Forward(b, out); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: decode step allocates %v times, want 0", s.name(), allocs)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	w := gguf.NewWriter()
	w.SetKV("general.architecture", "mamba9")
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(f); err == nil || !errors.Is(err, ErrUnsupportedArchitecture) {
		t.Errorf("Load(mamba9) = %v, want ErrUnsupportedArchitecture", err)
	}
}
