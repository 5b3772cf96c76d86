package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// tinySpec describes a tiny random model that a test writes with gguf.Writer.
type tinySpec struct {
	arch                     string
	embd, layers, heads, kvh int
	headDim                  int // 0: embd/heads, written without key_length
	ff, vocab                int
	experts, used, ffExp     int
	bias, qkNorm, tied, neox bool
	ropeFactors              bool
	wtype                    quant.Type // matrix type (norms stay F32)
	ropeBase                 float64
}

var tinySpecs = []tinySpec{
	{arch: "llama", embd: 64, layers: 2, heads: 4, kvh: 2, ff: 96, vocab: 67, wtype: quant.F32, ropeBase: 10000},
	{arch: "llama", embd: 64, layers: 2, heads: 4, kvh: 4, ff: 96, vocab: 67, tied: true, ropeFactors: true, wtype: quant.F32, ropeBase: 500000},
	{arch: "qwen2", embd: 64, layers: 2, heads: 4, kvh: 1, ff: 96, vocab: 67, bias: true, tied: true, neox: true, wtype: quant.F32, ropeBase: 1e6},
	{arch: "qwen3", embd: 64, layers: 2, heads: 4, kvh: 2, headDim: 32, ff: 96, vocab: 67, qkNorm: true, neox: true, wtype: quant.F32, ropeBase: 1e6},
	{arch: "qwen3moe", embd: 64, layers: 2, heads: 4, kvh: 2, headDim: 32, vocab: 67, experts: 4, used: 2, ffExp: 32, qkNorm: true, neox: true, wtype: quant.F32, ropeBase: 1e6},
	{arch: "qwen2", embd: 64, layers: 2, heads: 4, kvh: 2, ff: 96, vocab: 67, bias: true, neox: true, wtype: quant.Q8_0, ropeBase: 1e6},
}

func (s tinySpec) name() string {
	return fmt.Sprintf("%s-%s-kv%d-tied%v", s.arch, s.wtype, s.kvh, s.tied)
}

// config is the configuration Load reads from the file writeTiny writes.
func (s tinySpec) config() *Config {
	c, err := NewConfig(s.arch)
	if err != nil {
		panic(err)
	}
	hd := s.hd()
	c.NVocab, c.NEmbd, c.NLayer, c.NHead, c.NHeadKV = s.vocab, s.embd, s.layers, s.heads, s.kvh
	c.HeadDimK, c.HeadDimV, c.NFF, c.Rope.Dims = hd, hd, s.ff, hd
	c.NExpert, c.NExpertUse, c.NFFExpert = s.experts, s.used, s.ffExp
	c.Tied, c.QKVBias, c.RopeFactors = s.tied, s.bias, s.ropeFactors
	c.QKNorm = c.QKNorm || s.qkNorm
	return c
}

func (s tinySpec) hd() int {
	if s.headDim != 0 {
		return s.headDim
	}
	return s.embd / s.heads
}

