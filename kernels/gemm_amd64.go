//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// gemmTiles lists the register tiles this CPU runs, the pure-Go twin first;
// the last is the one Gemm uses.
var gemmTiles = func() []gemmTileImpl {
	impls := []gemmTileImpl{{"generic", gemmTileGo}}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		impls = append(impls, gemmTileImpl{"avx2", gemmTileAVX2})
	}
	return impls
}()

// gemmTileAVX2 is gemmTile on the generated AVX2 kernel.
func gemmTileAVX2(k int, a, b, c []float32, ldc int) {
	if k == 0 {
		return
	}
	_, _, _ = a[k*gemmMR-1], b[k*gemmNR-1], c[(gemmMR-1)*ldc+gemmNR-1]
	gemm6x16AVX2(k, &a[0], &b[0], &c[0], ldc)
}
