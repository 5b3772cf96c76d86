package kernels

import (
	"encoding/binary"
	"fmt"
	"unsafe"

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
	// Layout is how llama.cpp's CPU backend holds and multiplies the
	// matrix, which decides the order of its sums for the formats it
	// repacks.
	Layout Layout
}

// Layout is how llama.cpp's CPU backend holds and multiplies a weight
// matrix. Its AVX-512 build repacks Q4_0, Q4_K and Q2_K weights of a
// multiple of 8 rows when they are 2-D mul_mat weights or 3-D mul_mat_id
// stacks, and a repacked weight's products are summed in another order than
// vec_dot's.
type Layout uint8

const (
	// Plain is a 2-D weight of mul_mat: repacked where llama.cpp repacks
	// its type and row count; whole groups of four batch rows then take the
	// repacked gemm, the other rows the gemv.
	Plain Layout = iota
	// Expert is one matrix of a 3-D mul_mat_id stack (a MoE expert):
	// repacked likewise, but multiplied one activation row at a time, so
	// every row takes the gemv whatever the batch.
	Expert
	// Unpacked is one matrix of a 3-D mul_mat stack (per-head weights such
	// as MLA's attn_k_b and attn_v_b), which llama.cpp never repacks: every
	// row takes vec_dot.
	Unpacked
)

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
	return Matrix{Type: m.Type, Rows: hi - lo, Cols: m.Cols, RowBytes: m.RowBytes, Data: m.Data[lo*m.RowBytes : hi*m.RowBytes], Layout: m.Layout}
}

// ActivationBytes returns the scratch size MatMul needs to hold n input rows
// of length cols quantized for weights of type t (for Q8_0 activations, also
// their block scales as float32).
func ActivationBytes(t quant.Type, cols, n int) int {
	_, _, total := actLayout(t, cols, n)
	return total
}

// actLayout returns the layout of n quantized activation rows in MatMul's
// scratch: each row's bytes, the offset of the float32 block scales of Q8_0
// activations (n rows of cols/32, 4-byte aligned; 0 for other types), and
// the total size.
func actLayout(t quant.Type, cols, n int) (rowBytes, scaleOff, total int) {
	at := quant.VecDotType(t)
	rb, err := at.RowSize(cols)
	if err != nil {
		panic(err) // cols was validated when the weight was bound
	}
	if at != quant.Q8_0 {
		return rb, 0, rb * n
	}
	off := (rb*n + 3) &^ 3
	return rb, off, off + 4*(cols/32)*n
}

// chunkBytes is the weight bytes a MatMul chunk of rows aims at when several
// activation rows are multiplied: small enough to stay in L2 while every
// group of activation rows passes over it.
const chunkBytes = 96 << 10

// MatMul computes out = x @ W^T for n input rows:
//
//	W (Rows, Cols) @ x (n, Cols) -> out (n, Rows)
//
// Inputs are first quantized to W's activation type (as llama.cpp does), into
// scratch, which must hold ActivationBytes(W.Type, W.Cols, n) bytes. The
// arithmetic is llama.cpp's x86 build's for the same call: for most formats
// each output element is the same dot product whatever n is, so a token
// computes identical values alone or in a batch; for Q4_K and Q2_K with a
// multiple of 8 rows and a Plain layout (which llama.cpp repacks) the rows of
// every whole group of four input rows from the start of the batch are scaled
// per pair of sub-blocks (Q2_K: half block), as its gemm does, and the rest as
// its gemv (one row); see Layout for experts and per-head stacks. Rows are split between the pool's threads in chunks; with several
// input rows, each chunk's weights are read once per group of four input
// rows.
func (p *Pool) MatMul(out []float32, w Matrix, x []float32, n int, scratch []byte) {
	at := quant.VecDotType(w.Type)
	arb, scaleOff, total := actLayout(w.Type, w.Cols, n)
	act := scratch[:arb*n]
	var ad []float32
	if scaleOff > 0 {
		ad = unsafe.Slice((*float32)(unsafe.Pointer(&scratch[scaleOff])), (total-scaleOff)/4)
	}
	p.qt = quantizeTask{ks: p.ks, t: at, x: x[:n*w.Cols], cols: w.Cols, act: act, rowBytes: arb, ad: ad}
	if n >= 2*p.threads && n*w.Cols >= 1<<14 {
		p.Parallel(n, 1, &p.qt)
	} else {
		p.qt.Run(0, n)
	}
	p.qt = quantizeTask{}
	p.mm = matmulTask{out: out[:n*w.Rows], w: w, act: act, actRowBytes: arb, ad: ad, n: n, k: p.ks.dotFor(w, n), bufs: p.tileBufs}
	p.Parallel(w.Rows, p.rowGrain(w, n), &p.mm)
	p.mm = matmulTask{}
}

// rowGrain picks the rows per chunk: for one input row, enough chunks for
// balance (8 per thread); for several, chunks of about chunkBytes of weights
// and at least 4 per thread.
func (p *Pool) rowGrain(w Matrix, n int) int {
	g := w.Rows / (p.threads * 8)
	if n > 1 {
		chunks := p.threads * 4
		for w.Rows/chunks*w.RowBytes > chunkBytes && w.Rows/chunks > 16 {
			chunks += p.threads
		}
		g = (w.Rows + chunks - 1) / chunks
		g += g & 1 // whole pairs of rows for the tiled kernels
	}
	return max(g, 4)
}

