package model

import (
	"math"

	"github.com/qilin-ai/qilin/kernels"
)

// gatedAttn is the full attention of Qwen3.5's hybrid layers
// (qwen35.cpp's build_layer_attn): grouped-query attention whose attn_q
// packs, per head, the query and an output gate; per-head RMS norms on q
// and k; RoPE on the first rope.dimension_count dims of each head (the
// sectioned rope of text positions, where every section sees the same
// position, is the NeoX rotation); and the attention's output multiplied by
// sigmoid(gate) before attn_output. With H heads of size D:
//
//	qg  = W_q h                        (H, 2D): [q_h, gate_h] per head
//	q_h = rope(rmsnorm(q_h)); k = rope(rmsnorm(W_k h)); v = W_v h
//	o_h = softmax(q_h·K / sqrt(D)) V   (the cache as for gqa)
//	out = W_o (o * sigmoid(gate))
type gatedAttn struct {
	wq, wk, wv, wo kernels.Matrix // attn_q (H*2D, n_embd), attn_k/attn_v (n_head_kv*D, n_embd), attn_output (n_embd, H*D)
	qNorm, kNorm   []float32      // attn_q_norm, attn_k_norm (D)
}

func (a *gatedAttn) declare(c *Config, l *layerTensors) {
	E, D := c.NEmbd, c.HeadDimK
	l.add("attn_q.weight", Weight, &a.wq, E, 2*c.NHead*D)
	l.add("attn_k.weight", Weight, &a.wk, E, c.NHeadKV*D)
	l.add("attn_v.weight", Weight, &a.wv, E, c.NHeadKV*D)
	l.add("attn_q_norm.weight", Norm, &a.qNorm, D)
	l.add("attn_k_norm.weight", Norm, &a.kNorm, D)
	l.add("attn_output.weight", Weight, &a.wo, c.NHead*D, E)
}

func (a *gatedAttn) matrices() []kernels.Matrix { return []kernels.Matrix{a.wq, a.wk, a.wv, a.wo} }

func (a *gatedAttn) scratch(c *Config, B int) need {
	D := c.HeadDimK
	return need{floats: B * (2*c.NHead*D + 2*c.NHeadKV*D + c.NHead*D), headK: D, headV: D}
}

func (a *gatedAttn) newState(c *Config, nCtx int) layerState {
	return newKVRows(nCtx, c.NHeadKV*c.HeadDimK, c.NHeadKV*c.HeadDimV)
}

func (a *gatedAttn) bytesPerToken(c *Config) int64 { return 4 * int64(c.NHeadKV*c.HeadDimK) }

func (a *gatedAttn) forward(r *Runner, li int, b *Batch, h, out []float32) {
	c := &r.m.Config
	n := len(b.Tokens)
	H, D := c.NHead, c.HeadDimK
	qd, kd := 2*H*D, c.NHeadKV*D
	qg, k, v := r.arena.floats(n*qd), r.arena.floats(n*kd), r.arena.floats(n*kd)
	att := r.arena.floats(n * H * D)
	r.matmul(qg, a.wq, h, n)
	r.matmul(k, a.wk, h, n)
	r.matmul(v, a.wv, h, n)
	for i := 0; i < n*H; i++ { // q of each head, in place beside its gate
		q := qg[i*2*D : i*2*D+D]
		kernels.RMSNorm(q, q, a.qNorm, c.NormEps)
	}
	r.norm(k, k, a.kNorm, n*c.NHeadKV, D)
	for i := 0; i < n; i++ {
		c.Rope.Thetas(r.cs, b.Pos[i])
		c.Rope.Apply(qg[i*qd:(i+1)*qd], H, 2*D, r.cs)
		c.Rope.Apply(k[i*kd:(i+1)*kd], c.NHeadKV, D, r.cs)
		kv, p := b.Caches[i].layers[li].(*kvRows), b.Pos[i]
		kernels.ToF16(kv.k[p*kd:(p+1)*kd], k[i*kd:(i+1)*kd])
		kernels.ToF16(kv.v[p*kd:(p+1)*kd], v[i*kd:(i+1)*kd])
	}
	r.attend(li, b, attnShape{
		q: qg, out: att, nHead: H, group: H / c.NHeadKV,
		headK: D, headV: D, qStride: 2 * D,
		scale: 1 / float32(math.Sqrt(float64(D))),
	})
	for i := 0; i < n*H; i++ {
		o, g := att[i*D:(i+1)*D], qg[i*2*D+D:(i+1)*2*D]
		for d := range o {
			o[d] *= sigmoid(g[d])
		}
	}
	r.matmul(out, a.wo, att, n)
}

// sigmoid is 1/(1+e^-x) in float32, as ggml_sigmoid computes it.
func sigmoid(x float32) float32 { return 1 / (1 + float32(math.Exp(float64(-x)))) }
