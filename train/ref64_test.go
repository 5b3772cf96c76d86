package train

import (
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// A float64 twin of the model's forward and losses, written as plainly as
// possible (no GEMM, no chunking, no in-place tricks), for the gradient
// checks: finite differences of this twin are the reference for every
// backward.

// ref64 holds a model's weights in float64 by GGUF name; LoRA adapters are
// NAME.lora_a / NAME.lora_b with scale loraScale.
type ref64 struct {
	c         Config
	w         map[string][]float64
	loraScale float64
	rope      *ropeTable
	// f16kv rounds keys and values to f16 as inference's KV cache stores
	// them.
	f16kv bool
}

// newRef64 copies m's weights (parameters and dequantized frozen bases).
func newRef64(m *Model) *ref64 {
	r := &ref64{c: m.Config, w: map[string][]float64{}, rope: m.rope}
	for _, s := range m.params.specs {
		r.w[s.name] = to64(m.params.get(s.name))
	}
	if m.loraCfg != nil {
		r.loraScale = m.loraCfg.Alpha / float64(m.loraCfg.Rank)
	}
	add := func(l *linear) {
		if _, ok := r.w[l.name+".weight"]; ok || l.w != nil {
			return
		}
		v := make([]float32, l.base.Rows*l.base.Cols)
		if err := quant.Dequantize(l.base.Type, l.base.Data, v); err != nil {
			panic(err)
		}
		r.w[l.name+".weight"] = to64(v)
	}
	if m.emb == nil {
		add(&linear{name: "token_embd", base: m.embBase})
	}
	for _, b := range m.blocks {
		for _, l := range []*linear{b.q, b.k, b.v, b.o, b.gate, b.up, b.down} {
			add(l)
		}
	}
	if !m.Config.Tied {
		add(m.out)
	}
	return r
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// linear64: x (n, in) -> x W^T + b + s (x A^T) B^T (n, out).
func (r *ref64) linear64(name string, x []float64, n, in, out int) []float64 {
	w, b := r.w[name+".weight"], r.w[name+".bias"]
	a, bb := r.w[name+".lora_a"], r.w[name+".lora_b"]
	y := make([]float64, n*out)
	for t := 0; t < n; t++ {
		xt := x[t*in : (t+1)*in]
		for o := 0; o < out; o++ {
			var s float64
			for i := 0; i < in; i++ {
				s += w[o*in+i] * xt[i]
			}
			if b != nil {
				s += b[o]
			}
			y[t*out+o] = s
		}
		if a != nil {
			rank := len(a) / in
			u := make([]float64, rank)
			for k := range u {
				for i := 0; i < in; i++ {
					u[k] += a[k*in+i] * xt[i]
				}
			}
			for o := 0; o < out; o++ {
				var s float64
				for k, uk := range u {
					s += bb[o*rank+k] * uk
				}
				y[t*out+o] += r.loraScale * s
			}
		}
	}
	return y
}

func rmsnorm64(x, w []float64, n, e int, eps float64) []float64 {
	y := make([]float64, n*e)
	for t := 0; t < n; t++ {
		var ss float64
		for _, v := range x[t*e : (t+1)*e] {
			ss += v * v
		}
		rs := 1 / math.Sqrt(ss/float64(e)+eps)
		for i := 0; i < e; i++ {
			y[t*e+i] = x[t*e+i] * rs * w[i]
		}
	}
	return y
}

// rope64 rotates x (heads, hd) to position pos with the table's angles.
func (r *ref64) rope64(x []float64, heads, pos int) {
	hd := r.c.HeadDim
	cs := r.rope.cs[pos*hd : (pos+1)*hd]
	for h := 0; h < heads; h++ {
		for i := 0; i < hd/2; i++ {
			c, s := float64(cs[2*i]), float64(cs[2*i+1])
			ia, ib := h*hd+2*i, h*hd+2*i+1
			if r.c.NeoX() {
				ia, ib = h*hd+i, h*hd+i+hd/2
			}
			x0, x1 := x[ia], x[ib]
			x[ia], x[ib] = x0*c-x1*s, x0*s+x1*c
		}
	}
}

// attention64: q (N, qd), k, v (N, kd) -> out (N, qd), causal within each
// document of each row.
func attention64(b *Batch, q, k, v []float64, heads, kvHeads, hd int) []float64 {
	qd, kd := heads*hd, kvHeads*hd
	out := make([]float64, len(q))
	scale := 1 / math.Sqrt(float64(hd))
	for r := 0; r < b.Rows; r++ {
		for i := 0; i < b.T; i++ {
			ti := r*b.T + i
			s0 := int(b.Start[ti])
			for h := 0; h < heads; h++ {
				g := h / (heads / kvHeads)
				sc := make([]float64, i-s0+1)
				mx := math.Inf(-1)
				for j := s0; j <= i; j++ {
					tj := r*b.T + j
					var d float64
					for x := 0; x < hd; x++ {
						d += q[ti*qd+h*hd+x] * k[tj*kd+g*hd+x]
					}
					sc[j-s0] = d * scale
					mx = math.Max(mx, sc[j-s0])
				}
				var sum float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for j := s0; j <= i; j++ {
					tj := r*b.T + j
					for x := 0; x < hd; x++ {
						out[ti*qd+h*hd+x] += sc[j-s0] / sum * v[tj*kd+g*hd+x]
					}
				}
			}
		}
	}
	return out
}

func silu64(g float64) float64 { return g / (1 + math.Exp(-g)) }

// final64 runs the model to the normed final states (N, E).
func (r *ref64) final64(b *Batch) []float64 {
	c := r.c
	N, E, qd, kd, F := b.Rows*b.T, c.NEmbd, c.QDim(), c.KVDim(), c.NFF
	eps := float64(c.NormEps)
	x := make([]float64, N*E)
	emb := r.w["token_embd.weight"]
	for i, tok := range b.Tokens[:N] {
		copy(x[i*E:(i+1)*E], emb[int(tok)*E:(int(tok)+1)*E])
	}
	for l := 0; l < c.NLayer; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		h := rmsnorm64(x, r.w[p+"attn_norm.weight"], N, E, eps)
		q := r.linear64(p+"attn_q", h, N, E, qd)
		k := r.linear64(p+"attn_k", h, N, E, kd)
		v := r.linear64(p+"attn_v", h, N, E, kd)
		for i := 0; i < N; i++ {
			r.rope64(q[i*qd:(i+1)*qd], c.NHead, int(b.Pos[i]))
			r.rope64(k[i*kd:(i+1)*kd], c.NHeadKV, int(b.Pos[i]))
		}
		if r.f16kv {
			for i := range k {
				k[i] = float64(quant.FP16ToFP32(quant.FP32ToFP16(float32(k[i]))))
				v[i] = float64(quant.FP16ToFP32(quant.FP32ToFP16(float32(v[i]))))
			}
		}
		ao := attention64(b, q, k, v, c.NHead, c.NHeadKV, c.HeadDim)
		o := r.linear64(p+"attn_output", ao, N, qd, E)
		for i := range x {
			x[i] += o[i]
		}
		h = rmsnorm64(x, r.w[p+"ffn_norm.weight"], N, E, eps)
		g := r.linear64(p+"ffn_gate", h, N, E, F)
		u := r.linear64(p+"ffn_up", h, N, E, F)
		for i := range g {
			g[i] = silu64(g[i]) * u[i]
		}
		d := r.linear64(p+"ffn_down", g, N, F, E)
		for i := range x {
			x[i] += d[i]
		}
	}
	return rmsnorm64(x, r.w["output_norm.weight"], N, E, eps)
}

// logits64 returns the logits of every position (N, V).
func (r *ref64) logits64(b *Batch) []float64 {
	out := "output"
	if r.c.Tied {
		out = "token_embd"
	}
	return r.linear64(out, r.final64(b), b.Rows*b.T, r.c.NEmbd, r.c.NVocab)
}

func logSoftmax64(z []float64, tau float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v/tau)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v/tau - mx)
	}
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = v/tau - mx - math.Log(s)
	}
	return out
}