// quantizeTask quantizes rows of activations.
type quantizeTask struct {
	ks       *kernelSet
	t        quant.Type
	x        []float32
	cols     int
	act      []byte
	rowBytes int
	ad       []float32 // Q8_0 only: the block scales as float32
}

func (t *quantizeTask) Run(lo, hi int) {
	nb := t.cols / 32
	for i := lo; i < hi; i++ {
		row := t.act[i*t.rowBytes : (i+1)*t.rowBytes]
		t.ks.quantizeRow(t.t, t.x[i*t.cols:(i+1)*t.cols], row)
		if t.ad != nil {
			q8Scales(row, t.ad[i*nb:(i+1)*nb])
		}
	}
}

// q8Scales converts the f16 scales of the Q8_0 blocks of row to float32.
func q8Scales(row []byte, ad []float32) {
	for b := range ad {
		ad[b] = quant.FP16ToFP32(binary.LittleEndian.Uint16(row[34*b:]))
	}
}

type matmulTask struct {
	out         []float32
	w           Matrix
	act         []byte
	actRowBytes int
	ad          []float32
	n           int
	k           dotKernel
	bufs        chan []byte // per-thread buffers for repacked weights
}

// tileMin is the batch from which MatMul repacks weights for the tiled
// kernels. Below it the in-place kernels (eight tokens, then four) are
// cheaper: the repacking pass over the weights is not repaid by the 8 or 16
// tokens of a continuous-batching decode step (BenchmarkBatchKernels,
// engine's BenchmarkBatchDecode).
const tileMin = 32

func (t *matmulTask) Run(lo, hi int) {
	w, cols, arb, rows := t.w, t.w.Cols, t.actRowBytes, t.w.Rows
	nb := cols / 32 // scales per row of Q8_0 activations
	scales := func(i, k int) []float32 {
		if t.ad == nil {
			return nil
		}
		return t.ad[i*nb : (i+k)*nb]
	}
	i := 0
	if t.k.tile.run != nil && t.n >= tileMin {
		i = t.runTiles(lo, hi)
	}
	if t.k.eight != nil {
		for ; i+8 <= t.n; i += 8 {
			t.k.eight(cols, w.Data[lo*w.RowBytes:hi*w.RowBytes], w.RowBytes, hi-lo, t.act[i*arb:(i+8)*arb], arb, scales(i, 8), nb, t.out[i*rows+lo:], rows)
		}
	}
	if t.k.four != nil {
		for ; i+4 <= t.n; i += 4 {
			a, ad := t.act[i*arb:(i+4)*arb], scales(i, 4)
			for r := lo; r < hi; r++ {
				t.k.four(cols, w.Data[r*w.RowBytes:(r+1)*w.RowBytes], a, arb, ad, nb, t.out[i*rows+r:], rows)
			}
		}
	}
	for ; i < t.n; i++ {
		a, ad := t.act[i*arb:(i+1)*arb], scales(i, 1)
		o := t.out[i*rows : (i+1)*rows]
		if t.k.rows != nil {
			t.k.rows(cols, w.Data[lo*w.RowBytes:hi*w.RowBytes], w.RowBytes, a, ad, o[lo:hi])
			continue
		}
		for r := lo; r < hi; r++ {
			o[r] = t.k.one(cols, w.Data[r*w.RowBytes:(r+1)*w.RowBytes], a, ad)
		}
	}
}

// runTiles computes rows [lo, hi) for every whole group of four activation
// rows with the tiled kernel, on a repacked copy of the chunk's weights,
// and returns the number of activation rows done.
func (t *matmulTask) runTiles(lo, hi int) int {
	w, cols, arb, rows := t.w, t.w.Cols, t.actRowBytes, t.w.Rows
	nb := cols / 32
	pairs := (hi - lo) / 2
	pb := tileBytes(cols)
	buf := <-t.bufs
	if cap(buf) < pairs*pb {
		buf = make([]byte, pairs*pb)
	}
	buf = buf[:pairs*pb]
	row := func(r int) []byte { return w.Data[r*w.RowBytes : (r+1)*w.RowBytes] }
	for p := 0; p < pairs; p++ {
		t.k.tile.repack(cols, row(lo+2*p), row(lo+2*p+1), buf[p*pb:(p+1)*pb])
	}
	i := 0
	for ; i+4 <= t.n; i += 4 {
		a, ad := t.act[i*arb:(i+4)*arb], t.ad[i*nb:(i+4)*nb]
		if pairs > 0 {
			t.k.tile.run(cols, buf, pairs, a, arb, ad, nb, t.out[i*rows+lo:], rows)
		}
		if r := lo + 2*pairs; r < hi {
			t.k.four(cols, row(r), a, arb, ad, nb, t.out[i*rows+r:], rows)
		}
	}
	t.bufs <- buf
	return i
}
