package model

import (
	"math"

	"github.com/qilin-ai/qilin/kernels"
)

// deltaNet is a Gated DeltaNet layer (Yang et al. 2024; llama.cpp's
// qwen35.cpp build_layer_attn_linear and delta-net-base.cpp): a linear
// attention whose memory is a fixed-size state per value head instead of a
// cache of every position. With Hk key heads and Hv value heads of size S,
// C = 2 Hk S + Hv S and conv_kernel K, for each token in sequence order:
//
//	x      = W_qkv h                          (C): [q, k, v] before the conv
//	[q,k,v]= silu(conv1d(x_{t-K+1..t}))       per channel, K taps, the last K-1 inputs carried
//	q, k   = l2norm per key head; q /= sqrt(S)
//	g      = softplus(W_alpha h + dt) * a     (Hv): a = -exp(A_log) < 0, so exp(g) in (0, 1)
//	beta   = sigmoid(W_beta h)                (Hv)
//	S_h    = exp(g_h) S_h                     (S, S): row j a value dim, column i a key dim
//	S_h   += beta_h (v_h - S_h k) k^T         the delta rule, value head h reading key head h % Hk
//	o_h    = S_h q
//	out    = W_out (rmsnorm(o_h) * silu(W_gate h)_h)
type deltaNet struct {
	wqkv, wgate   kernels.Matrix // attn_qkv (C, n_embd), attn_gate (Hv*S, n_embd)
	conv          []float32      // ssm_conv1d (C, K): tap k of channel c at c*K + k, the oldest first
	dt, a         []float32      // ssm_dt.bias, ssm_a (Hv)
	wbeta, walpha kernels.Matrix // ssm_beta, ssm_alpha (Hv, n_embd)
	norm          []float32      // ssm_norm (S)
	wout          kernels.Matrix // ssm_out (n_embd, Hv*S)
}

// recurrentMixer is a mixer whose per-sequence state has a fixed size.
type recurrentMixer interface {
	stateBytes(c *Config) int64
}

func (d *deltaNet) declare(c *Config, l *layerTensors) {
	E, s := c.NEmbd, c.SSM
	l.add("attn_qkv.weight", Weight, &d.wqkv, E, s.ConvDim())
	l.add("attn_gate.weight", Weight, &d.wgate, E, s.Inner)
	l.add("ssm_conv1d.weight", Weight, &d.conv, s.ConvKernel, s.ConvDim())
	l.add("ssm_dt.bias", Bias, &d.dt, s.VHeads)
	l.add("ssm_a", Decay, &d.a, s.VHeads)
	l.add("ssm_beta.weight", Weight, &d.wbeta, E, s.VHeads)
	l.add("ssm_alpha.weight", Weight, &d.walpha, E, s.VHeads)
	l.add("ssm_norm.weight", Norm, &d.norm, s.State)
	l.add("ssm_out.weight", Weight, &d.wout, s.Inner, E)
}

func (d *deltaNet) matrices() []kernels.Matrix {
	return []kernels.Matrix{d.wqkv, d.wgate, d.wbeta, d.walpha, d.wout}
}

func (d *deltaNet) scratch(c *Config, B int) need {
	s := c.SSM
	return need{floats: B*(2*s.ConvDim()+2*s.Inner+2*s.VHeads) + s.Inner}
}

func (d *deltaNet) newState(c *Config, nCtx int) layerState {
	s := c.SSM
	return &recurrent{
		conv: make([]float32, (s.ConvKernel-1)*s.ConvDim()),
		s:    make([]float32, s.VHeads*s.State*s.State),
	}
}

func (d *deltaNet) bytesPerToken(c *Config) int64 { return 0 }

func (d *deltaNet) stateBytes(c *Config) int64 {
	s := c.SSM
	return 4 * int64((s.ConvKernel-1)*s.ConvDim()+s.VHeads*s.State*s.State)
}

func (d *deltaNet) forward(r *Runner, li int, b *Batch, h, out []float32) {
	c := &r.m.Config
	n := len(b.Tokens)
	s := c.SSM
	C, V, Hv := s.ConvDim(), s.Inner, s.VHeads
	qkv, z := r.arena.floats(n*C), r.arena.floats(n*V)
	beta, alpha := r.arena.floats(n*Hv), r.arena.floats(n*Hv)
	x, o := r.arena.floats(n*C), r.arena.floats(n*V)
	r.matmul(qkv, d.wqkv, h, n)
	r.matmul(z, d.wgate, h, n)
	r.matmul(beta, d.wbeta, h, n)
	r.matmul(alpha, d.walpha, h, n)

	// The conv, in batch order (each token's window continues its
	// sequence's), the norms of q and k, and the gates: alpha becomes the
	// decay exp(softplus(alpha + dt) * a), beta sigmoid(beta).
	for i := 0; i < n; i++ {
		st := b.Caches[i].layers[li].(*recurrent)
		if b.Pos[i] == 0 {
			st.reset() // checkSequences: the first token of this cache in the batch
		}
		xi := x[i*C : (i+1)*C]
		d.convolve(xi, qkv[i*C:(i+1)*C], st.conv, s.ConvKernel)
		if slot := r.snap[i]; slot >= 0 {
			copy(st.snapConv[slot], st.conv)
		}
		d.normalize(c, xi)
		for hv := 0; hv < Hv; hv++ {
			j := i*Hv + hv
			alpha[j] = float32(math.Exp(float64(softplus(alpha[j]+d.dt[hv]) * d.a[hv])))
			beta[j] = sigmoid(beta[j])
		}
	}

	// The delta rule: each value head scans the batch's tokens through
	// its sequences' states, the heads in parallel.
	r.delta = deltaScan{b: b, layer: li, c: c, x: x, decay: alpha, beta: beta, o: o, snap: r.snap}
	r.pool.Parallel(Hv, 1, &r.delta)
	r.delta = deltaScan{}

	for i := 0; i < n; i++ {
		d.gatedNorm(c, o[i*V:(i+1)*V], z[i*V:(i+1)*V])
	}
	r.matmul(out, d.wout, o, n)
}