// loss64 is the weighted loss the trainer minimizes on b: w.ce * Σ CE +
// w.kd * Σ KD over the positions that carry each.
func (r *ref64) loss64(b *Batch, w lossWeights) float64 {
	V := r.c.NVocab
	logits := r.logits64(b)
	var loss float64
	tau := float64(w.tau)
	for i := 0; i < b.Rows*b.T; i++ {
		z := logits[i*V : (i+1)*V]
		if t := b.Target[i]; t >= 0 {
			loss += float64(w.ce) * -logSoftmax64(z, 1)[t]
			if w.teacher != nil {
				lq := logSoftmax64(z, tau)
				lp := logSoftmax64(to64(w.teacher[i*V:(i+1)*V]), tau)
				var kl float64
				for j := range lq {
					if w.reverse {
						kl += math.Exp(lq[j]) * (lq[j] - lp[j])
					} else {
						kl += math.Exp(lp[j]) * (lp[j] - lq[j])
					}
				}
				loss += float64(w.kd) * tau * tau * kl
			}
		}
		if lo, hi := b.KDOff[i], b.KDOff[i+1]; hi > lo {
			loss += float64(w.kd) * topk64(z, b.KDID[lo:hi], b.KDLogp[lo:hi], tau)
		}
	}
	return loss
}

// topk64 is τ² KL(p ‖ q) over the teacher's ids plus one bucket for the
// rest, as topkKL defines it.
func topk64(z []float64, ids []int32, logps []float32, tau float64) float64 {
	lq := logSoftmax64(z, tau)
	in := map[int32]bool{}
	var sumP, zt float64
	pt := make([]float64, len(ids))
	for j, l := range logps {
		sumP += math.Exp(float64(l))
		pt[j] = math.Exp(float64(l) / tau)
		zt += pt[j]
		in[ids[j]] = true
	}
	rest := math.Max(0, 1-sumP)
	restT := 0.0
	if rest > 0 {
		restT = math.Pow(rest, 1/tau)
	}
	zt += restT
	var qRest float64
	for i, l := range lq {
		if !in[int32(i)] {
			qRest += math.Exp(l)
		}
	}
	var kl float64
	for j, id := range ids {
		p := pt[j] / zt
		kl += p * (math.Log(p) - lq[id])
	}
	if restT > 0 {
		pr := restT / zt
		kl += pr * (math.Log(pr) - math.Log(qRest))
	}
	return tau * tau * kl
}
