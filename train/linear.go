package train

import (
	"unsafe"

	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// linear is one projection of n rows:
//
//	x (n, in) @ W^T (in, out) [+ b] [+ s * (x A^T) B^T] -> y (n, out)
//
// W is either a trainable float32 matrix (w, with its gradient dw) or a
// frozen weight in any block format (base), read through dequantized row
// chunks; b is an optional bias; A (r, in) and B (out, r) are an optional
// LoRA adapter with scale s = alpha / r.
type linear struct {
	name    string
	out, in int
	w, dw   []float32      // (out, in), nil when frozen
	base    kernels.Matrix // frozen weight (out, in) when w is nil
	b, db   []float32      // bias (out), optional; db nil when frozen
	ad      *adapter
	deq     *dequantizer // shared scratch for frozen weights
}

// adapter is a LoRA adapter: its factors, their gradients, and the saved
// activation xa = s * x A^T (n, r) with its gradient's scratch.
type adapter struct {
	r       int
	scale   float32
	a, da   []float32 // (r, in)
	b, db   []float32 // (out, r)
	xa, dxa []float32 // (max n, r)
}

// forward computes y from x.
func (l *linear) forward(p *kernels.Pool, y, x []float32, n int) {
	if l.w != nil {
		p.Gemm(false, true, n, l.out, l.in, x, l.in, l.w, l.in, y, l.out, false)
	} else {
		l.deq.each(p, l.base, func(r0, r1 int, w []float32) {
			p.Gemm(false, true, n, r1-r0, l.in, x, l.in, w, l.in, y[r0:], l.out, false)
		})
	}
	if l.b != nil {
		for t := 0; t < n; t++ {
			kernels.Add(y[t*l.out:(t+1)*l.out], l.b)
		}
	}
	if a := l.ad; a != nil {
		xa := a.xa[:n*a.r]
		p.Gemm(false, true, n, a.r, l.in, x, l.in, a.a, l.in, xa, a.r, false)
		scale(xa, a.scale)
		p.Gemm(false, true, n, l.out, a.r, xa, a.r, a.b, a.r, y, l.out, true)
	}
}

// backward accumulates the gradients of the trainable parts and adds the
// gradient of x to dx:
//
//	dy (n, out), x (n, in) -> dx (n, in) +=, dW +=, db +=, dA +=, dB +=
func (l *linear) backward(p *kernels.Pool, dx, dy, x []float32, n int) {
	if l.dw != nil {
		p.Gemm(true, false, l.out, l.in, n, dy, l.out, x, l.in, l.dw, l.in, true)
	}
	if l.db != nil {
		for t := 0; t < n; t++ {
			kernels.Add(l.db, dy[t*l.out:(t+1)*l.out])
		}
	}
	if l.w != nil {
		p.Gemm(false, false, n, l.in, l.out, dy, l.out, l.w, l.in, dx, l.in, true)
	} else {
		l.deq.each(p, l.base, func(r0, r1 int, w []float32) {
			p.Gemm(false, false, n, l.in, r1-r0, dy[r0:], l.out, w, l.in, dx, l.in, true)
		})
	}
	if a := l.ad; a != nil {
		xa, dxa := a.xa[:n*a.r], a.dxa[:n*a.r]
		p.Gemm(true, false, l.out, a.r, n, dy, l.out, xa, a.r, a.db, a.r, true)
		p.Gemm(false, false, n, a.r, l.out, dy, l.out, a.b, a.r, dxa, a.r, false)
		scale(dxa, a.scale)
		p.Gemm(true, false, a.r, l.in, n, dxa, a.r, x, l.in, a.da, l.in, true)
		p.Gemm(false, false, n, l.in, a.r, dxa, a.r, a.a, l.in, dx, l.in, true)
	}
}

func scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// dequantizer converts a frozen weight to float32 a chunk of rows at a
// time into one buffer shared by every frozen projection of a model (they
// run one after another). F32 weights are read in place.
type dequantizer struct {
	buf  []float32
	task dequantTask
}

// dequantChunk is the number of floats a chunk of rows aims at (16 MiB).
const dequantChunk = 4 << 20

func newDequantizer(maxCols int) *dequantizer {
	rows := max(1, dequantChunk/maxCols)
	return &dequantizer{buf: make([]float32, rows*maxCols)}
}

// each calls f with consecutive row ranges [r0, r1) of w and their values
// (r1-r0, cols), in order.
func (d *dequantizer) each(p *kernels.Pool, w kernels.Matrix, f func(r0, r1 int, rows []float32)) {
	if v, ok := f32View(w); ok {
		f(0, w.Rows, v)
		return
	}
	chunk := max(1, len(d.buf)/w.Cols)
	for r0 := 0; r0 < w.Rows; r0 += chunk {
		r1 := min(w.Rows, r0+chunk)
		d.task = dequantTask{w: w, r0: r0, dst: d.buf}
		p.Parallel(r1-r0, 16, &d.task)
		f(r0, r1, d.buf[:(r1-r0)*w.Cols])
	}
}

// f32View returns an F32 matrix's data as floats, without copying, when it
// is suitably aligned and the machine is little-endian like the file.
func f32View(w kernels.Matrix) ([]float32, bool) {
	if w.Type != quant.F32 || len(w.Data) == 0 || uintptr(unsafe.Pointer(&w.Data[0]))%4 != 0 || !littleEndian {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&w.Data[0])), w.Rows*w.Cols), true
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// dequantTask dequantizes rows [r0+lo, r0+hi) of w into dst.
type dequantTask struct {
	w   kernels.Matrix
	r0  int
	dst []float32
}

func (t *dequantTask) Run(lo, hi int) {
	w := t.w
	src := w.Data[(t.r0+lo)*w.RowBytes : (t.r0+hi)*w.RowBytes]
	if err := quant.Dequantize(w.Type, src, t.dst[lo*w.Cols:hi*w.Cols]); err != nil {
		panic(err) // the type and size were checked when the weight was bound
	}
}
