package kernels

import (
	"fmt"

	"github.com/qilin-ai/qilin/quant"
)

// Matrix is a weight matrix W (Rows, Cols) stored row-major in a ggml block
// format: row r is Data[r*RowBytes : (r+1)*RowBytes] and holds Cols elements.
type Matrix struct {
	Type     quant.Type
	Rows     int
	Cols     int
	RowBytes int
	Data     []byte
}

// NewMatrix checks that data holds exactly rows × cols elements of type t and
// returns the matrix view over it.
func NewMatrix(t quant.Type, rows, cols int, data []byte) (Matrix, error) {
	rb, err := t.RowSize(cols)
	if err != nil {
		return Matrix{}, err
	}
	if len(data) != rb*rows {
		return Matrix{}, fmt.Errorf("kernels: %s matrix %dx%d needs %d bytes, have %d", t, rows, cols, rb*rows, len(data))
	}
	return Matrix{Type: t, Rows: rows, Cols: cols, RowBytes: rb, Data: data}, nil
}

// Slice returns rows [lo, hi) of m.
func (m Matrix) Slice(lo, hi int) Matrix {
	return Matrix{Type: m.Type, Rows: hi - lo, Cols: m.Cols, RowBytes: m.RowBytes, Data: m.Data[lo*m.RowBytes : hi*m.RowBytes]}
}

// ActivationBytes returns the scratch size MatMul needs to hold n input rows
// of length cols quantized for weights of type t.
func ActivationBytes(t quant.Type, cols, n int) int {
	rb, err := quant.VecDotType(t).RowSize(cols)
	if err != nil {
		panic(err) // cols was validated when the weight was bound
	}
	return rb * n
}

// MatMul computes out = x @ W^T for n input rows:
//
//	W (Rows, Cols) @ x (n, Cols) -> out (n, Rows)
//
// Inputs are first quantized to W's activation type (as llama.cpp does), into
// scratch, which must hold ActivationBytes(W.Type, W.Cols, n) bytes. Each
// output element is the same dot product whatever n is, so a token computes
// identical values alone or in a batch.
func (p *Pool) MatMul(out []float32, w Matrix, x []float32, n int, scratch []byte) {
	at := quant.VecDotType(w.Type)
	arb, _ := at.RowSize(w.Cols)
	act := scratch[:arb*n]
	for i := 0; i < n; i++ {
		if err := quant.Quantize(at, x[i*w.Cols:(i+1)*w.Cols], act[i*arb:(i+1)*arb]); err != nil {
			panic(err)
		}
	}
	p.mm = matmulTask{out: out[:n*w.Rows], w: w, act: act, actRowBytes: arb, n: n}
	p.Parallel(w.Rows, p.grainFor(w.Rows, 4), &p.mm)
	p.mm = matmulTask{}
}

type matmulTask struct {
	out         []float32
	w           Matrix
	act         []byte
	actRowBytes int
	n           int
}

func (t *matmulTask) Run(lo, hi int) {
	w, cols := t.w, t.w.Cols
	for r := lo; r < hi; r++ {
		row := w.Data[r*w.RowBytes : (r+1)*w.RowBytes]
		for i := 0; i < t.n; i++ {
			a := t.act[i*t.actRowBytes : (i+1)*t.actRowBytes]
			t.out[i*w.Rows+r] = quant.VecDot(w.Type, cols, row, a)
		}
	}
}