// writeTiny writes s as a GGUF file with random weights and returns its bytes.
func writeTiny(t testing.TB, s tinySpec, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	w := gguf.NewWriter()
	a := s.arch
	w.SetKV("general.architecture", a)
	w.SetKV(a+".context_length", uint32(128))
	w.SetKV(a+".embedding_length", uint32(s.embd))
	w.SetKV(a+".block_count", uint32(s.layers))
	w.SetKV(a+".attention.head_count", uint32(s.heads))
	w.SetKV(a+".attention.head_count_kv", uint32(s.kvh))
	w.SetKV(a+".attention.layer_norm_rms_epsilon", float32(1e-6))
	w.SetKV(a+".rope.freq_base", float32(s.ropeBase))
	if s.headDim != 0 {
		w.SetKV(a+".attention.key_length", uint32(s.headDim))
		w.SetKV(a+".attention.value_length", uint32(s.headDim))
	}
	if s.experts > 0 {
		w.SetKV(a+".expert_count", uint32(s.experts))
		w.SetKV(a+".expert_used_count", uint32(s.used))
		w.SetKV(a+".expert_feed_forward_length", uint32(s.ffExp))
	} else {
		w.SetKV(a+".feed_forward_length", uint32(s.ff))
	}
	for _, tn := range Tensors(s.config()) {
		n := 1
		ud := make([]uint64, len(tn.Dims))
		for i, d := range tn.Dims {
			n *= d
			ud[i] = uint64(d)
		}
		v := make([]float32, n)
		typ := quant.F32
		switch tn.Role {
		case Weight: // scaled by the fan-in, so that activations stay O(1)
			typ = s.wtype
			scale := 1 / math.Sqrt(float64(tn.Dims[0]))
			if tn.Name == "token_embd.weight" || strings.HasSuffix(tn.Name, "ffn_gate_inp.weight") {
				scale = 1
			}
			for i := range v {
				v[i] = float32(rng.NormFloat64() * scale)
			}
		case Bias:
			for i := range v {
				v[i] = float32(rng.NormFloat64() * 0.3)
			}
		default: // norm weights and rope factors: around one
			for i := range v {
				v[i] = 1 + float32(rng.NormFloat64()*0.1)
			}
		}
		rb, err := typ.RowSize(n)
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, rb)
		if err := quant.Quantize(typ, v, data); err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(tn.Name, typ, ud, data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func loadTiny(t testing.TB, s tinySpec) (*gguf.File, *Model) {
	t.Helper()
	f, err := gguf.Parse(writeTiny(t, s, 7))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

// ---- A plain float64 reference forward, written from the papers. ----

type refModel struct {
	s   tinySpec
	f   *gguf.File
	eps float64
}

func (r refModel) vec(name string) []float64 {
	t, ok := r.f.Tensor(name)
	if !ok {
		return nil
	}
	v := make([]float32, t.NumElements())
	if err := quant.Dequantize(t.Type, t.Data, v); err != nil {
		panic(err)
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// matvec returns W x for W stored with ne = (len(x), rows), starting at row0.
func matvec(w []float64, x []float64, rows, row0 int) []float64 {
	n := len(x)
	out := make([]float64, rows)
	for r := 0; r < rows; r++ {
		var s float64
		for i := 0; i < n; i++ {
			s += w[(row0+r)*n+i] * x[i]
		}
		out[r] = s
	}
	return out
}

func rmsnorm(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	sc := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * sc * w[i]
	}
	return out
}

func softmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	var s float64
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Exp(v - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

// rope rotates one head in place at position pos.
func (r refModel) rope(v []float64, pos int, factors []float64) {
	d := len(v)
	for i := 0; i < d/2; i++ {
		theta := float64(pos) * math.Pow(r.s.ropeBase, -2*float64(i)/float64(d))
		if factors != nil {
			theta /= factors[i]
		}
		c, s := math.Cos(theta), math.Sin(theta)
		a, b := 2*i, 2*i+1
		if r.s.neox {
			a, b = i, i+d/2
		}
		x0, x1 := v[a], v[b]
		v[a], v[b] = x0*c-x1*s, x0*s+x1*c
	}
}

// forward returns the logits after every token of toks (len(toks), vocab).
func (r refModel) forward(toks []int) [][]float64 {
	s := r.s
	hd := s.hd()
	E := s.embd
	emb := r.vec("token_embd.weight")
	out := r.vec("output.weight")
	if out == nil {
		out = emb
	}
	factors := r.vec("rope_freqs.weight")
	xs := make([][]float64, len(toks))
	for i, t := range toks {
		xs[i] = append([]float64(nil), emb[t*E:(t+1)*E]...)
	}
	for l := 0; l < s.layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		wq, wk, wv, wo := r.vec(p+"attn_q.weight"), r.vec(p+"attn_k.weight"), r.vec(p+"attn_v.weight"), r.vec(p+"attn_output.weight")
		bq, bk, bv := r.vec(p+"attn_q.bias"), r.vec(p+"attn_k.bias"), r.vec(p+"attn_v.bias")
		qn, kn := r.vec(p+"attn_q_norm.weight"), r.vec(p+"attn_k_norm.weight")
		an, fn := r.vec(p+"attn_norm.weight"), r.vec(p+"ffn_norm.weight")
		var Ks, Vs, Qs [][]float64
		for i := range toks {
			h := rmsnorm(xs[i], an, r.eps)
			q, k, v := matvec(wq, h, s.heads*hd, 0), matvec(wk, h, s.kvh*hd, 0), matvec(wv, h, s.kvh*hd, 0)
			for j := range q {
				if bq != nil {
					q[j] += bq[j]
				}
			}
			for j := range k {
				if bk != nil {
					k[j] += bk[j]
					v[j] += bv[j]
				}
			}
			for hh := 0; hh < s.heads; hh++ {
				if qn != nil {
					copy(q[hh*hd:], rmsnorm(q[hh*hd:(hh+1)*hd], qn, r.eps))
				}
				r.rope(q[hh*hd:(hh+1)*hd], i, factors)
			}
			for hh := 0; hh < s.kvh; hh++ {
				if kn != nil {
					copy(k[hh*hd:], rmsnorm(k[hh*hd:(hh+1)*hd], kn, r.eps))
				}
				r.rope(k[hh*hd:(hh+1)*hd], i, factors)
			}
			// The cache holds keys and values as f16, as llama.cpp's does.
			for j := range k {
				k[j] = float64(quant.FP16ToFP32(quant.FP32ToFP16(float32(k[j]))))
				v[j] = float64(quant.FP16ToFP32(quant.FP32ToFP16(float32(v[j]))))
			}
			Qs, Ks, Vs = append(Qs, q), append(Ks, k), append(Vs, v)
		}
		for i := range toks {
			att := make([]float64, s.heads*hd)
			for hh := 0; hh < s.heads; hh++ {
				kvh := hh / (s.heads / s.kvh)
				sc := make([]float64, i+1)
				for j := 0; j <= i; j++ {
					for d := 0; d < hd; d++ {
						sc[j] += Qs[i][hh*hd+d] * Ks[j][kvh*hd+d]
					}
					sc[j] /= math.Sqrt(float64(hd))
				}
				pr := softmax(sc)
				for j := 0; j <= i; j++ {
					for d := 0; d < hd; d++ {
						att[hh*hd+d] += pr[j] * Vs[j][kvh*hd+d]
					}
				}
			}
			o := matvec(wo, att, E, 0)
			for d := range o {
				xs[i][d] += o[d]
			}
			h := rmsnorm(xs[i], fn, r.eps)
			var ffo []float64
			if s.experts == 0 {
				g, u := matvec(r.vec(p+"ffn_gate.weight"), h, s.ff, 0), matvec(r.vec(p+"ffn_up.weight"), h, s.ff, 0)
				for j := range g {
					g[j] = silu(g[j]) * u[j]
				}
				ffo = matvec(r.vec(p+"ffn_down.weight"), g, E, 0)
			} else {
				pr := softmax(matvec(r.vec(p+"ffn_gate_inp.weight"), h, s.experts, 0))
				chosen := map[int]bool{}
				var sel []int
				var sum float64
				for k := 0; k < s.used; k++ {
					best := -1
					for e := range pr {
						if !chosen[e] && (best < 0 || pr[e] > pr[best]) {
							best = e
						}
					}
					chosen[best] = true
					sel = append(sel, best)
					sum += pr[best]
				}
				ffo = make([]float64, E)
				G, U, D := r.vec(p+"ffn_gate_exps.weight"), r.vec(p+"ffn_up_exps.weight"), r.vec(p+"ffn_down_exps.weight")
				for _, e := range sel {
					g, u := matvec(G, h, s.ffExp, e*s.ffExp), matvec(U, h, s.ffExp, e*s.ffExp)
					for j := range g {
						g[j] = silu(g[j]) * u[j]
					}
					d := matvec(D, g, E, e*E)
					for j := range d {
						ffo[j] += pr[e] / sum * d[j]
					}
				}
			}
			for d := range ffo {
				xs[i][d] += ffo[d]
			}
		}
	}
	on := r.vec("output_norm.weight")
	logits := make([][]float64, len(toks))
	for i := range toks {
		logits[i] = matvec(out, rmsnorm(xs[i], on, r.eps), s.vocab, 0)
	}
	return logits
}

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

			// Token by token, in a fresh cache: identical to the batch.
			c2 := m.NewCache(32)
			one := make([]float32, m.NVocab)
			for i, tok := range toks {
				step := &Batch{Tokens: []int{tok}, Pos: []int{i}, Caches: []*Cache{c2}, Logits: []bool{true}}
				if err := r.Forward(step, one); err != nil {
					t.Fatal(err)
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
		for j := 0; j < m.NVocab; j++ {
			if out[j] != wantB[j] || out[m.NVocab+j] != wantA[j] {
				t.Fatalf("%s: mixed batch differs from sequences alone at logit %d", s.name(), j)
			}
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
