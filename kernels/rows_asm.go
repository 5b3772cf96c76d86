//go:build !purego && (amd64 || arm64)

package kernels

// rowsDot wraps a run-of-rows assembly kernel (blocks of bl elements, wb
// bytes of weights and ab of activations each) as a dotKernel's one and
// rows; scaled says whether it reads the activations' float32 block scales.
func rowsDot(bl, wb, ab int, k func(nb int, w *byte, wstride, rows int, a *byte, ad *float32, out *float32), scaled bool) dotKernel {
	// run checks the slices once and runs len(out) rows.
	run := func(n int, w []byte, rowBytes int, a []byte, ad []float32, out []float32) {
		nb := n / bl
		if nb == 0 {
			clear(out)
			return
		}
		_, _ = w[(len(out)-1)*rowBytes+nb*wb-1], a[nb*ab-1]
		var a0 *float32
		if scaled {
			_ = ad[nb-1]
			a0 = &ad[0]
		}
		k(nb, &w[0], rowBytes, len(out), &a[0], a0, &out[0])
	}
	return dotKernel{
		one: func(n int, w, a []byte, ad []float32) float32 {
			var r [1]float32
			run(n, w, 0, a, ad, r[:])
			return r[0]
		},
		rows: func(n int, w []byte, rowBytes int, a []byte, ad []float32, out []float32) {
			if len(out) > 0 {
				run(n, w, rowBytes, a, ad, out)
			}
		},
	}
}
