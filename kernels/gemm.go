package kernels

import "fmt"

// Float32 matrix products for training (package train): C = op(A) @ op(B),
// blocked as BLIS does. For each chunk of gemmKC along k, all of op(A)'s
// chunk is packed into panels of gemmMR rows and all of op(B)'s into
// panels of gemmNR columns, both k-major, once; then every tile of C is
// computed from the shared panels by the register tile (gemmTile: gemmMR x
// gemmNR sums held in registers), which streams both linearly. Each of the
// three phases is split between threads, and every element of C is one sum
// accumulated in a fixed order: over the chunks in order, each chunk's sum
// built from zero in k order and then added to C. That order does not
// depend on how the work is split, so results do not depend on the thread
// count.

// Tile and block sizes. gemmMR and gemmNR are the register tile of the
// generated kernel; gemmKC bounds a B panel (gemmKC x gemmNR floats,
// 16 KiB) so that it stays in L1 while the A panels pass over it; a task's
// tile of C is gemmMB x gemmNB.
const (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256
	gemmMB = 16 * gemmMR
	gemmNB = 8 * gemmNR
)

// gemmArgs is one product: C (m, n) = op(A) (m, k) @ op(B) (k, n), plus C
// when accumulate. op(A) is A, stored (m, k) with row stride lda, or when
// transA A^T, with A stored (k, m); likewise op(B) is B (k, n) or, when
// transB, B^T with B stored (n, k).
type gemmArgs struct {
	transA, transB bool
	m, n, k        int
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
	accumulate     bool
}

// gemmTask runs one phase of a product over a range of panels or tiles.
type gemmTask struct {
	g            gemmArgs
	phase        int // gemmPackA, gemmPackB or gemmCompute
	p0, kc       int // the current chunk of k
	apack, bpack []float32
	edges        chan *[gemmMR * gemmNR]float32 // one edge tile per thread
}

const (
	gemmPackA = iota
	gemmPackB
	gemmCompute
)

func (t *gemmTask) Run(lo, hi int) {
	g := &t.g
	switch t.phase {
	case gemmPackA:
		for i := lo; i < hi; i++ {
			g.packA(t.apack[i*gemmMR*t.kc:(i+1)*gemmMR*t.kc], i*gemmMR, t.p0, t.kc)
		}
	case gemmPackB:
		for j := lo; j < hi; j++ {
			g.packB(t.bpack[j*gemmNR*t.kc:(j+1)*gemmNR*t.kc], j*gemmNR, t.p0, t.kc)
		}
	default:
		e := <-t.edges
		for i := lo; i < hi; i++ {
			t.tile(i, e)
		}
		t.edges <- e
	}
}

// prepare sets up the task for g, growing the packing buffers.
func (t *gemmTask) prepare(g gemmArgs, threads int) {
	g.check()
	t.g = g
	kc := min(gemmKC, g.k)
	if need := ceilDiv(g.m, gemmMR) * gemmMR * kc; len(t.apack) < need {
		t.apack = make([]float32, need)
	}
	if need := ceilDiv(g.n, gemmNR) * gemmNR * kc; len(t.bpack) < need {
		t.bpack = make([]float32, need)
	}
	if t.edges == nil {
		t.edges = make(chan *[gemmMR * gemmNR]float32, threads)
		for i := 0; i < threads; i++ {
			t.edges <- new([gemmMR * gemmNR]float32)
		}
	}
}

// run computes the product, calling par(n, t) to run t over [0, n).
func (t *gemmTask) run(par func(n, grain int)) {
	g := &t.g
	if g.m == 0 || g.n == 0 {
		return
	}
	if g.k == 0 {
		if !g.accumulate {
			for i := 0; i < g.m; i++ {
				clear(g.c[i*g.ldc : i*g.ldc+g.n])
			}
		}
		return
	}
	for t.p0 = 0; t.p0 < g.k; t.p0 += gemmKC {
		t.kc = min(gemmKC, g.k-t.p0)
		t.phase = gemmPackA
		par(ceilDiv(g.m, gemmMR), 4)
		t.phase = gemmPackB
		par(ceilDiv(g.n, gemmNR), 2)
		t.phase = gemmCompute
		par(ceilDiv(g.m, gemmMB)*ceilDiv(g.n, gemmNB), 1)
	}
}

