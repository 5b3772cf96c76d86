package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmRef is the plain float64 product: op(A) (m, k) @ op(B) (k, n) (+ C).
func gemmRef(g gemmArgs) []float64 {
	out := make([]float64, g.m*g.n)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			var s float64
			if g.accumulate {
				s = float64(g.c[i*g.ldc+j])
			}
			for p := 0; p < g.k; p++ {
				var av, bv float32
				if g.transA {
					av = g.a[p*g.lda+i]
				} else {
					av = g.a[i*g.lda+p]
				}
				if g.transB {
					bv = g.b[j*g.ldb+p]
				} else {
					bv = g.b[p*g.ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			out[i*g.n+j] = s
		}
	}
	return out
}

func randF32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// gemmCase builds random operands with padded strides for one shape.
func gemmCase(rng *rand.Rand, transA, transB bool, m, n, k int, acc bool) gemmArgs {
	g := gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, accumulate: acc}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	g.lda, g.ldb, g.ldc = ac+3, bc+1, n+5
	g.a, g.b, g.c = randF32(rng, ar*g.lda), randF32(rng, br*g.ldb), randF32(rng, m*g.ldc)
	return g
}

var gemmShapes = [][3]int{
	{1, 1, 1}, {6, 16, 1}, {6, 16, 7}, {7, 17, 5}, {13, 33, 257}, {96, 128, 256},
	{97, 129, 300}, {200, 50, 513}, {5, 300, 40}, {0, 4, 4}, {4, 0, 4}, {4, 4, 0},
}

// TestGemm checks every register tile, through the blocked driver, against
// the float64 product for all four transposition cases, odd shapes (edge
// tiles, k past one chunk), padded strides and accumulation. The tolerance
// is relative to the sum of |a||b| over k, a few float32 roundings per term.
func TestGemm(t *testing.T) {
	const tol = 1e-5
	t.Logf("tolerance: |got-want| <= %g * (sum_k |a||b| + |c|)", tol)
	saved := gemmTile
	defer func() { gemmTile = saved }()
	for _, impl := range gemmTiles {
		gemmTile = impl.run
		rng := rand.New(rand.NewPCG(1, 2))
		for _, sh := range gemmShapes {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, acc := range []bool{false, true} {
					g := gemmCase(rng, tr[0], tr[1], sh[0], sh[1], sh[2], acc)
					want := gemmRef(g)
					scale := gemmScale(g)
					var s GemmScratch
					s.Gemm(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, g.c, g.ldc, g.accumulate)
					for i := 0; i < g.m; i++ {
						for j := 0; j < g.n; j++ {
							got := float64(g.c[i*g.ldc+j])
							if d := math.Abs(got - want[i*g.n+j]); d > tol*scale[i*g.n+j] {
								t.Fatalf("%s %v trans=%v acc=%v: C[%d,%d] = %g, want %g (diff %g, allowed %g)",
									impl.name, sh, tr, acc, i, j, got, want[i*g.n+j], d, tol*scale[i*g.n+j])
							}
						}
					}
				}
			}
		}
	}
}

func gemmScale(g gemmArgs) []float64 {
	abs := g
	abs.a, abs.b, abs.c = absAll(g.a), absAll(g.b), absAll(g.c)
	return gemmRef(abs)
}

func absAll(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(math.Abs(float64(x)))
	}
	return out
}

// gemmTileFMA is gemmTileGo with every multiply-add fused (fma32): the
// order and rounding of the generated kernel, which it matches bit for bit.
func gemmTileFMA(k int, a, b, c []float32, ldc int) {
	var acc [gemmMR][gemmNR]float32
	for p := 0; p < k; p++ {
		for i := 0; i < gemmMR; i++ {
			for j := 0; j < gemmNR; j++ {
				acc[i][j] = fma32(a[p*gemmMR+i], b[p*gemmNR+j], acc[i][j])
			}
		}
	}
	for i := range acc {
		for j, v := range acc[i] {
			c[i*ldc+j] += v
		}
	}
}

// TestGemmTileBits checks that each SIMD register tile gives the bits of
// the fused twin.
func TestGemmTileBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, impl := range gemmTiles[1:] {
		for _, k := range []int{1, 3, 4, 5, 64, 255} {
			a, b := randF32(rng, k*gemmMR), randF32(rng, k*gemmNR)
			c0 := randF32(rng, gemmMR*20)
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			impl.run(k, a, b, got, 20)
			gemmTileFMA(k, a, b, want, 20)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s k=%d: c[%d] = %v, fused twin %v", impl.name, k, i, got[i], want[i])
				}
			}
		}
	}
}

// TestPoolGemmBits checks that splitting a product between threads gives
// the single-threaded bits.
func TestPoolGemmBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := gemmCase(rng, false, true, 301, 190, 520, true)
	want := append([]float32(nil), g.c...)
	var s GemmScratch
	s.Gemm(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, want, g.ldc, true)
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		got := append([]float32(nil), g.c...)
		p.Gemm(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, got, g.ldc, true)
		p.Close()
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("threads=%d: c[%d] = %v, single-threaded %v", threads, i, got[i], want[i])
			}
		}
	}
}

func TestGemmBadArgs(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Gemm with a short C did not panic")
		}
	}()
	var s GemmScratch
	s.Gemm(false, false, 4, 4, 4, make([]float32, 16), 4, make([]float32, 16), 4, make([]float32, 15), 4, false)
}

func TestGemmAllocs(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	a, b, c := make([]float32, 200*300), make([]float32, 300*100), make([]float32, 200*100)
	p.Gemm(false, false, 200, 100, 300, a, 300, b, 100, c, 100, false)
	if n := testing.AllocsPerRun(10, func() { p.Gemm(false, false, 200, 100, 300, a, 300, b, 100, c, 100, false) }); n != 0 {
		t.Errorf("Pool.Gemm allocates %v times per call", n)
	}
}

// BenchmarkGemm reports GFLOP/s of the products a training step of a
// ~10M-parameter model makes (1024 tokens, width 384, FFN 1024).
func BenchmarkGemm(b *testing.B) {
	for _, sh := range []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"fwd-1024x1024x384", false, true, 1024, 1024, 384},
		{"dx-1024x384x1024", false, false, 1024, 384, 1024},
		{"dw-1024x384x1024", true, false, 1024, 384, 1024},
	} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d/%s", sh.name, threads, GemmImplementation()), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(7, 8))
				g := gemmCase(rng, sh.ta, sh.tb, sh.m, sh.n, sh.k, false)
				p := NewPool(threads)
				defer p.Close()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p.Gemm(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, g.c, g.ldc, false)
				}
				b.ReportMetric(2*float64(sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
