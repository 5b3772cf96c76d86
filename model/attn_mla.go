package model

import (
	"fmt"

	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// mla is multi-head latent attention (DeepSeek-V2/V3), computed absorbed as
// llama.cpp's deepseek2 graph does. With L = kv_lora_rank, R = the rotated
// dims, N = head_k - R (nope) and V = head_v per head:
//
//	q     = W_q_b rmsnorm(W_q_a h)  or  W_q h       (n_head, N+R)
//	kv    = W_kv_a_mqa h                            (L+R): latent | k_pe
//	c     = rmsnorm(kv[:L]); k_pe = rope(kv[L:]); q_pe = rope(q[N:])
//	q'_h  = W_k_b,h q_nope,h                         (L): the key up-projection absorbed into the query
//	cache = [c | k_pe]                               (L+R) per token and layer, f16
//	o_h   = softmax(scale q'_h·cache) cache[:L]      (L): one shared latent "KV head"
//	att_h = W_v_b,h o_h                              (V): the value up-projection after attention
//	out   = W_o att
//
// so the cache holds L+R values per token (576 for DeepSeek-V3) instead of
// n_head × (head_k + head_v).
type mla struct {
	wq, wqa, wqb kernels.Matrix   // attn_q (n_head*(N+R), n_embd), or attn_q_a (q_lora, n_embd), attn_q_b (n_head*(N+R), q_lora)
	qaNorm       []float32        // attn_q_a_norm (q_lora)
	wkva         kernels.Matrix   // attn_kv_a_mqa (L+R, n_embd)
	kvaNorm      []float32        // attn_kv_a_norm (L)
	kb, vb       []kernels.Matrix // attn_k_b[h] (L, N), attn_v_b[h] (V, L)
	kvb          kernels.Matrix   // attn_kv_b (n_head*(N+V), L) of older files, split into kb and vb at load
	wo           kernels.Matrix   // attn_output (n_embd, n_head*V)
}

func (a *mla) declare(c *Config, l *layerTensors) {
	E, H, L, R := c.NEmbd, c.NHead, c.KVLoraRank, c.Rope.Dims
	N, V := c.HeadDimK-R, c.HeadDimV
	if c.QLoraRank == 0 {
		l.add("attn_q.weight", Weight, &a.wq, E, H*(N+R))
	} else {
		l.add("attn_q_a.weight", Weight, &a.wqa, E, c.QLoraRank)
		l.add("attn_q_a_norm.weight", Norm, &a.qaNorm, c.QLoraRank)
		l.add("attn_q_b.weight", Weight, &a.wqb, c.QLoraRank, H*(N+R))
	}
	l.add("attn_kv_a_mqa.weight", Weight, &a.wkva, E, L+R)
	l.add("attn_kv_a_norm.weight", Norm, &a.kvaNorm, L)
	if c.KVB {
		l.add("attn_kv_b.weight", Weight, &a.kvb, L, H*(N+V))
	} else {
		l.add("attn_k_b.weight", Weight, &a.kb, N, L, H)
		l.add("attn_v_b.weight", Weight, &a.vb, L, V, H)
	}
	l.add("attn_output.weight", Weight, &a.wo, H*V, E)
}

// prepare derives attn_k_b and attn_v_b from the attn_kv_b of an older file:
// head h's rows [h(N+V), h(N+V)+N) up-project the latent to k_nope, the
// next V rows to v. The value rows are used in place; the key rows are
// transposed into new (L, N) matrices, F32 when attn_kv_b is F32, else F16.
//
// attn_k_b and attn_v_b are per-head stacks that llama.cpp multiplies with
// mul_mat and never repacks, so they take the unpacked layout.
func (a *mla) prepare(c *Config) error {
	defer a.unpack()
	if a.kvb.Data == nil {
		return nil
	}
	H, L := c.NHead, c.KVLoraRank
	N, V := c.HeadDimK-c.Rope.Dims, c.HeadDimV
	typ := quant.F16
	if a.kvb.Type == quant.F32 {
		typ = quant.F32
	}
	a.kb, a.vb = make([]kernels.Matrix, H), make([]kernels.Matrix, H)
	rows := make([]float32, N*L) // k rows of one head (N, L)
	tr := make([]float32, L*N)
	for h := 0; h < H; h++ {
		k := a.kvb.Slice(h*(N+V), h*(N+V)+N)
		if err := quant.Dequantize(k.Type, k.Data, rows); err != nil {
			return fmt.Errorf("model: attn_kv_b: %w", err)
		}
		for d := 0; d < N; d++ {
			for j := 0; j < L; j++ {
				tr[j*N+d] = rows[d*L+j]
			}
		}
		rb, err := typ.RowSize(N)
		if err != nil {
			return err
		}
		data := make([]byte, rb*L)
		if err := quant.Quantize(typ, tr, data); err != nil {
			return err
		}
		if a.kb[h], err = kernels.NewMatrix(typ, L, N, data); err != nil {
			return err
		}
		a.vb[h] = a.kvb.Slice(h*(N+V)+N, (h+1)*(N+V))
	}
	return nil
}

// unpack marks the per-head up-projections as kernels.Unpacked.
func (a *mla) unpack() {
	for h := range a.kb {
		a.kb[h].Layout, a.vb[h].Layout = kernels.Unpacked, kernels.Unpacked
	}
}

func (a *mla) matrices() []kernels.Matrix {
	ms := []kernels.Matrix{a.wq, a.wqa, a.wqb, a.wkva, a.wo}
	if len(a.kb) > 0 {
		ms = append(ms, a.kb[0], a.vb[0])
	}
	return ms
}

func (a *mla) scratch(c *Config, B int) need {
	H, L, R := c.NHead, c.KVLoraRank, c.Rope.Dims
	N, V := c.HeadDimK-R, c.HeadDimV
	return need{
		floats: B * (c.QLoraRank + H*(N+R) + (L + R) + H*(L+R) + N + L + H*L + L + V + H*V),
		headK:  L + R, headV: L,
	}
}

func (a *mla) newState(c *Config, nCtx int) layerState {
	w := c.KVLoraRank + c.Rope.Dims
	rows := make([]uint16, nCtx*w)
	return &kvRows{k: rows, v: rows, kDim: w, vDim: w}
}

func (a *mla) bytesPerToken(c *Config) int64 { return 2 * int64(c.KVLoraRank+c.Rope.Dims) }

func (a *mla) forward(r *Runner, li int, b *Batch, h, out []float32) {
	c := &r.m.Config
	n := len(b.Tokens)
	H, L, R := c.NHead, c.KVLoraRank, c.Rope.Dims
	N, V := c.HeadDimK-R, c.HeadDimV
	qd, W := H*(N+R), L+R

	q := r.arena.floats(n * qd)
	if a.wq.Data != nil {
		r.matmul(q, a.wq, h, n)
	} else {
		qa := r.arena.floats(n * c.QLoraRank)
		r.matmul(qa, a.wqa, h, n)
		r.norm(qa, qa, a.qaNorm, n, c.QLoraRank)
		r.matmul(q, a.wqb, qa, n)
	}
	kv := r.arena.floats(n * W)
	r.matmul(kv, a.wkva, h, n)

	// RoPE on q_pe and k_pe, the latent normed, the cache row stored.
	for i := 0; i < n; i++ {
		c.Rope.Thetas(r.cs, b.Pos[i])
		c.Rope.Apply(q[i*qd+N:(i+1)*qd], H, N+R, r.cs)
		row := kv[i*W : (i+1)*W]
		c.Rope.Apply(row[L:], 1, R, r.cs)
		kernels.RMSNorm(row[:L], row[:L], a.kvaNorm, c.NormEps)
		cache, p := b.Caches[i].layers[li].(*kvRows), b.Pos[i]
		kernels.ToF16(cache.k[p*W:(p+1)*W], row)
	}

	// q'_h = W_k_b,h q_nope,h, next to q_pe: the query over the latent row.
	qc := r.arena.floats(n * H * W)
	qn, qabs := r.arena.floats(n*N), r.arena.floats(n*L)
	for hd := 0; hd < H; hd++ {
		for i := 0; i < n; i++ {
			copy(qn[i*N:(i+1)*N], q[i*qd+hd*(N+R):])
		}
		r.matmul(qabs, a.kb[hd], qn, n)
		for i := 0; i < n; i++ {
			dst := qc[(i*H+hd)*W:][:W]
			copy(dst[:L], qabs[i*L:(i+1)*L])
			copy(dst[L:], q[i*qd+hd*(N+R)+N:][:R])
		}
	}

	lat := r.arena.floats(n * H * L)
	r.attend(li, b, attnShape{q: qc, out: lat, nHead: H, group: H, headK: W, headV: L, qStride: W, scale: c.mlaScale()})

	// att_h = W_v_b,h o_h, then the output projection.
	vin, vout := r.arena.floats(n*L), r.arena.floats(n*V)
	att := r.arena.floats(n * H * V)
	for hd := 0; hd < H; hd++ {
		for i := 0; i < n; i++ {
			copy(vin[i*L:(i+1)*L], lat[(i*H+hd)*L:])
		}
		r.matmul(vout, a.vb[hd], vin, n)
		for i := 0; i < n; i++ {
			copy(att[(i*H+hd)*V:][:V], vout[i*V:(i+1)*V])
		}
	}
	r.matmul(out, a.wo, att, n)
}