// convolve writes silu(conv1d) of one token into dst (C) from its input in
// (C) and the carried window (K-1, C) of the previous inputs, oldest first,
// then shifts in into the window.
func (d *deltaNet) convolve(dst, in, window []float32, K int) {
	C := len(in)
	for ch := 0; ch < C; ch++ {
		w := d.conv[ch*K : (ch+1)*K]
		var acc float32
		for k := 0; k < K-1; k++ {
			acc += window[k*C+ch] * w[k]
		}
		acc += in[ch] * w[K-1]
		dst[ch] = silu32(acc)
	}
	if K > 1 {
		copy(window, window[C:])
		copy(window[(K-2)*C:], in)
	}
}

// normalize scales q and k of one token's convolved [q, k, v] (C) to unit
// length per key head, and q further by 1/sqrt(head size).
func (d *deltaNet) normalize(c *Config, x []float32) {
	s := c.SSM
	S, KD := s.State, s.KeyDim()
	for hk := 0; hk < 2*s.KHeads; hk++ {
		l2norm(x[hk*S:(hk+1)*S], c.NormEps)
	}
	kernels.Scale(x[:KD], 1/float32(math.Sqrt(float64(S))), x[:KD])
}

// deltaScan runs the gated delta rule of a batch, one value head per unit:
// for each token in batch order, its sequence's state of that head (S, S)
// decays, takes the delta-rule update and gives the head's output.
type deltaScan struct {
	b     *Batch
	layer int
	c     *Config
	x     []float32 // (n, C): the normalized [q, k, v] of each token
	decay []float32 // (n, Hv): exp(g)
	beta  []float32 // (n, Hv): sigmoid(beta)
	o     []float32 // (n, Hv*S): the outputs
	snap  []int     // (n): the snapshot slot after each token, or -1
}

func (t *deltaScan) Run(lo, hi int) {
	s := t.c.SSM
	S, KD, C, Hv := s.State, s.KeyDim(), s.ConvDim(), s.VHeads
	for hv := lo; hv < hi; hv++ {
		hk := hv % s.KHeads
		for i := range t.b.Tokens {
			x := t.x[i*C : (i+1)*C]
			q, k, v := x[hk*S:(hk+1)*S], x[KD+hk*S:KD+(hk+1)*S], x[2*KD+hv*S:2*KD+(hv+1)*S]
			rs := t.b.Caches[i].layers[t.layer].(*recurrent)
			st := rs.s[hv*S*S : (hv+1)*S*S]
			kernels.DeltaRule(st, q, k, v, t.o[(i*Hv+hv)*S:(i*Hv+hv+1)*S], t.decay[i*Hv+hv], t.beta[i*Hv+hv])
			if slot := t.snap[i]; slot >= 0 {
				copy(rs.snapS[slot][hv*S*S:], st)
			}
		}
	}
}

// gatedNorm replaces each value head of o (Hv*S) by rmsnorm(o_h) *
// silu(z_h).
func (d *deltaNet) gatedNorm(c *Config, o, z []float32) {
	S := c.SSM.State
	for h := 0; h < c.SSM.VHeads; h++ {
		oh := o[h*S : (h+1)*S]
		kernels.RMSNorm(oh, oh, d.norm, c.NormEps)
		for j, g := range z[h*S : (h+1)*S] {
			oh[j] *= silu32(g)
		}
	}
}

// l2norm scales x to unit length, as ggml_l2_norm: x / max(|x|, eps) with
// the sum of squares in float64.
func l2norm(x []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	sc := 1 / max(float32(math.Sqrt(ss)), eps)
	for i := range x {
		x[i] *= sc
	}
}

// softplus is ln(1 + e^x), x itself above 20, as ggml_softplus.
func softplus(x float32) float32 {
	if x > 20 {
		return x
	}
	return float32(math.Log(1 + math.Exp(float64(x))))
}

// silu32 is x * sigmoid(x) in float32, as ggml_silu.
func silu32(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }

// recurrent is what a Gated DeltaNet layer keeps for a sequence: the conv
// window and the delta-rule state, both of a fixed size, and the snapshots
// of both (sequence.go).
type recurrent struct {
	conv []float32 // (K-1, C): the last K-1 inputs of the conv, oldest first
	s    []float32 // (Hv, S, S): per value head, row j a value dim, column i a key dim

	snapConv, snapS [][]float32 // per snapshot slot, as conv and s
}

func (st *recurrent) allocSnapshots(n int) {
	for range n {
		st.snapConv = append(st.snapConv, make([]float32, len(st.conv)))
		st.snapS = append(st.snapS, make([]float32, len(st.s)))
	}
}

// restore makes st's live state src's snapshot slot (-1: src's live state).
func (st *recurrent) restore(src *recurrent, slot int) {
	if slot < 0 {
		copy(st.conv, src.conv)
		copy(st.s, src.s)
		return
	}
	copy(st.conv, src.snapConv[slot])
	copy(st.s, src.snapS[slot])
}

func (st *recurrent) reset() {
	clear(st.conv)
	clear(st.s)
}

func (st *recurrent) bytes() int64 {
	return 4 * int64(len(st.conv)+len(st.s)) * int64(1+len(st.snapS))
}

func (st *recurrent) copyPrefix(src layerState, n int) {
	o := src.(*recurrent)
	copy(st.conv, o.conv)
	copy(st.s, o.s)
}
