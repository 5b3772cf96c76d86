package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The chunked (WY) form of the gated delta rule, kept beside its benchmark
// rather than in the model: on the AMD EPYC (AVX2 + AVX-512) it was measured
// on, chunks of 32 tokens at S = 128 ran no faster than DeltaRule token by
// token (165-181 against 163-184 us per 64 tokens; go test ./kernels -run
// '^$' -bench DeltaChunk -count 2): the chunked form does about twice the
// multiply-adds, and the Gemm tile runs only about twice the token loop's
// rate on products this small. docs/perf.md has the figures.

// deltaChunkMax is the most tokens one deltaChunk call takes.
const deltaChunkMax = 64

// deltaScratch holds deltaChunk's buffers for one thread; the zero value is
// ready to use (it allocates on first use, then reuses).
type deltaScratch struct {
	gemm      GemmScratch
	w, u      []float32 // (L, S): K S0^T, then the deltas U
	e, a, inv []float32 // (L, L): decay ratios, the strictly lower system, its inverse
	qk        []float32 // (L, L)
	cum       []float64 // (L): cumulative log decay
	diffs     []float32 // (L): one row of its differences
}

// deltaChunk applies the gated delta rule of L <= deltaChunkMax consecutive
// tokens of one sequence to one head's state at once, in the chunked (WY)
// form of Yang et al. 2024 instead of L calls of DeltaRule. With g_t the log
// decay of token t, G_t = g_1 + ... + g_t and Γ[t, s] = exp(G_t - G_s):
//
//	U   = (I + diag(β) (K K^T ⊙ Γ, strictly lower))^-1 diag(β) (V - diag(e^G) K S0^T)
//	O   = diag(e^G) Q S0^T + (Q K^T ⊙ Γ, lower incl. the diagonal) U
//	S_L = e^{G_L} S0 + Σ_t Γ[L, t] u_t k_t^T
//
// which is the token-by-token rule rearranged, so the results agree with
// DeltaRule's to rounding, not bit for bit. The products run as Gemm.
//
//	state (S, S), row j a value dim; q, k, v: L rows of S at row stride ld;
//	o: L rows of S at row stride ldo; g, beta: L values at stride gs
func (s *deltaScratch) deltaChunk(state, q, k, v []float32, ld int, o []float32, ldo int, g, beta []float32, gs, L int) {
	S := int(math.Sqrt(float64(len(state))))
	if L <= 0 {
		return
	}
	if L > deltaChunkMax || S*S != len(state) {
		panic("kernels: deltaChunk: more than deltaChunkMax tokens or a state that is not square")
	}
	s.grow(L, S)
	cum, w, u := s.cum[:L], s.w[:L*S], s.u[:L*S]
	var G float64
	for t := range L {
		G += float64(g[t*gs])
		cum[t] = G
	}

	// Γ, lower including the diagonal, one row of exponentials at a time.
	e := s.e[:L*L]
	clear(e)
	for t := range L {
		d := s.diffs[:t+1]
		for j := range d {
			d[j] = float32(cum[t] - cum[j])
		}
		Exp(e[t*L:t*L+t+1], d)
	}

	// W = K S0^T and the right-hand side diag(β)(V - diag(e^G) W), into u.
	s.gemm.Gemm(false, true, L, S, S, k, ld, state, S, w, S, false)
	for t := range L {
		gt, bt := float32(math.Exp(cum[t])), beta[t*gs]
		vt, wt, ut := v[t*ld:t*ld+S], w[t*S:(t+1)*S], u[t*S:(t+1)*S]
		for j := range ut {
			ut[j] = float32(vt[j]-float32(gt*wt[j])) * bt
		}
	}

	// A = diag(β)(K K^T ⊙ Γ) strictly lower, inverted by forward
	// substitution: row t of (I + A)^-1 is e_t - Σ_{j<t} A[t, j] row j.
	a, inv := s.a[:L*L], s.inv[:L*L]
	s.gemm.Gemm(false, true, L, L, S, k, ld, k, ld, a, L, false)
	clear(inv)
	for t := range L {
		bt := beta[t*gs]
		it := inv[t*L : t*L+t+1]
		it[t] = 1
		for j := 0; j < t; j++ {
			c := float32(bt*a[t*L+j]) * e[t*L+j]
			Axpy(it[:j+1], -c, inv[j*L:j*L+j+1])
		}
	}
	// U = (I + A)^-1 rhs, through w as the product's destination.
	s.gemm.Gemm(false, false, L, S, L, inv, L, u, S, w, S, false)
	u, w = w, u

	// O = diag(e^G) Q S0^T + (Q K^T ⊙ Γ) U.
	s.gemm.Gemm(false, true, L, S, S, q, ld, state, S, o, ldo, false)
	for t := range L {
		Scale(o[t*ldo:t*ldo+S], float32(math.Exp(cum[t])), o[t*ldo:t*ldo+S])
	}
	qk := s.qk[:L*L]
	s.gemm.Gemm(false, true, L, L, S, q, ld, k, ld, qk, L, false)
	for i := range qk {
		qk[i] *= e[i] // e is zero above the diagonal
	}
	s.gemm.Gemm(false, false, L, S, L, qk, L, u, S, o, ldo, true)

	// S_L = e^{G_L} S0 + (Γ[L, t] u_t)^T K, the rows of u scaled in place.
	last := cum[L-1]
	for t := range L {
		Scale(u[t*S:(t+1)*S], float32(math.Exp(last-cum[t])), u[t*S:(t+1)*S])
	}
	Scale(state, float32(math.Exp(last)), state)
	s.gemm.Gemm(true, false, S, S, L, u, S, k, ld, state, S, true)
}