// GemmScratch is the packing space of a single-threaded Gemm; the zero
// value is ready to use (it allocates on first use and grows as needed).
type GemmScratch struct{ t gemmTask }

// Gemm computes, on the calling goroutine,
//
//	op(A) (m, k) @ op(B) (k, n) -> C (m, n), row stride ldc
//
// where op(A) is A stored (m, k) with row stride lda, or A^T (A stored (k,
// m)) when transA, and op(B) is B stored (k, n) with row stride ldb, or B^T
// (B stored (n, k)) when transB. With accumulate the product is added to C,
// otherwise C is overwritten. The results equal Pool.Gemm's bit for bit.
func (s *GemmScratch) Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	s.t.prepare(gemmArgs{transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate}, 1)
	s.t.run(func(n, _ int) { s.t.Run(0, n) })
	s.t.g = gemmArgs{}
}

// Gemm is GemmScratch.Gemm with each phase split between the pool's
// threads.
func (p *Pool) Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	t := &p.gemm
	t.prepare(gemmArgs{transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate}, p.threads)
	t.run(func(n, grain int) { p.Parallel(n, grain, t) })
	t.g = gemmArgs{}
}

// check panics on arguments that would read or write outside the slices.
func (g *gemmArgs) check() {
	need := func(name string, s []float32, rows, cols, ld int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols || len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("kernels: Gemm %s: %d floats with stride %d cannot hold (%d, %d)", name, len(s), ld, rows, cols))
		}
	}
	if g.m < 0 || g.n < 0 || g.k < 0 {
		panic(fmt.Sprintf("kernels: Gemm of negative size (%d, %d, %d)", g.m, g.n, g.k))
	}
	if g.transA {
		need("A", g.a, g.k, g.m, g.lda)
	} else {
		need("A", g.a, g.m, g.k, g.lda)
	}
	if g.transB {
		need("B", g.b, g.n, g.k, g.ldb)
	} else {
		need("B", g.b, g.k, g.n, g.ldb)
	}
	need("C", g.c, g.m, g.n, g.ldc)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// tile adds the current chunk's contribution to C's tile i (gemmMB x
// gemmNB, row-major over the tiles), from the packed panels; on the first
// chunk it first clears the tile unless accumulating.
func (t *gemmTask) tile(i int, edge *[gemmMR * gemmNR]float32) {
	g, kc := &t.g, t.kc
	nt := ceilDiv(g.n, gemmNB)
	i0, j0 := i/nt*gemmMB, i%nt*gemmNB
	mb, nb := min(gemmMB, g.m-i0), min(gemmNB, g.n-j0)
	if t.p0 == 0 && !g.accumulate {
		for r := 0; r < mb; r++ {
			clear(g.c[(i0+r)*g.ldc+j0 : (i0+r)*g.ldc+j0+nb])
		}
	}
	for jr := 0; jr < nb; jr += gemmNR {
		bp := t.bpack[(j0+jr)*kc : (j0+jr+gemmNR)*kc]
		nr := min(gemmNR, nb-jr)
		for ir := 0; ir < mb; ir += gemmMR {
			ap := t.apack[(i0+ir)*kc : (i0+ir+gemmMR)*kc]
			mr := min(gemmMR, mb-ir)
			c := g.c[(i0+ir)*g.ldc+j0+jr:]
			if mr == gemmMR && nr == gemmNR {
				gemmTile(kc, ap, bp, c, g.ldc)
				continue
			}
			e := edge[:]
			clear(e)
			gemmTile(kc, ap, bp, e, gemmNR)
			for r := 0; r < mr; r++ {
				row := c[r*g.ldc : r*g.ldc+nr]
				for j := range row {
					row[j] += e[r*gemmNR+j]
				}
			}
		}
	}
}

