package model

import (
	"fmt"
	"math"

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

// Runner evaluates batches of up to MaxBatch tokens. It owns the activation
// buffers, allocated once, so that a step allocates nothing. A Runner is not
// safe for concurrent use; several Runners may share a Model and a Pool only
// if they do not run at the same time.
type Runner struct {
	m        *Model
	pool     *kernels.Pool
	maxBatch int

	x, h     []float32 // residual stream, normed input (B, n_embd)
	q, k, v  []float32 // (B, q_dim), (B, k_dim), (B, v_dim)
	att      []float32 // attention output (B, n_head*head_v)
	proj     []float32 // projection output (B, n_embd)
	gate, up []float32 // FFN hidden (B, n_ff)
	scores   []float32 // attention scores (n_head, n_ctx)
	cs       []float32 // rope cos/sin (rope dims)
	act      []byte    // quantized activations for MatMul
	outIn    []float32 // rows that need logits (B, n_embd)
	route    []float32 // router probabilities (B, n_expert)
	sel      []int     // chosen experts (B, n_expert_used)
	selW     []float32 // their weights (B, n_expert_used)
	expRows  []int     // batch rows routed to one expert
	expX     []float32 // gathered inputs of one expert (B, n_embd)
	taken    []bool    // experts already chosen for a token (n_expert)
	attn     attnTask
	nCtx     int
}

// NewRunner returns a runner for batches of up to maxBatch tokens over caches
// of up to nCtx positions, using pool for parallel work.
func (m *Model) NewRunner(pool *kernels.Pool, maxBatch, nCtx int) *Runner {
	c := m.Config
	ff := max(c.NFF, c.NFFExpert)
	r := &Runner{
		m: m, pool: pool, maxBatch: maxBatch,
		x:     make([]float32, maxBatch*c.NEmbd),
		h:     make([]float32, maxBatch*c.NEmbd),
		q:     make([]float32, maxBatch*c.NHead*c.HeadDimK),
		k:     make([]float32, maxBatch*c.NHeadKV*c.HeadDimK),
		v:     make([]float32, maxBatch*c.NHeadKV*c.HeadDimV),
		att:   make([]float32, maxBatch*c.NHead*c.HeadDimV),
		proj:  make([]float32, maxBatch*c.NEmbd),
		gate:  make([]float32, maxBatch*ff),
		up:    make([]float32, maxBatch*ff),
		cs:    make([]float32, c.Rope.Dims),
		outIn: make([]float32, maxBatch*c.NEmbd),
	}
	r.act = make([]byte, r.actBytes(maxBatch))
	if c.NExpert > 0 {
		r.route = make([]float32, maxBatch*c.NExpert)
		r.sel = make([]int, maxBatch*c.NExpertUse)
		r.selW = make([]float32, maxBatch*c.NExpertUse)
		r.expRows = make([]int, maxBatch)
		r.expX = make([]float32, maxBatch*c.NEmbd)
		r.taken = make([]bool, c.NExpert)
	}
	r.nCtx = nCtx
	r.attn.r = r
	r.attn.scratch = make(chan *kernels.AttnScratch, pool.Threads())
	r.attn.runs = make([][2]int, 0, maxBatch)
	for i := 0; i < pool.Threads(); i++ {
		r.attn.scratch <- kernels.NewAttnScratch(c.HeadDimK, c.HeadDimV)
	}
	return r
}

// actBytes is the largest quantized-activation scratch any weight needs.
func (r *Runner) actBytes(n int) int {
	best := 0
	for _, t := range []quant.Type{quant.F32, r.m.TokEmbd.Type, r.m.Output.Type} {
		best = max(best, kernels.ActivationBytes(t, r.m.NEmbd, n))
	}
	for _, l := range r.m.Layers {
		for _, w := range []kernels.Matrix{l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down, l.Router} {
			if w.Data != nil {
				best = max(best, kernels.ActivationBytes(w.Type, w.Cols, n))
			}
		}
		for _, ws := range [][]kernels.Matrix{l.ExpGate, l.ExpUp, l.ExpDown} {
			if len(ws) > 0 {
				best = max(best, kernels.ActivationBytes(ws[0].Type, ws[0].Cols, n))
			}
		}
	}
	return best
}

// Forward evaluates b and writes, for each token with Logits set, in batch
// order, n_vocab logits into logits.
func (r *Runner) Forward(b *Batch, logits []float32) error {
	m, c := r.m, r.m.Config
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

	E := c.NEmbd
	x := r.x[:n*E]
	for i, tok := range b.Tokens {
		row := m.TokEmbd.Data[tok*m.TokEmbd.RowBytes : (tok+1)*m.TokEmbd.RowBytes]
		if err := quant.Dequantize(m.TokEmbd.Type, row, x[i*E:(i+1)*E]); err != nil {
			return err
		}
	}
	for li := range m.Layers {
		r.attention(li, b)
		if m.Arch.MoE {
			r.moe(li, n)
		} else {
			r.ffn(li, n)
		}
	}

	// Final norm and output projection, only for the rows that need logits.
	o := 0
	for i := 0; i < n; i++ {
		if b.Logits[i] {
			kernels.RMSNorm(r.outIn[o*E:(o+1)*E], x[i*E:(i+1)*E], m.OutputNorm, c.NormEps)
			o++
		}
	}
	r.pool.MatMul(logits[:nOut*c.NVocab], m.Output, r.outIn[:nOut*E], nOut, r.act)
	return nil
}

func (r *Runner) norm(dst, x, w []float32, n, dim int) {
	for i := 0; i < n; i++ {
		kernels.RMSNorm(dst[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], w, r.m.NormEps)
	}
}

func addBias(y, bias []float32, n int) {
	if bias == nil {
		return
	}
	d := len(bias)
	for i := 0; i < n; i++ {
		kernels.Add(y[i*d:(i+1)*d], bias)
	}
}

func (r *Runner) attention(li int, b *Batch) {
	m, c, l := r.m, r.m.Config, &r.m.Layers[li]
	n, E := len(b.Tokens), c.NEmbd
	qd, kd, vd := c.NHead*c.HeadDimK, c.NHeadKV*c.HeadDimK, c.NHeadKV*c.HeadDimV
	h := r.h[:n*E]
	r.norm(h, r.x[:n*E], l.AttnNorm, n, E)
	q, k, v := r.q[:n*qd], r.k[:n*kd], r.v[:n*vd]
	r.pool.MatMul(q, l.Wq, h, n, r.act)
	r.pool.MatMul(k, l.Wk, h, n, r.act)
	r.pool.MatMul(v, l.Wv, h, n, r.act)
	addBias(q, l.Bq, n)
	addBias(k, l.Bk, n)
	addBias(v, l.Bv, n)
	if l.QNorm != nil {
		r.norm(q, q, l.QNorm, n*c.NHead, c.HeadDimK)
		r.norm(k, k, l.KNorm, n*c.NHeadKV, c.HeadDimK)
	}
	for i := 0; i < n; i++ {
		m.Rope.Thetas(r.cs, b.Pos[i])
		m.Rope.Apply(q[i*qd:(i+1)*qd], c.NHead, c.HeadDimK, r.cs)
		m.Rope.Apply(k[i*kd:(i+1)*kd], c.NHeadKV, c.HeadDimK, r.cs)
		cache, p := b.Caches[i], b.Pos[i]
		kernels.ToF16(cache.k[li][p*kd:(p+1)*kd], k[i*kd:(i+1)*kd])
		kernels.ToF16(cache.v[li][p*vd:(p+1)*vd], v[i*vd:(i+1)*vd])
	}

	r.attn.layer, r.attn.b = li, b
	if kernels.AttentionTiled(n, c.HeadDimV) {
		// llama.cpp's tiled path: blocks of consecutive positions of one
		// sequence, per head.
		r.attn.runs = tokenRuns(r.attn.runs[:0], b)
		r.pool.Parallel(len(r.attn.runs)*c.NHead, 1, &r.attn)
	} else {
		r.attn.runs = r.attn.runs[:0]
		r.pool.Parallel(n*c.NHead, 1, &r.attn)
	}
	r.attn.b = nil

	att := r.att[:n*c.NHead*c.HeadDimV]
	proj := r.proj[:n*E]
	r.pool.MatMul(proj, l.Wo, att, n, r.act)
	addBias(proj, l.Bo, n)
	kernels.Add(r.x[:n*E], proj)
}

// attnTask computes causal attention for a range of (token, head) pairs of
// the batch: out_h = softmax(q_h · K_h^T / sqrt(head_k)) V_h. Each pair runs
// on one thread with that thread's scratch.
type attnTask struct {
	r       *Runner
	layer   int
	b       *Batch
	scratch chan *kernels.AttnScratch // one per thread
	runs    [][2]int                  // tiled path: [first token, count] of each block
}

// tokenRuns splits the batch into runs of at most kernels.AttnTileRows
// tokens of one cache at consecutive positions.
func tokenRuns(runs [][2]int, b *Batch) [][2]int {
	for i := range b.Tokens {
		if l := len(runs) - 1; l >= 0 && runs[l][1] < kernels.AttnTileRows &&
			b.Caches[i] == b.Caches[i-1] && b.Pos[i] == b.Pos[i-1]+1 {
			runs[l][1]++
			continue
		}
		runs = append(runs, [2]int{i, 1})
	}
	return runs
}

func (t *attnTask) Run(lo, hi int) {
	r, c := t.r, t.r.m.Config
	hk, hv := c.HeadDimK, c.HeadDimV
	qd, kd, vd := c.NHead*hk, c.NHeadKV*hk, c.NHeadKV*hv
	group := c.NHead / c.NHeadKV
	scale := 1 / float32(math.Sqrt(float64(hk))) // 1.0f/sqrtf(head_k), as llama.cpp
	s := <-t.scratch
	if len(t.runs) > 0 {
		for x := lo; x < hi; x++ {
			run, h := t.runs[x/c.NHead], x%c.NHead
			i, cache := run[0], t.b.Caches[run[0]]
			kvh := h / group
			kernels.AttentionBlockTiled(r.att[i*c.NHead*hv+h*hv:], c.NHead*hv, r.q[i*qd+h*hk:], qd, run[1], t.b.Pos[i],
				cache.k[t.layer][kvh*hk:], kd, cache.v[t.layer][kvh*hv:], vd, scale, s)
		}
		t.scratch <- s
		return
	}
	for x := lo; x < hi; x++ {
		i, h := x/c.NHead, x%c.NHead
		cache, p := t.b.Caches[i], t.b.Pos[i]
		kvh := h / group
		q := r.q[i*qd+h*hk : i*qd+(h+1)*hk]
		out := r.att[i*c.NHead*hv+h*hv : i*c.NHead*hv+(h+1)*hv]
		kernels.AttentionHead(out, q, cache.k[t.layer][kvh*hk:], kd, cache.v[t.layer][kvh*hv:], vd, p+1, scale, s)
	}
	t.scratch <- s
}

func (r *Runner) ffn(li, n int) {
	c, l := r.m.Config, &r.m.Layers[li]
	E, F := c.NEmbd, c.NFF
	h := r.h[:n*E]
	r.norm(h, r.x[:n*E], l.FFNNorm, n, E)
	gate, up := r.gate[:n*F], r.up[:n*F]
	r.pool.MatMul(gate, l.Gate, h, n, r.act)
	r.pool.MatMul(up, l.Up, h, n, r.act)
	kernels.SwiGLU(gate, up)
	proj := r.proj[:n*E]
	r.pool.MatMul(proj, l.Down, gate, n, r.act)
	kernels.Add(r.x[:n*E], proj)
}

// moe routes each token to its top experts by softmax router weight and adds
// the weighted sum of their SwiGLU FFN outputs. Tokens routed to the same
// expert are evaluated together so each expert's weights are read once.
func (r *Runner) moe(li, n int) {
	c, l := r.m.Config, &r.m.Layers[li]
	E, F, NE, K := c.NEmbd, c.NFFExpert, c.NExpert, c.NExpertUse
	h := r.h[:n*E]
	r.norm(h, r.x[:n*E], l.FFNNorm, n, E)
	route := r.route[:n*NE]
	r.pool.MatMul(route, l.Router, h, n, r.act)
	for i := 0; i < n; i++ {
		p := route[i*NE : (i+1)*NE]
		kernels.Softmax(p)
		// Top K by selection: highest probability first, ties to the lower
		// expert index. K is small, so K passes beat sorting.
		taken := r.taken
		clear(taken)
		var sum float32
		for j := 0; j < K; j++ {
			best := -1
			for e, pe := range p {
				if !taken[e] && (best < 0 || pe > p[best]) {
					best = e
				}
			}
			taken[best] = true
			r.sel[i*K+j] = best
			r.selW[i*K+j] = p[best]
			sum += p[best]
		}
		if r.m.Arch.NormTopKProb {
			for j := 0; j < K; j++ {
				r.selW[i*K+j] /= sum
			}
		}
	}
	for e := 0; e < NE; e++ {
		rows := r.expRows[:0]
		for i := 0; i < n; i++ {
			for j := 0; j < K; j++ {
				if r.sel[i*K+j] == e {
					rows = append(rows, i)
				}
			}
		}
		if len(rows) == 0 {
			continue
		}
		m := len(rows)
		xin := r.expX[:m*E]
		for a, i := range rows {
			copy(xin[a*E:(a+1)*E], h[i*E:(i+1)*E])
		}
		gate, up := r.gate[:m*F], r.up[:m*F]
		r.pool.MatMul(gate, l.ExpGate[e], xin, m, r.act)
		r.pool.MatMul(up, l.ExpUp[e], xin, m, r.act)
		kernels.SwiGLU(gate, up)
		out := r.proj[:m*E]
		r.pool.MatMul(out, l.ExpDown[e], gate, m, r.act)
		for a, i := range rows {
			var w float32
			for j := 0; j < K; j++ {
				if r.sel[i*K+j] == e {
					w = r.selW[i*K+j]
				}
			}
			kernels.Axpy(r.x[i*E:(i+1)*E], w, out[a*E:(a+1)*E])
		}
	}
}
