package kernels

import "fmt"

// Float32 matrix products for training (package train): C = op(A) @ op(B),
// blocked as BLIS does. A block of op(A) is packed into panels of gemmMR
// rows and a block of op(B) into panels of gemmNR columns, both k-major, so
// that the register tile (gemmTile: gemmMR x gemmNR sums held in registers)
// streams both panels linearly. Every element of C is one sum accumulated
// in a fixed order: over k in chunks of gemmKC, each chunk's sum built from
// zero in k order and then added to C. That order does not depend on how C
// is split into tiles, so results do not depend on the thread count.

// Tile and block sizes. gemmMR and gemmNR are the register tile of the
// generated kernel; gemmKC bounds a packed B panel (gemmKC x gemmNR floats,
// 16 KiB) so that it stays in L1 while the A panels pass over it; a task's
// tile of C is gemmMB x gemmNB.
const (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256
	gemmMB = 16 * gemmMR
	gemmNB = 8 * gemmNR
)

// gemmBufs is the packing space of one thread: a block of op(A) (gemmMB x
// gemmKC) and one of op(B) (gemmKC x gemmNB), and an edge tile.
type gemmBufs struct {
	a, b []float32
	edge [gemmMR * gemmNR]float32
}

func newGemmBufs() *gemmBufs {
	return &gemmBufs{a: make([]float32, gemmMB*gemmKC), b: make([]float32, gemmKC*gemmNB)}
}

// GemmScratch is the packing space a single-threaded Gemm needs; the zero
// value is ready to use (it allocates on first use).
type GemmScratch struct{ bufs *gemmBufs }

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

// Gemm computes, on the calling goroutine,
//
//	op(A) (m, k) @ op(B) (k, n) -> C (m, n), row stride ldc
//
// where op(A) is A stored (m, k) with row stride lda, or A^T (A stored (k,
// m)) when transA, and op(B) is B stored (k, n) with row stride ldb, or B^T
// (B stored (n, k)) when transB. With accumulate the product is added to C,
// otherwise C is overwritten. The results equal Pool.Gemm's bit for bit.
func (s *GemmScratch) Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	g := gemmArgs{transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate}
	g.check()
	if s.bufs == nil {
		s.bufs = newGemmBufs()
	}
	for t := 0; t < g.tiles(); t++ {
		g.tile(t, s.bufs)
	}
}

// Gemm is GemmScratch.Gemm split between the pool's threads by tiles of C.
func (p *Pool) Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	g := gemmArgs{transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate}
	g.check()
	if p.gemm.bufs == nil {
		p.gemm.bufs = make(chan *gemmBufs, p.threads)
		for i := 0; i < p.threads; i++ {
			p.gemm.bufs <- newGemmBufs()
		}
	}
	p.gemm.g = g
	p.Parallel(g.tiles(), 1, &p.gemm)
	p.gemm.g = gemmArgs{}
}

// gemmTask runs tiles of one product with a thread's packing buffers.
type gemmTask struct {
	g    gemmArgs
	bufs chan *gemmBufs
}

func (t *gemmTask) Run(lo, hi int) {
	b := <-t.bufs
	for i := lo; i < hi; i++ {
		t.g.tile(i, b)
	}
	t.bufs <- b
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

func (g *gemmArgs) tiles() int {
	return ceilDiv(g.m, gemmMB) * ceilDiv(g.n, gemmNB)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// tile computes C's tile t (gemmMB x gemmNB, row-major over the tiles).
func (g *gemmArgs) tile(t int, bufs *gemmBufs) {
	nt := ceilDiv(g.n, gemmNB)
	i0, j0 := t/nt*gemmMB, t%nt*gemmNB
	mb, nb := min(gemmMB, g.m-i0), min(gemmNB, g.n-j0)
	if !g.accumulate {
		for i := 0; i < mb; i++ {
			clear(g.c[(i0+i)*g.ldc+j0 : (i0+i)*g.ldc+j0+nb])
		}
	}
	for p0 := 0; p0 < g.k; p0 += gemmKC {
		kc := min(gemmKC, g.k-p0)
		g.packA(bufs.a, i0, mb, p0, kc)
		g.packB(bufs.b, j0, nb, p0, kc)
		for jr := 0; jr < nb; jr += gemmNR {
			bp := bufs.b[jr*kc : (jr+gemmNR)*kc]
			nr := min(gemmNR, nb-jr)
			for ir := 0; ir < mb; ir += gemmMR {
				ap := bufs.a[ir*kc : (ir+gemmMR)*kc]
				mr := min(gemmMR, mb-ir)
				c := g.c[(i0+ir)*g.ldc+j0+jr:]
				if mr == gemmMR && nr == gemmNR {
					gemmTile(kc, ap, bp, c, g.ldc)
					continue
				}
				e := bufs.edge[:]
				clear(e)
				gemmTile(kc, ap, bp, e, gemmNR)
				for i := 0; i < mr; i++ {
					row := c[i*g.ldc : i*g.ldc+nr]
					for j := range row {
						row[j] += e[i*gemmNR+j]
					}
				}
			}
		}
	}
}

// packA writes rows [i0, i0+mb) and columns [p0, p0+kc) of op(A) into dst
// as panels of gemmMR rows, each (kc, gemmMR) k-major; rows past mb are 0.
func (g *gemmArgs) packA(dst []float32, i0, mb, p0, kc int) {
	for ir := 0; ir < mb; ir += gemmMR {
		panel := dst[ir*kc : (ir+gemmMR)*kc]
		mr := min(gemmMR, mb-ir)
		if mr < gemmMR {
			clear(panel)
		}
		if g.transA {
			// A stored (k, m): a column of op(A) is contiguous.
			for p := 0; p < kc; p++ {
				src := g.a[(p0+p)*g.lda+i0+ir:]
				if mr == gemmMR {
					*(*[gemmMR]float32)(panel[p*gemmMR:]) = *(*[gemmMR]float32)(src)
				} else {
					copy(panel[p*gemmMR:p*gemmMR+mr], src[:mr])
				}
			}
			continue
		}
		for r := 0; r < mr; r++ {
			src := g.a[(i0+ir+r)*g.lda+p0 : (i0+ir+r)*g.lda+p0+kc]
			for p, v := range src {
				panel[p*gemmMR+r] = v
			}
		}
	}
}

// packB writes rows [p0, p0+kc) and columns [j0, j0+nb) of op(B) into dst
// as panels of gemmNR columns, each (kc, gemmNR) k-major; columns past nb
// are 0.
func (g *gemmArgs) packB(dst []float32, j0, nb, p0, kc int) {
	for jr := 0; jr < nb; jr += gemmNR {
		panel := dst[jr*kc : (jr+gemmNR)*kc]
		nr := min(gemmNR, nb-jr)
		if nr < gemmNR {
			clear(panel)
		}
		if !g.transB {
			for p := 0; p < kc; p++ {
				src := g.b[(p0+p)*g.ldb+j0+jr:]
				if nr == gemmNR {
					*(*[gemmNR]float32)(panel[p*gemmNR:]) = *(*[gemmNR]float32)(src)
				} else {
					copy(panel[p*gemmNR:p*gemmNR+nr], src[:nr])
				}
			}
			continue
		}
		// B stored (n, k): a column of op(B) is contiguous.
		for j := 0; j < nr; j++ {
			src := g.b[(j0+jr+j)*g.ldb+p0 : (j0+jr+j)*g.ldb+p0+kc]
			for p, v := range src {
				panel[p*gemmNR+j] = v
			}
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