// packA writes rows [i0, i0+gemmMR) and columns [p0, p0+kc) of op(A)
// into panel (kc, gemmMR) k-major; rows past m are 0.
func (g *gemmArgs) packA(panel []float32, i0, p0, kc int) {
	mr := min(gemmMR, g.m-i0)
	if mr < gemmMR {
		clear(panel)
	}
	if g.transA {
		// A stored (k, m): a column of op(A) is contiguous.
		for p := 0; p < kc; p++ {
			src := g.a[(p0+p)*g.lda+i0:]
			if mr == gemmMR {
				d, s := panel[p*gemmMR:p*gemmMR+gemmMR], src[:gemmMR]
				d[0], d[1], d[2], d[3], d[4], d[5] = s[0], s[1], s[2], s[3], s[4], s[5]
			} else {
				copy(panel[p*gemmMR:p*gemmMR+mr], src[:mr])
			}
		}
		return
	}
	if mr == gemmMR {
		// Six rows at once, so that the panel is written in order.
		row := func(r int) []float32 { return g.a[(i0+r)*g.lda+p0 : (i0+r)*g.lda+p0+kc] }
		r0, r1, r2, r3, r4, r5 := row(0), row(1), row(2), row(3), row(4), row(5)
		for p := range r0 {
			d := panel[p*gemmMR : p*gemmMR+gemmMR]
			d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		}
		return
	}
	for r := 0; r < mr; r++ {
		src := g.a[(i0+r)*g.lda+p0 : (i0+r)*g.lda+p0+kc]
		for p, v := range src {
			panel[p*gemmMR+r] = v
		}
	}
}

// packB writes rows [p0, p0+kc) and columns [j0, j0+gemmNR) of op(B) into
// panel (kc, gemmNR) k-major; columns past n are 0.
func (g *gemmArgs) packB(panel []float32, j0, p0, kc int) {
	nr := min(gemmNR, g.n-j0)
	if nr < gemmNR {
		clear(panel)
	}
	if !g.transB {
		for p := 0; p < kc; p++ {
			src := g.b[(p0+p)*g.ldb+j0:]
			if nr == gemmNR {
				*(*[gemmNR]float32)(panel[p*gemmNR:]) = *(*[gemmNR]float32)(src)
			} else {
				copy(panel[p*gemmNR:p*gemmNR+nr], src[:nr])
			}
		}
		return
	}
	// B stored (n, k): a column of op(B) is contiguous.
	for j := 0; j < nr; j++ {
		src := g.b[(j0+j)*g.ldb+p0 : (j0+j)*g.ldb+p0+kc]
		for p, v := range src {
			panel[p*gemmNR+j] = v
		}
	}
}

// gemmTileGo is the pure-Go register tile, gemmTile's twin:
//
//	C (gemmMR, gemmNR) at c, row stride ldc += a (k, gemmMR)^T @ b (k, gemmNR)
//
// with each sum accumulated from zero in k order and then added to C (as
// multiply-adds, which the compiler may fuse where the CPU has FMA).
func gemmTileGo(k int, a, b, c []float32, ldc int) {
	var acc [gemmMR][gemmNR]float32
	a, b = a[:k*gemmMR], b[:k*gemmNR]
	for p := 0; p < k; p++ {
		bp := (*[gemmNR]float32)(b[p*gemmNR:])
		for i := 0; i < gemmMR; i++ {
			ai := a[p*gemmMR+i]
			row := &acc[i]
			for j := range row {
				row[j] += ai * bp[j]
			}
		}
	}
	for i := range acc {
		row := c[i*ldc : i*ldc+gemmNR]
		for j, v := range acc[i] {
			row[j] += v
		}
	}
}

// gemmTileImpl is one implementation of the register tile.
type gemmTileImpl struct {
	name string
	run  func(k int, a, b, c []float32, ldc int)
}

// gemmTile is the register tile Gemm uses: the fastest this CPU runs.
var gemmTile = gemmTiles[len(gemmTiles)-1].run

// GemmImplementation names the register tile Gemm uses ("avx2" or
// "generic").
func GemmImplementation() string { return gemmTiles[len(gemmTiles)-1].name }
