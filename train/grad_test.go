package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/kernels"
)

// Every backward is checked against central finite differences of the
// float64 twin of its forward (ref64_test.go). The check compares, over the
// sampled entries of a tensor, the float32 analytic gradient a with the
// numerical one n: err = max|a - n| / max|n|, which must stay below the
// printed tolerance.

// fdStep is the finite-difference step; in float64 its truncation error
// (~h²) and rounding error (~1e-16/h) are both far below the tolerances.
const fdStep = 1e-5

// Tolerances on err for float32 backwards: a layer's stays near 1e-7 and
// the whole model's (the roundings of every layer compounded) near 3e-6,
// measured; the bounds leave a factor of 15-30.
const (
	gradTolLayer = 1e-5
	gradTolModel = 5e-5
)

// checkGrad compares analytic[idx] with the finite differences of loss
// over x[idx].
func checkGrad(t *testing.T, name string, x []float64, analytic []float32, idx []int, loss func() float64) {
	t.Helper()
	checkGradTol(t, name, x, analytic, idx, loss, gradTolLayer)
}

func checkGradTol(t *testing.T, name string, x []float64, analytic []float32, idx []int, loss func() float64, gradTol float64) {
	t.Helper()
	var maxErr, maxN float64
	for _, i := range idx {
		x0 := x[i]
		x[i] = x0 + fdStep
		lp := loss()
		x[i] = x0 - fdStep
		lm := loss()
		x[i] = x0
		n := (lp - lm) / (2 * fdStep)
		maxErr = math.Max(maxErr, math.Abs(float64(analytic[i])-n))
		maxN = math.Max(maxN, math.Abs(n))
	}
	if maxN == 0 {
		t.Errorf("%s: every sampled numerical gradient is 0: the check checks nothing", name)
		return
	}
	rel := maxErr / maxN
	t.Logf("%-34s %3d entries  max|grad| %.3g  err %.2e  (tolerance %.0e)", name, len(idx), maxN, rel, gradTol)
	if rel > gradTol || math.IsNaN(rel) {
		t.Errorf("%s: analytic gradient differs from finite differences by %.3g of its scale (tolerance %g)", name, rel, gradTol)
	}
}

// sample returns up to k distinct indices below n.
func sample(rng *rand.Rand, n, k int) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(n)[:k]
}

func randVec64(rng *rand.Rand, n int, s float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64() * s
	}
	return v
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestRMSNormGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	n, e := 5, 24
	x, w, R := randVec64(rng, n*e, 1), randVec64(rng, e, 1), randVec64(rng, n*e, 1)
	loss := func() float64 { return dot64(R, rmsnorm64(x, w, n, e, 1e-5)) }
	out, rstd := make([]float32, n*e), make([]float32, n)
	rmsnormForward(out, rstd, to32(x), to32(w), n, e, 1e-5)
	dx, dw := make([]float32, n*e), make([]float32, e)
	rmsnormBackward(dx, dw, to32(R), to32(x), to32(w), rstd, n, e)
	checkGrad(t, "rmsnorm dx", x, dx, sample(rng, n*e, 60), loss)
	checkGrad(t, "rmsnorm dw", w, dw, sample(rng, e, 60), loss)
}

func TestRopeGrad(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2"} {
		rng := rand.New(rand.NewPCG(2, 2))
		c := Config{Arch: arch, NEmbd: 16, NHead: 2, HeadDim: 8, RopeBase: 10000}
		r := &ref64{c: c, rope: newRopeTable(c, 40)}
		x, R := randVec64(rng, 16, 1), randVec64(rng, 16, 1)
		const pos = 37
		loss := func() float64 {
			y := append([]float64(nil), x...)
			r.rope64(y, 2, pos)
			return dot64(R, y)
		}
		dx := to32(R)
		r.rope.rotate(dx, 2, pos, true)
		checkGrad(t, arch+" rope dx", x, dx, sample(rng, 16, 16), loss)
	}
}

func TestSwiGLUGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	n := 40
	g, u, R := randVec64(rng, n, 3), randVec64(rng, n, 1), randVec64(rng, n, 1)
	loss := func() float64 {
		var s float64
		for i := range g {
			s += R[i] * silu64(g[i]) * u[i]
		}
		return s
	}
	dg, du := make([]float32, n), make([]float32, n)
	swigluBackward(dg, du, to32(R), to32(g), to32(u), make([]float32, n))
	checkGrad(t, "swiglu dgate", g, dg, sample(rng, n, n), loss)
	checkGrad(t, "swiglu dup", u, du, sample(rng, n, n), loss)
}