func (s *deltaScratch) grow(L, S int) {
	if len(s.w) < deltaChunkMax*S {
		s.w, s.u = make([]float32, deltaChunkMax*S), make([]float32, deltaChunkMax*S)
	}
	if s.e == nil {
		n := deltaChunkMax * deltaChunkMax
		s.e, s.a, s.inv, s.qk = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		s.cum, s.diffs = make([]float64, deltaChunkMax), make([]float32, deltaChunkMax)
	}
}

// TestDeltaChunkMatchesTokens runs deltaChunk over chunks of several
// lengths against DeltaRule token by token from the same state: outputs
// and final state within 2e-6 of the largest value (rounding, the order of
// the sums differs), including decays strong enough that e^G underflows.
func TestDeltaChunkMatchesTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var scratch deltaScratch
	for _, c := range []struct {
		S, L int
		gmin float64
	}{{16, 1, -1}, {16, 7, -1}, {32, 64, -0.5}, {128, 64, -0.2}, {128, 33, -30}, {12, 20, -2}} {
		const ld, gs = 3, 2 // rows q, k, v interleaved; g and beta at stride 2
		S, L := c.S, c.L
		x := make([]float32, L*ld*S)
		for t := 0; t < L; t++ {
			for part := 0; part < 3; part++ {
				r := randVec(rng, S, 1)
				if part < 2 {
					nrm := float32(math.Sqrt(float64(Dot(r, r))))
					Scale(r, 1/nrm, r)
				}
				copy(x[(t*ld+part)*S:], r)
			}
		}
		g, beta := make([]float32, L*gs), make([]float32, L*gs)
		for t := 0; t < L; t++ {
			g[t*gs] = float32(c.gmin * rng.Float64())
			beta[t*gs] = float32(rng.Float64())
		}
		state := make([]float32, S*S)
		for i := range state {
			state[i] = float32(rng.NormFloat64() * 0.3)
		}
		want := append([]float32(nil), state...)
		wantO := make([]float32, L*S)
		for t := 0; t < L; t++ {
			q, k, v := x[t*ld*S:], x[(t*ld+1)*S:], x[(t*ld+2)*S:]
			DeltaRule(want, q[:S], k[:S], v[:S], wantO[t*S:(t+1)*S], float32(math.Exp(float64(g[t*gs]))), beta[t*gs])
		}
		o := make([]float32, L*2*S) // row stride 2S
		scratch.deltaChunk(state, x, x[S:], x[2*S:], ld*S, o, 2*S, g, beta, gs, L)
		gotO := make([]float32, L*S)
		for t := 0; t < L; t++ {
			copy(gotO[t*S:], o[t*2*S:t*2*S+S])
		}
		for _, p := range []struct {
			name      string
			got, want []float32
		}{{"outputs", gotO, wantO}, {"state", state, want}} {
			var maxErr, maxAbs float64
			for i := range p.want {
				maxErr = math.Max(maxErr, math.Abs(float64(p.got[i]-p.want[i])))
				maxAbs = math.Max(maxAbs, math.Abs(float64(p.want[i])))
			}
			if maxErr > 2e-6*maxAbs || math.IsNaN(maxErr) {
				t.Errorf("S=%d L=%d g>=%g: %s differ by %.3g of %.3g", S, L, c.gmin, p.name, maxErr, maxAbs)
			}
		}
	}
}

// BenchmarkDeltaChunk compares one head's 64 tokens as deltaChunk and as 64
// DeltaRule calls (S = 128, Qwen3.5's head size).
func BenchmarkDeltaChunk(b *testing.B) {
	const S, L = 128, deltaChunkMax
	rng := rand.New(rand.NewPCG(1, 2))
	x, o := randVec(rng, 3*L*S, 0.1), make([]float32, L*S)
	g, beta := make([]float32, L), make([]float32, L)
	for i := range g {
		g[i], beta[i] = -0.1, 0.5
	}
	state := make([]float32, S*S)
	for _, c := range []int{16, 32, 64} {
		b.Run(fmt.Sprintf("chunk=%d", c), func(b *testing.B) {
			var s deltaScratch
			for range b.N {
				for t0 := 0; t0 < L; t0 += c {
					s.deltaChunk(state, x[3*t0*S:], x[(3*t0+1)*S:], x[(3*t0+2)*S:], 3*S, o[t0*S:], S, g, beta, 1, c)
				}
			}
		})
	}
	b.Run("tokens", func(b *testing.B) {
		for range b.N {
			for t := range L {
				r := x[3*t*S:]
				DeltaRule(state, r[:S], r[S:2*S], r[2*S:3*S], o[t*S:(t+1)*S], 0.9, 0.5)
			}
		}
	})
}
