package kernels

import (
	"unsafe"

	"github.com/qilin-ai/qilin/quant"
)

// MatVecs computes one matrix-vector product for each of m matrices of one
// type and shape, in a single pass of the pool over all their rows:
//
//	W_j (Rows, Cols) @ x_j (Cols) -> out[j*Rows : (j+1)*Rows], j < m = len(ws)
//
// x holds either one row, which every matrix multiplies, or m rows, x_j
// the j-th. This is a MoE decode step's expert products (llama.cpp's
// mul_mat_id for one token): where MatMul per expert would wait for the
// pool 3 times per expert, MatVecs waits once for all the experts' gate
// and up products and once for their down products. Every element is the
// same dot product as MatMul's for one input row, bit for bit. scratch must
// hold ActivationBytes(W.Type, W.Cols, rows of x) bytes.
func (p *Pool) MatVecs(out []float32, ws []Matrix, x []float32, scratch []byte) {
	m := len(ws)
	if m == 0 {
		return
	}
	w0 := ws[0]
	for _, w := range ws[1:] {
		if w.Type != w0.Type || w.Rows != w0.Rows || w.Cols != w0.Cols || w.Layout != w0.Layout {
			panic("kernels: MatVecs of matrices of different types or shapes")
		}
	}
	nx := len(x) / w0.Cols
	if nx != 1 && nx != m || len(x) != nx*w0.Cols || len(out) < m*w0.Rows {
		panic("kernels: MatVecs input is neither one row nor one row per matrix")
	}
	arb, scaleOff, total := actLayout(w0.Type, w0.Cols, nx)
	act := scratch[:arb*nx]
	var ad []float32
	if scaleOff > 0 {
		ad = unsafe.Slice((*float32)(unsafe.Pointer(&scratch[scaleOff])), (total-scaleOff)/4)
	}
	p.qt = quantizeTask{ks: p.ks, t: quant.VecDotType(w0.Type), x: x, cols: w0.Cols, act: act, rowBytes: arb, ad: ad}
	p.qt.Run(0, nx)
	p.qt = quantizeTask{}
	p.mv = matVecsTask{out: out[:m*w0.Rows], ws: ws, act: act, actRowBytes: arb, ad: ad, shared: nx == 1, k: p.ks.dotFor(w0, 1)}
	p.Parallel(m*w0.Rows, max(w0.Rows/(p.threads*4), 4), &p.mv)
	p.mv = matVecsTask{}
}

// matVecsTask runs rows [lo, hi) of MatVecs' stacked outputs (m*Rows).
type matVecsTask struct {
	out         []float32
	ws          []Matrix
	act         []byte
	actRowBytes int
	ad          []float32
	shared      bool // one input row for all the matrices
	k           dotKernel
}

func (t *matVecsTask) Run(lo, hi int) {
	rows, cols := t.ws[0].Rows, t.ws[0].Cols
	nb := cols / 32
	for lo < hi {
		j, r0 := lo/rows, lo%rows
		r1 := min(rows, r0+hi-lo)
		w := t.ws[j]
		x := j
		if t.shared {
			x = 0
		}
		a := t.act[x*t.actRowBytes : (x+1)*t.actRowBytes]
		var ad []float32
		if t.ad != nil {
			ad = t.ad[x*nb : (x+1)*nb]
		}
		o := t.out[j*rows : (j+1)*rows]
		if t.k.rows != nil {
			t.k.rows(cols, w.Data[r0*w.RowBytes:r1*w.RowBytes], w.RowBytes, a, ad, o[r0:r1])
		} else {
			for r := r0; r < r1; r++ {
				o[r] = t.k.one(cols, w.Data[r*w.RowBytes:(r+1)*w.RowBytes], a, ad)
			}
		}
		lo += r1 - r0
	}
}