// testBatch returns a batch of rows x T positions packed with documents
// of random lengths, every position a CE target.
func testBatch(rng *rand.Rand, rows, T, vocab int) *Batch {
	b := NewBatch(rows, T)
	for r := 0; r < rows; r++ {
		for s := 0; s < T; {
			n := min(T-s, 1+rng.IntN(T/2+1))
			for j := 0; j < n; j++ {
				i := r*T + s + j
				b.Tokens[i], b.Pos[i], b.Start[i] = int32(rng.IntN(vocab)), int32(j), int32(s)
				b.Target[i] = int32(rng.IntN(vocab))
				b.KDOff[i+1] = b.KDOff[i]
			}
			s += n
		}
	}
	return b
}

func TestAttentionGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	sh := attnShape{rows: 2, T: 11, heads: 4, kvHeads: 2, hd: 6}
	sh.scale = float32(1 / math.Sqrt(float64(sh.hd)))
	b := testBatch(rng, sh.rows, sh.T, 5)
	N := sh.rows * sh.T
	q, k, v := randVec64(rng, N*sh.qd(), 1), randVec64(rng, N*sh.kd(), 1), randVec64(rng, N*sh.kd(), 1)
	R := randVec64(rng, N*sh.qd(), 1)
	loss := func() float64 { return dot64(R, attention64(b, q, k, v, sh.heads, sh.kvHeads, sh.hd)) }

	pool := kernels.NewPool(2)
	defer pool.Close()
	at := newAttnTask(sh, pool.Threads())
	at.b, at.q, at.k, at.v = b, to32(q), to32(k), to32(v)
	at.p, at.out = make([]float32, sh.rows*sh.heads*sh.T*sh.T), make([]float32, N*sh.qd())
	pool.Parallel(sh.rows*sh.kvHeads, 1, at)
	want := attention64(b, q, k, v, sh.heads, sh.kvHeads, sh.hd)
	for i, w := range want {
		if math.Abs(float64(at.out[i])-w) > 1e-5 {
			t.Fatalf("forward: out[%d] = %v, float64 twin %v", i, at.out[i], w)
		}
	}
	at.backward = true
	at.dout = to32(R)
	at.dq, at.dk, at.dv = make([]float32, N*sh.qd()), make([]float32, N*sh.kd()), make([]float32, N*sh.kd())
	pool.Parallel(sh.rows*sh.kvHeads, 1, at)
	checkGrad(t, "attention dq", q, at.dq, sample(rng, len(q), 80), loss)
	checkGrad(t, "attention dk", k, at.dk, sample(rng, len(k), 80), loss)
	checkGrad(t, "attention dv", v, at.dv, sample(rng, len(v), 80), loss)
}

