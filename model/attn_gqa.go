package model

import (
	"math"

	"github.com/qilin-ai/qilin/kernels"
)

// gqa is grouped-query attention (Llama, Qwen): n_head query heads share
// n_head_kv key/value heads, each of the last head_dim / group heads
// reading one. QKV biases and per-head q/k norms are data, bound when the
// file has them.
type gqa struct {
	wq, wk, wv, wo kernels.Matrix // attn_q (n_head*head_k, n_embd), attn_k/attn_v (n_head_kv*head_k|v, n_embd), attn_output (n_embd, n_head*head_v)
	bq, bk, bv, bo []float32      // attn_{q,k,v,output}.bias, optional
	qNorm, kNorm   []float32      // attn_q_norm, attn_k_norm (head_k), optional
}

func (a *gqa) declare(c *Config, l *layerTensors) {
	E, qd, kd, vd := c.NEmbd, c.NHead*c.HeadDimK, c.NHeadKV*c.HeadDimK, c.NHeadKV*c.HeadDimV
	l.add("attn_q.weight", Weight, &a.wq, E, qd)
	l.add("attn_k.weight", Weight, &a.wk, E, kd)
	l.add("attn_v.weight", Weight, &a.wv, E, vd)
	l.add("attn_output.weight", Weight, &a.wo, c.NHead*c.HeadDimV, E)
	if c.QKVBias {
		l.add("attn_q.bias", Bias, &a.bq, qd)
		l.add("attn_k.bias", Bias, &a.bk, kd)
		l.add("attn_v.bias", Bias, &a.bv, vd)
	}
	if c.AttnOutBias {
		l.add("attn_output.bias", Bias, &a.bo, E)
	}
	if c.QKNorm {
		l.add("attn_q_norm.weight", Norm, &a.qNorm, c.HeadDimK)
		l.add("attn_k_norm.weight", Norm, &a.kNorm, c.HeadDimK)
	}
}

func (a *gqa) matrices() []kernels.Matrix { return []kernels.Matrix{a.wq, a.wk, a.wv, a.wo} }

func (a *gqa) scratch(c *Config, B int) need {
	qd, kd, vd := c.NHead*c.HeadDimK, c.NHeadKV*c.HeadDimK, c.NHeadKV*c.HeadDimV
	return need{floats: B * (qd + kd + vd + c.NHead*c.HeadDimV), headK: c.HeadDimK, headV: c.HeadDimV}
}

func (a *gqa) newState(c *Config, nCtx int) layerState {
	return newKVRows(nCtx, c.NHeadKV*c.HeadDimK, c.NHeadKV*c.HeadDimV)
}

func (a *gqa) bytesPerToken(c *Config) int64 {
	return 2 * int64(c.NHeadKV*(c.HeadDimK+c.HeadDimV))
}

// forward: q, k, v = W h (+ bias), per-head norms, RoPE on q and k; k and v
// go to the cache as f16; each query head attends over its KV head's cached
// positions; out = W_o att (+ bias).
func (a *gqa) forward(r *Runner, li int, b *Batch, h, out []float32) {
	c := &r.m.Config
	n := len(b.Tokens)
	qd, kd, vd := c.NHead*c.HeadDimK, c.NHeadKV*c.HeadDimK, c.NHeadKV*c.HeadDimV
	q, k, v := r.arena.floats(n*qd), r.arena.floats(n*kd), r.arena.floats(n*vd)
	att := r.arena.floats(n * c.NHead * c.HeadDimV)
	r.matmul(q, a.wq, h, n)
	r.matmul(k, a.wk, h, n)
	r.matmul(v, a.wv, h, n)
	addBias(q, a.bq, n)
	addBias(k, a.bk, n)
	addBias(v, a.bv, n)
	if a.qNorm != nil {
		r.norm(q, q, a.qNorm, n*c.NHead, c.HeadDimK)
		r.norm(k, k, a.kNorm, n*c.NHeadKV, c.HeadDimK)
	}
	for i := 0; i < n; i++ {
		c.Rope.Thetas(r.cs, b.Pos[i])
		c.Rope.Apply(q[i*qd:(i+1)*qd], c.NHead, c.HeadDimK, r.cs)
		c.Rope.Apply(k[i*kd:(i+1)*kd], c.NHeadKV, c.HeadDimK, r.cs)
		kv, p := b.Caches[i].layers[li].(*kvRows), b.Pos[i]
		kernels.ToF16(kv.k[p*kd:(p+1)*kd], k[i*kd:(i+1)*kd])
		kernels.ToF16(kv.v[p*vd:(p+1)*vd], v[i*vd:(i+1)*vd])
	}
	r.attend(li, b, attnShape{
		q: q, out: att, nHead: c.NHead, group: c.NHead / c.NHeadKV,
		headK: c.HeadDimK, headV: c.HeadDimV, qStride: c.HeadDimK,
		scale: 1 / float32(math.Sqrt(float64(c.HeadDimK))), // 1.0f/sqrtf(head_k), as llama.cpp
	})
	r.matmul(out, a.wo, att, n)
	addBias(out, a.bo, n)
}

