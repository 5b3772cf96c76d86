package model

import (
	"fmt"

	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// Batch is one forward step: a list of tokens, each at a position of its own
// sequence's cache. Tokens of several sequences may be mixed (continuous
// batching); tokens of one sequence must appear in position order, and every
// position before a token's own must already be in its cache or earlier in
// the batch.
type Batch struct {
	Tokens []int    // token ids
	Pos    []int    // position of each token in its sequence
	Caches []*Cache // the sequence (cache) of each token
	Logits []bool   // whether to compute logits after each token
}

// mixer is a layer's token-mixing block, of one kind per file (attn_gqa.go,
// attn_mla.go; a recurrent kind would be another): from the normed input h
// (n, n_embd) of a batch it updates each token's sequence state and writes
// its output (n, n_embd) into out.
type mixer interface {
	block
	// newState allocates what the layer keeps for a sequence of nCtx
	// positions.
	newState(c *Config, nCtx int) layerState
	// bytesPerToken is what that state grows by per position (0 for a
	// fixed-size state).
	bytesPerToken(c *Config) int64
	forward(r *Runner, li int, b *Batch, h, out []float32)
}

// feedForward is a layer's FFN, dense (ffn.go) or a mixture of experts
// (moe.go): from the normed input h (n, n_embd) it adds its output to the
// residual stream x (n, n_embd).
type feedForward interface {
	block
	forward(r *Runner, h, x []float32, n int)
}

// block is what every kind of block declares: its tensors, the weights its
// matrix products read, and the scratch it takes from the Runner's arena.
type block interface {
	// declare adds the block's tensors, bound into the block, to l.
	declare(c *Config, l *layerTensors)
	matrices() []kernels.Matrix
	scratch(c *Config, maxBatch int) need
}

// need is the scratch a block takes for a batch, and the head sizes of its
// attention (for the per-thread attention buffers).
type need struct {
	floats, ints, bools int
	headK, headV        int
}

func (n need) max(o need) need {
	return need{max(n.floats, o.floats), max(n.ints, o.ints), max(n.bools, o.bools), max(n.headK, o.headK), max(n.headV, o.headV)}
}

// arena hands out scratch that the Runner allocated once; each block takes
// what it needs, and the arena is reset before the next block.
type arena struct {
	f          []float32
	i          []int
	b          []bool
	fo, io, bo int
}

func (a *arena) reset() { a.fo, a.io, a.bo = 0, 0, 0 }

// floats returns n float32s of scratch (not cleared).
func (a *arena) floats(n int) []float32 {
	s := a.f[a.fo : a.fo+n : a.fo+n]
	a.fo += n
	return s
}

// ints returns n ints of scratch (not cleared).
func (a *arena) ints(n int) []int {
	s := a.i[a.io : a.io+n : a.io+n]
	a.io += n
	return s
}

// bools returns n bools of scratch (not cleared).
func (a *arena) bools(n int) []bool {
	s := a.b[a.bo : a.bo+n : a.bo+n]
	a.bo += n
	return s
}

// Runner evaluates batches of up to MaxBatch tokens. It owns the activation
// buffers, allocated once, so that a step allocates nothing. A Runner is not
// safe for concurrent use; several Runners may share a Model and a Pool only
// if they do not run at the same time.
type Runner struct {
	m        *Model
	pool     *kernels.Pool
	maxBatch int
	nCtx     int

	x, h  []float32 // residual stream, normed input (B, n_embd)
	proj  []float32 // a block's output (B, n_embd)
	outIn []float32 // rows that need logits (B, n_embd)
	cs    []float32 // rope cos/sin (rope dims)
	act   []byte    // quantized activations for MatMul
	arena arena     // the blocks' own scratch
	attn  attnTask
	delta deltaScan        // the Gated DeltaNet layers' scan
	snap  []int            // per batch token: the snapshot slot its recurrent states go to after it, or -1
	mats  []kernels.Matrix // a MoE decode step's chosen experts (moe.experts1)
}

// NewRunner returns a runner for batches of up to maxBatch tokens over caches
// of up to nCtx positions, using pool for parallel work.
func (m *Model) NewRunner(pool *kernels.Pool, maxBatch, nCtx int) *Runner {
	c := &m.Config
	E := c.NEmbd
	r := &Runner{
		m: m, pool: pool, maxBatch: maxBatch, nCtx: nCtx,
		x:     make([]float32, maxBatch*E),
		h:     make([]float32, maxBatch*E),
		proj:  make([]float32, maxBatch*E),
		outIn: make([]float32, maxBatch*E),
		cs:    make([]float32, c.Rope.Dims),
		snap:  make([]int, maxBatch),
		mats:  make([]kernels.Matrix, 2*c.NExpertUse),
	}
	var nd need
	act := max(kernels.ActivationBytes(quant.F32, E, maxBatch), r.actBytes(m.TokEmbd, maxBatch), r.actBytes(m.Output, maxBatch))
	for _, l := range m.Layers {
		for _, bl := range []block{l.Attn, l.FFN} {
			nd = nd.max(bl.scratch(c, maxBatch))
			for _, w := range bl.matrices() {
				act = max(act, r.actBytes(w, max(maxBatch, c.NExpertUse)))
			}
		}
	}
	r.act = make([]byte, act)
	r.arena = arena{f: make([]float32, nd.floats), i: make([]int, nd.ints), b: make([]bool, nd.bools)}
	r.attn.r = r
	r.attn.scratch = make(chan *kernels.AttnScratch, pool.Threads())
	r.attn.runs = make([][2]int, 0, maxBatch)
	for i := 0; i < pool.Threads(); i++ {
		r.attn.scratch <- kernels.NewAttnScratch(nd.headK, nd.headV)
	}
	return r
}

// actBytes is the quantized-activation scratch w needs for n rows.
func (r *Runner) actBytes(w kernels.Matrix, n int) int {
	if w.Data == nil {
		return 0
	}
	return kernels.ActivationBytes(w.Type, w.Cols, n)
}

// Forward evaluates b and writes, for each token with Logits set, in batch
// order, n_vocab logits into logits.
func (r *Runner) Forward(b *Batch, logits []float32) error {
	m, c := r.m, &r.m.Config
	n := len(b.Tokens)
	if n == 0 {
		return nil
	}
	if n > r.maxBatch || len(b.Pos) != n || len(b.Caches) != n || len(b.Logits) != n {
		return fmt.Errorf("model: batch of %d tokens (max %d) with %d positions, %d caches, %d logit flags", n, r.maxBatch, len(b.Pos), len(b.Caches), len(b.Logits))
	}
	nOut := 0
	for i, tok := range b.Tokens {
		if tok < 0 || tok >= c.NVocab {
			return fmt.Errorf("model: token %d out of range [0, %d)", tok, c.NVocab)
		}
		if b.Caches[i] == nil {
			return fmt.Errorf("model: token %d of the batch has no cache", i)
		}
		if p := b.Pos[i]; p < 0 || p >= b.Caches[i].nCtx || p >= r.nCtx {
			return fmt.Errorf("model: position %d outside the context of %d", p, min(b.Caches[i].nCtx, r.nCtx))
		}
		if b.Logits[i] {
			nOut++
		}
	}
	if len(logits) < nOut*c.NVocab {
		return fmt.Errorf("model: logits buffer holds %d values, need %d", len(logits), nOut*c.NVocab)
	}
	if err := r.checkSequences(b); err != nil {
		return err
	}

	// embed -> layers -> norm -> logits
	E := c.NEmbd
	x, h, proj := r.x[:n*E], r.h[:n*E], r.proj[:n*E]
	for i, tok := range b.Tokens {
		row := m.TokEmbd.Data[tok*m.TokEmbd.RowBytes : (tok+1)*m.TokEmbd.RowBytes]
		if err := quant.Dequantize(m.TokEmbd.Type, row, x[i*E:(i+1)*E]); err != nil {
			return err
		}
	}
	for li := range m.Layers {
		l := &m.Layers[li]
		r.arena.reset()
		r.norm(h, x, l.AttnNorm, n, E)
		l.Attn.forward(r, li, b, h, proj)
		kernels.Add(x[:n*E], proj[:n*E])
		if li == len(m.Layers)-1 {
			// The last FFN only for the rows that need logits, as
			// llama.cpp's graphs take them (inp_out_ids) after the last
			// attention: the caches are written, and a batch-dependent
			// product order (repacked gemm, tinyBLAS) sees those rows.
			if n = keepRows(x, b.Logits, E); n == 0 {
				break
			}
		}
		r.arena.reset()
		r.norm(h, x, l.FFNNorm, n, E)
		l.FFN.forward(r, h, x, n)
	}

	// Final norm and output projection of the rows kept.
	r.norm(r.outIn, x, m.OutputNorm, nOut, E)
	r.pool.MatMul(logits[:nOut*c.NVocab], m.Output, r.outIn[:nOut*E], nOut, r.act)
	for i, kc := range b.Caches {
		if kc.recurrent {
			kc.next = b.Pos[i] + 1
		}
	}
	return nil
}

// keepRows moves the rows i of x (rows of dim values) with keep[i] to the
// front, in order, and returns their number.
func keepRows(x []float32, keep []bool, dim int) int {
	o := 0
	for i, k := range keep {
		if k {
			if o != i {
				copy(x[o*dim:(o+1)*dim], x[i*dim:(i+1)*dim])
			}
			o++
		}
	}
	return o
}

// norm writes the RMS norm with weight w of each of the n rows of x (n,
// dim) into dst.
func (r *Runner) norm(dst, x, w []float32, n, dim int) {
	for i := 0; i < n; i++ {
		kernels.RMSNorm(dst[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], w, r.m.NormEps)
	}
}

// matmul computes out = W @ x for n rows: W (rows, cols) @ x (n, cols) ->
// out (n, rows).
func (r *Runner) matmul(out []float32, w kernels.Matrix, x []float32, n int) {
	r.pool.MatMul(out[:n*w.Rows], w, x[:n*w.Cols], n, r.act)
}

// addBias adds bias (d) to each of the n rows of y (n, d); nil adds nothing.
func addBias(y, bias []float32, n int) {
	if bias == nil {
		return
	}
	d := len(bias)
	for i := 0; i < n; i++ {
		kernels.Add(y[i*d:(i+1)*d], bias)
	}
}
