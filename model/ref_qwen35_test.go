package model

import "math"

// The float64 reference of Qwen3.5's two mixers, written from the Gated
// DeltaNet paper (Yang et al., "Gated Delta Networks", 2024) and Qwen3-Next's
// modeling code rather than from llama.cpp's graph.

// gatedAttn returns layer p's gated full attention for hs: q and an output
// gate per head from attn_q, RMS-normed q and k, RoPE on the first ropeDims
// dims of each head (NeoX pairs), keys and values rounded to f16 as the
// cache stores them, and the output times sigmoid(gate).
func (r refModel) gatedAttn(p string, hs [][]float64) [][]float64 {
	s := r.s
	H, D, KV := s.heads, s.hd(), s.kvh
	wq, wk, wv, wo := r.vec(p+"attn_q.weight"), r.vec(p+"attn_k.weight"), r.vec(p+"attn_v.weight"), r.vec(p+"attn_output.weight")
	qn, kn := r.vec(p+"attn_q_norm.weight"), r.vec(p+"attn_k_norm.weight")
	var l refLayer
	var gates [][]float64
	for i, h := range hs {
		qg := matvec(wq, h, 2*H*D, 0)
		q, g := make([]float64, H*D), make([]float64, H*D)
		for hh := 0; hh < H; hh++ {
			copy(q[hh*D:], rmsnorm(qg[2*hh*D:2*hh*D+D], qn, r.eps))
			copy(g[hh*D:], qg[2*hh*D+D:2*(hh+1)*D])
			r.rope(q[hh*D:hh*D+s.ropeDims], i, nil)
		}
		k, v := matvec(wk, h, KV*D, 0), matvec(wv, h, KV*D, 0)
		for hh := 0; hh < KV; hh++ {
			copy(k[hh*D:], rmsnorm(k[hh*D:(hh+1)*D], kn, r.eps))
			r.rope(k[hh*D:hh*D+s.ropeDims], i, nil)
		}
		for j := range k {
			k[j], v[j] = f16(k[j]), f16(v[j])
		}
		l.qs, l.ks, l.vs = append(l.qs, q), append(l.ks, k), append(l.vs, v)
		gates = append(gates, g)
	}
	outs := make([][]float64, len(hs))
	for i := range hs {
		att := make([]float64, 0, H*D)
		for hh := 0; hh < H; hh++ {
			att = append(att, l.attend(i, hh, hh/(H/KV), H, D, D, 1/math.Sqrt(float64(D)))...)
		}
		for j := range att {
			att[j] *= 1 / (1 + math.Exp(-gates[i][j]))
		}
		outs[i] = matvec(wo, att, s.embd, 0)
	}
	return outs
}

// deltaNet returns layer p's Gated DeltaNet outputs for hs, one token after
// another from a zero state:
//
//	[q; k; v]_t = silu(sum_j w_j x_{t-K+1+j}),  x = W_qkv h, x_{<0} = 0
//	q, k unit length per key head, q / sqrt(d_k)
//	alpha_t = exp(a softplus(W_alpha h + dt)),  beta_t = sigmoid(W_beta h)
//	S_t = alpha_t S_{t-1} (I - beta_t k k^T) + beta_t v k^T,  o_t = S_t q
//	out = W_out (rmsnorm(o) * silu(W_gate h)), per value head
//
// value head h using key head h mod n_k_heads.
func (r refModel) deltaNet(p string, hs [][]float64) [][]float64 {
	s := r.s
	S, Hk, Hv, K := s.ssmState, s.kHeads, s.vHeads, s.convK
	C := 2*Hk*S + Hv*S
	wqkv, wz, conv := r.vec(p+"attn_qkv.weight"), r.vec(p+"attn_gate.weight"), r.vec(p+"ssm_conv1d.weight")
	wa, wb, dt, a := r.vec(p+"ssm_alpha.weight"), r.vec(p+"ssm_beta.weight"), r.vec(p+"ssm_dt.bias"), r.vec(p+"ssm_a")
	norm, wout := r.vec(p+"ssm_norm.weight"), r.vec(p+"ssm_out.weight")
	state := make([][]float64, Hv) // per head (S value dims × S key dims), row-major
	for h := range state {
		state[h] = make([]float64, S*S)
	}
	var xs [][]float64
	outs := make([][]float64, len(hs))
	l2 := func(x []float64) {
		var n float64
		for _, v := range x {
			n += v * v
		}
		n = math.Max(math.Sqrt(n), r.eps)
		for i := range x {
			x[i] /= n
		}
	}
	for t, h := range hs {
		xs = append(xs, matvec(wqkv, h, C, 0))
		y := make([]float64, C)
		for c := 0; c < C; c++ {
			for j := 0; j < K; j++ {
				if src := t - K + 1 + j; src >= 0 {
					y[c] += conv[c*K+j] * xs[src][c]
				}
			}
			y[c] = silu(y[c])
		}
		q, k, v := y[:Hk*S], y[Hk*S:2*Hk*S], y[2*Hk*S:]
		for hk := 0; hk < Hk; hk++ {
			l2(q[hk*S : (hk+1)*S])
			l2(k[hk*S : (hk+1)*S])
		}
		al, be, z := matvec(wa, h, Hv, 0), matvec(wb, h, Hv, 0), matvec(wz, h, Hv*S, 0)
		o := make([]float64, Hv*S)
		for hv := 0; hv < Hv; hv++ {
			hk := hv % Hk
			qh, kh, vh := q[hk*S:(hk+1)*S], k[hk*S:(hk+1)*S], v[hv*S:(hv+1)*S]
			alpha := math.Exp(a[hv] * math.Log1p(math.Exp(al[hv]+dt[hv])))
			beta := 1 / (1 + math.Exp(-be[hv]))
			st := state[hv]
			// S (I - beta k k^T): subtract beta (S k) k^T.
			sk := make([]float64, S)
			for j := 0; j < S; j++ {
				for i := 0; i < S; i++ {
					sk[j] += st[j*S+i] * kh[i]
				}
			}
			for j := 0; j < S; j++ {
				for i := 0; i < S; i++ {
					st[j*S+i] = alpha*(st[j*S+i]-beta*sk[j]*kh[i]) + beta*vh[j]*kh[i]
				}
			}
			for j := 0; j < S; j++ {
				for i := 0; i < S; i++ {
					o[hv*S+j] += st[j*S+i] * qh[i] / math.Sqrt(float64(S))
				}
			}
			copy(o[hv*S:], rmsnorm(o[hv*S:(hv+1)*S], norm, r.eps))
			for j := 0; j < S; j++ {
				o[hv*S+j] *= silu(z[hv*S+j])
			}
		}
		outs[t] = matvec(wout, o, s.embd, 0)
	}
	return outs
}