// attnShape describes one attention call over the batch: for token i and
// query head h, the query q[i*nHead*qStride + h*qStride :][:headK] attends
// over the cached key rows of KV head h/group (values: the first headV of
// the value rows) and writes out[(i*nHead + h)*headV :][:headV].
type attnShape struct {
	q, out       []float32
	nHead, group int
	headK, headV int
	qStride      int
	scale        float32
}

// attend runs the attention of every (token, head) pair of b over the
// cached rows of layer li, in parallel. From kernels.AttnTileRows tokens (and
// value heads it can tile) it follows llama.cpp's tiled path: blocks of
// consecutive positions of one sequence, per head.
func (r *Runner) attend(li int, b *Batch, s attnShape) {
	r.attn.layer, r.attn.b, r.attn.s = li, b, s
	r.attn.runs = r.attn.runs[:0]
	if kernels.AttentionTiled(len(b.Tokens), s.headV) {
		r.attn.runs = tokenRuns(r.attn.runs, b)
		r.pool.Parallel(len(r.attn.runs)*s.nHead, 1, &r.attn)
	} else {
		r.pool.Parallel(len(b.Tokens)*s.nHead, 1, &r.attn)
	}
	r.attn.b, r.attn.s = nil, attnShape{}
}

// tokenRuns appends to runs the batch split into runs of at most
// kernels.AttnTileRows tokens of one cache at consecutive positions, each as
// [first token, count].
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

// attnTask computes causal attention for a range of (token, head) pairs of
// the batch, or of (run, head) pairs on the tiled path: out_h =
// softmax(scale * q_h · K^T) V over the token's cached positions. Each pair
// runs on one thread with that thread's scratch.
type attnTask struct {
	r       *Runner
	layer   int
	b       *Batch
	s       attnShape
	runs    [][2]int                  // tiled path: [first token, count] of each block
	scratch chan *kernels.AttnScratch // one per thread
}

func (t *attnTask) Run(lo, hi int) {
	s := t.s
	sc := <-t.scratch
	if len(t.runs) > 0 {
		for x := lo; x < hi; x++ {
			run, h := t.runs[x/s.nHead], x%s.nHead
			i := run[0]
			kv, kvh := t.b.Caches[i].layers[t.layer].(*kvRows), h/s.group
			q := s.q[(i*s.nHead+h)*s.qStride:]
			out := s.out[(i*s.nHead+h)*s.headV:]
			kernels.AttentionBlockTiled(out, s.nHead*s.headV, q, s.nHead*s.qStride, run[1], t.b.Pos[i],
				kv.k[kvh*s.headK:], kv.kDim, kv.v[kvh*s.headV:], kv.vDim, s.scale, sc)
		}
		t.scratch <- sc
		return
	}
	for x := lo; x < hi; x++ {
		i, h := x/s.nHead, x%s.nHead
		kv, p := t.b.Caches[i].layers[t.layer].(*kvRows), t.b.Pos[i]
		kvh := h / s.group
		q := s.q[(i*s.nHead+h)*s.qStride:][:s.headK]
		out := s.out[(i*s.nHead+h)*s.headV:][:s.headV]
		kernels.AttentionHead(out, q, kv.k[kvh*s.headK:], kv.kDim, kv.v[kvh*s.headV:], kv.vDim, p+1, s.scale, sc)
	}
	t.scratch <- sc
}