func TestLinearGrad(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, tc := range []struct {
		name          string
		frozen, lora  bool
		bias          bool
		n, in, out, r int
	}{
		{"dense+bias", false, false, true, 7, 20, 13, 0},
		{"frozen Q8_0+lora", true, true, false, 7, 64, 13, 3},
		{"dense+lora+bias", false, true, true, 5, 16, 9, 2},
	} {
		rng := rand.New(rand.NewPCG(5, 5))
		n, in, out := tc.n, tc.in, tc.out
		w := randVec64(rng, out*in, 1)
		l := &linear{name: "x", out: out, in: in, deq: newDequantizer(in)}
		ref := &ref64{w: map[string][]float64{}, loraScale: 1.5}
		if tc.frozen {
			data := make([]byte, out*in/32*34)
			if err := quantQ8_0(to32(w), data); err != nil {
				t.Fatal(err)
			}
			m, err := kernels.NewMatrix(q8_0, out, in, data)
			if err != nil {
				t.Fatal(err)
			}
			l.base = m
			w = dequant64(m)
		} else {
			l.w, l.dw = to32(w), make([]float32, out*in)
		}
		ref.w["x.weight"] = w
		if tc.bias {
			b := randVec64(rng, out, 1)
			ref.w["x.bias"] = b
			l.b, l.db = to32(b), make([]float32, out)
		}
		if tc.lora {
			a, bb := randVec64(rng, tc.r*in, 1), randVec64(rng, out*tc.r, 1)
			ref.w["x.lora_a"], ref.w["x.lora_b"] = a, bb
			l.ad = &adapter{r: tc.r, scale: 1.5, a: to32(a), da: make([]float32, tc.r*in), b: to32(bb), db: make([]float32, out*tc.r),
				xa: make([]float32, n*tc.r), dxa: make([]float32, n*tc.r)}
		}
		x, R := randVec64(rng, n*in, 1), randVec64(rng, n*out, 1)
		loss := func() float64 { return dot64(R, ref.linear64("x", x, n, in, out)) }
		y := make([]float32, n*out)
		l.forward(pool, y, to32(x), n)
		for i, want := range ref.linear64("x", x, n, in, out) {
			if math.Abs(float64(y[i])-want) > 1e-4 {
				t.Fatalf("%s forward: y[%d] = %v, float64 twin %v", tc.name, i, y[i], want)
			}
		}
		dx := make([]float32, n*in)
		l.backward(pool, dx, to32(R), to32(x), n)
		checkGrad(t, tc.name+" dx", x, dx, sample(rng, n*in, 60), loss)
		if l.dw != nil {
			checkGrad(t, tc.name+" dW", ref.w["x.weight"], l.dw, sample(rng, out*in, 60), loss)
		}
		if l.db != nil {
			checkGrad(t, tc.name+" db", ref.w["x.bias"], l.db, sample(rng, out, 60), loss)
		}
		if l.ad != nil {
			checkGrad(t, tc.name+" dA", ref.w["x.lora_a"], l.ad.da, sample(rng, len(l.ad.da), 60), loss)
			checkGrad(t, tc.name+" dB", ref.w["x.lora_b"], l.ad.db, sample(rng, len(l.ad.db), 60), loss)
		}
	}
}

// TestLossGrads checks each loss's gradient with respect to the logits:
// cross-entropy, top-k distillation with and without a temperature and
// with a remainder bucket, and online distillation, forward and reverse.
func TestLossGrads(t *testing.T) {
	const V = 23
	rng := rand.New(rand.NewPCG(6, 6))
	z := randVec64(rng, V, 2)
	y := randVec64(rng, V, 2)
	lp, q, rows := make([]float32, V), make([]float32, V), make([]float32, 4*V)
	mark := make([]bool, V)
	ids := []int32{4, 17, 2}
	// A teacher distribution over three ids with 0.15 left over.
	logps := []float32{float32(math.Log(0.5)), float32(math.Log(0.3)), float32(math.Log(0.05))}
	const w = 0.7
	for _, tc := range []struct {
		name string
		loss func() float64
		grad func(dz []float32)
	}{
		{"cross-entropy", func() float64 { return w * -logSoftmax64(z, 1)[9] },
			func(dz []float32) { crossEntropy(dz, to32(z), lp, q, 9, w) }},
		{"top-k KL", func() float64 { return w * topk64(z, ids, logps, 1) },
			func(dz []float32) { topkKL(dz, to32(z), lp, q, mark, ids, logps, 1, w) }},
		{"top-k KL tau=2", func() float64 { return w * topk64(z, ids, logps, 2) },
			func(dz []float32) { topkKL(dz, to32(z), lp, q, mark, ids, logps, 2, w) }},
		{"online forward KL tau=1.5", func() float64 { return w * fullKL64(z, y, false, 1.5) },
			func(dz []float32) { fullKL(dz, to32(z), to32(y), rows, false, 1.5, w) }},
		{"online reverse KL tau=1", func() float64 { return w * fullKL64(z, y, true, 1) },
			func(dz []float32) { fullKL(dz, to32(z), to32(y), rows, true, 1, w) }},
	} {
		dz := make([]float32, V)
		tc.grad(dz)
		checkGrad(t, tc.name, z, dz, sample(rng, V, V), tc.loss)
		for i, m := range mark {
			if m {
				t.Fatalf("%s left mark[%d] set", tc.name, i)
			}
		}
	}
}

func fullKL64(z, y []float64, reverse bool, tau float64) float64 {
	lq, lp := logSoftmax64(z, tau), logSoftmax64(y, tau)
	var kl float64
	for j := range lq {
		if reverse {
			kl += math.Exp(lq[j]) * (lq[j] - lp[j])
		} else {
			kl += math.Exp(lp[j]) * (lp[j] - lq[j])
		}
	}
	return tau * tau * kl
}
