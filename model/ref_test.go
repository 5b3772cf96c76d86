package model

import (
	"fmt"
	"math"
	"sort"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
)

// ---- A plain float64 reference forward, written from the papers. ----
//
// Attention is computed the way the papers write it: GQA with each KV head
// shared by its query group; MLA un-absorbed, with every head's keys and
// values up-projected from the cached latent (so that it also checks the
// engine's absorption). Keys and values, or the latent, are rounded to f16
// as llama.cpp's cache stores them.

type refModel struct {
	s   tinySpec
	f   *gguf.File
	eps float64
}

func (r refModel) vec(name string) []float64 {
	t, ok := r.f.Tensor(name)
	if !ok {
		return nil
	}
	v := make([]float32, t.NumElements())
	if err := quant.Dequantize(t.Type, t.Data, v); err != nil {
		panic(err)
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// matvec returns W x for W stored with ne = (len(x), rows), starting at row0.
func matvec(w []float64, x []float64, rows, row0 int) []float64 {
	n := len(x)
	out := make([]float64, rows)
	for r := 0; r < rows; r++ {
		var s float64
		for i := 0; i < n; i++ {
			s += w[(row0+r)*n+i] * x[i]
		}
		out[r] = s
	}
	return out
}

func rmsnorm(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	sc := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * sc * w[i]
	}
	return out
}

func softmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	var s float64
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Exp(v - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

func f16(x float64) float64 { return float64(quant.FP16ToFP32(quant.FP32ToFP16(float32(x)))) }

// yarnMscale is YaRN's magnitude factor 0.1 m ln(scale) + 1 (1 unscaled).
func yarnMscale(scale, m float64) float64 {
	if scale <= 1 {
		return 1
	}
	return 0.1*m*math.Log(scale) + 1
}

// rope rotates one head in place at position pos: plain, with Llama 3
// factors, or with YaRN (Hugging Face's _compute_yarn_parameters), whose
// cos and sin carry the attention factor, 0.1 ln(factor) + 1, except for
// DeepSeek, which scales the scores instead.
func (r refModel) rope(v []float64, pos int, factors []float64) {
	s := r.s
	d := len(v)
	base := s.ropeBase
	low, high, mscale := 0.0, 0.0, 1.0
	if s.yarn > 0 {
		corr := func(rot float64) float64 {
			return float64(d) * math.Log(float64(s.yarnOrig)/(rot*2*math.Pi)) / (2 * math.Log(base))
		}
		low, high = math.Max(math.Floor(corr(32)), 0), math.Min(math.Ceil(corr(1)), float64(d-1))
		if s.arch != "deepseek2" {
			mscale = yarnMscale(s.yarn, 1)
		}
	}
	for i := 0; i < d/2; i++ {
		freq := math.Pow(base, -2*float64(i)/float64(d))
		if s.yarn > 0 {
			ramp := math.Min(1, math.Max(0, (float64(i)-low)/math.Max(0.001, high-low)))
			extrap := 1 - ramp
			freq = freq/s.yarn*(1-extrap) + freq*extrap
		}
		theta := float64(pos) * freq
		if factors != nil {
			theta /= factors[i]
		}
		c, sn := math.Cos(theta)*mscale, math.Sin(theta)*mscale
		a, b := 2*i, 2*i+1
		if s.neox {
			a, b = i, i+d/2
		}
		x0, x1 := v[a], v[b]
		v[a], v[b] = x0*c-x1*sn, x0*sn+x1*c
	}
}

// refLayer is the keys, values and queries of one attention layer.
type refLayer struct{ qs, ks, vs [][]float64 }

// attend returns the causal attention output of token i for head hh with
// key/value head kvh (each head hd wide, values hv wide) and score scale.
func (l refLayer) attend(i, hh, kvh, nh, hd, hv int, scale float64) []float64 {
	sc := make([]float64, i+1)
	for j := 0; j <= i; j++ {
		for d := 0; d < hd; d++ {
			sc[j] += l.qs[i][hh*hd+d] * l.ks[j][kvh*hd+d]
		}
		sc[j] *= scale
	}
	pr := softmax(sc)
	out := make([]float64, hv)
	for j := 0; j <= i; j++ {
		for d := 0; d < hv; d++ {
			out[d] += pr[j] * l.vs[j][kvh*hv+d]
		}
	}
	return out
}

// gqa returns layer p's attention outputs (before the residual) for hs.
func (r refModel) gqa(p string, hs [][]float64, factors []float64) [][]float64 {
	s := r.s
	hd := s.hd()
	wq, wk, wv, wo := r.vec(p+"attn_q.weight"), r.vec(p+"attn_k.weight"), r.vec(p+"attn_v.weight"), r.vec(p+"attn_output.weight")
	bq, bk, bv := r.vec(p+"attn_q.bias"), r.vec(p+"attn_k.bias"), r.vec(p+"attn_v.bias")
	qn, kn := r.vec(p+"attn_q_norm.weight"), r.vec(p+"attn_k_norm.weight")
	var l refLayer
	for i, h := range hs {
		q, k, v := matvec(wq, h, s.heads*hd, 0), matvec(wk, h, s.kvh*hd, 0), matvec(wv, h, s.kvh*hd, 0)
		for j := range q {
			if bq != nil {
				q[j] += bq[j]
			}
		}
		for j := range k {
			if bk != nil {
				k[j] += bk[j]
				v[j] += bv[j]
			}
		}
		for hh := 0; hh < s.heads; hh++ {
			if qn != nil {
				copy(q[hh*hd:], rmsnorm(q[hh*hd:(hh+1)*hd], qn, r.eps))
			}
			r.rope(q[hh*hd:(hh+1)*hd], i, factors)
		}
		for hh := 0; hh < s.kvh; hh++ {
			if kn != nil {
				copy(k[hh*hd:], rmsnorm(k[hh*hd:(hh+1)*hd], kn, r.eps))
			}
			r.rope(k[hh*hd:(hh+1)*hd], i, factors)
		}
		for j := range k {
			k[j], v[j] = f16(k[j]), f16(v[j])
		}
		l.qs, l.ks, l.vs = append(l.qs, q), append(l.ks, k), append(l.vs, v)
	}
	outs := make([][]float64, len(hs))
	for i := range hs {
		att := make([]float64, 0, s.heads*hd)
		for hh := 0; hh < s.heads; hh++ {
			att = append(att, l.attend(i, hh, hh/(s.heads/s.kvh), s.heads, hd, hd, 1/math.Sqrt(float64(hd)))...)
		}
		outs[i] = matvec(wo, att, s.embd, 0)
	}
	return outs
}

// mla returns layer p's multi-head latent attention outputs for hs,
// un-absorbed: k_h = [W_UK,h c ; k_pe], v_h = W_UV,h c from the f16 latent c.
func (r refModel) mla(p string, hs [][]float64) [][]float64 {
	s := r.s
	H, L, R, N, V := s.heads, s.kvLora, s.rope, s.nope, s.vHead
	wkva, kvaNorm, wo := r.vec(p+"attn_kv_a_mqa.weight"), r.vec(p+"attn_kv_a_norm.weight"), r.vec(p+"attn_output.weight")
	// uk(h, d, l), uv(h, d, l): the up-projections from either layout.
	var uk, uv func(h, d, l int) float64
	if s.kvb {
		kvb := r.vec(p + "attn_kv_b.weight") // (H*(N+V), L)
		uk = func(h, d, l int) float64 { return kvb[(h*(N+V)+d)*L+l] }
		uv = func(h, d, l int) float64 { return kvb[(h*(N+V)+N+d)*L+l] }
	} else {
		kb, vb := r.vec(p+"attn_k_b.weight"), r.vec(p+"attn_v_b.weight") // (H, L, N), (H, V, L)
		uk = func(h, d, l int) float64 { return kb[(h*L+l)*N+d] }
		uv = func(h, d, l int) float64 { return vb[(h*V+d)*L+l] }
	}
	var l refLayer
	for i, h := range hs {
		var q []float64
		if s.qLora > 0 {
			qa := rmsnorm(matvec(r.vec(p+"attn_q_a.weight"), h, s.qLora, 0), r.vec(p+"attn_q_a_norm.weight"), r.eps)
			q = matvec(r.vec(p+"attn_q_b.weight"), qa, H*(N+R), 0)
		} else {
			q = matvec(r.vec(p+"attn_q.weight"), h, H*(N+R), 0)
		}
		kv := matvec(wkva, h, L+R, 0)
		c := rmsnorm(kv[:L], kvaNorm, r.eps)
		kpe := append([]float64(nil), kv[L:]...)
		r.rope(kpe, i, nil)
		for j := range c {
			c[j] = f16(c[j])
		}
		for j := range kpe {
			kpe[j] = f16(kpe[j])
		}
		var k, v []float64
		for hh := 0; hh < H; hh++ {
			r.rope(q[hh*(N+R)+N:(hh+1)*(N+R)], i, nil)
			for d := 0; d < N; d++ {
				var x float64
				for j := 0; j < L; j++ {
					x += uk(hh, d, j) * c[j]
				}
				k = append(k, x)
			}
			k = append(k, kpe...)
			for d := 0; d < V; d++ {
				var x float64
				for j := 0; j < L; j++ {
					x += uv(hh, d, j) * c[j]
				}
				v = append(v, x)
			}
		}
		l.qs, l.ks, l.vs = append(l.qs, q), append(l.ks, k), append(l.vs, v)
	}
	// DeepSeek's softmax scale: 1/sqrt(head_k) × mscale², mscale =
	// 0.1 mscale_all_dims ln(factor) + 1.
	m := yarnMscale(s.yarn, s.yarnAllDims)
	scale := m * m / math.Sqrt(float64(N+R))
	outs := make([][]float64, len(hs))
	for i := range hs {
		att := make([]float64, 0, H*V)
		for hh := 0; hh < H; hh++ {
			att = append(att, l.attend(i, hh, hh, H, N+R, V, scale)...)
		}
		outs[i] = matvec(wo, att, s.embd, 0)
	}
	return outs
}

// swiglu returns W_down (silu(W_gate h) * W_up h) for the FFN tensors
// named ffn_gate<suffix> etc. of width ff, starting at expert e.
func (r refModel) swiglu(p, suffix string, h []float64, ff, e int) []float64 {
	g, u := matvec(r.vec(p+"ffn_gate"+suffix+".weight"), h, ff, e*ff), matvec(r.vec(p+"ffn_up"+suffix+".weight"), h, ff, e*ff)
	for j := range g {
		g[j] = silu(g[j]) * u[j]
	}
	return matvec(r.vec(p+"ffn_down"+suffix+".weight"), g, r.s.embd, e*r.s.embd)
}

// moe returns the mixture of experts for h: the router's softmax or
// sigmoid, a selection bias that only chooses, the best groups by their two
// best scores, the top experts by choice, their weights normalized and
// scaled if the file says, plus the shared experts.
func (r refModel) moe(p string, h []float64) []float64 {
	s := r.s
	probs := matvec(r.vec(p+"ffn_gate_inp.weight"), h, s.experts, 0)
	if s.gating == Sigmoid {
		for e, v := range probs {
			probs[e] = 1 / (1 + math.Exp(-v))
		}
	} else {
		probs = softmax(probs)
	}
	choose := append([]float64(nil), probs...)
	if b := r.vec(p + "exp_probs_b.bias"); b != nil {
		for e := range choose {
			choose[e] += b[e]
		}
	}
	if s.groups > 1 {
		per := s.experts / s.groups
		type group struct {
			g     int
			score float64
		}
		var gs []group
		for g := 0; g < s.groups; g++ {
			v := append([]float64(nil), choose[g*per:(g+1)*per]...)
			sort.Sort(sort.Reverse(sort.Float64Slice(v)))
			gs = append(gs, group{g, v[0] + v[1]})
		}
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].score > gs[j].score })
		for _, g := range gs[s.groupsUsed:] {
			for e := g.g * per; e < (g.g+1)*per; e++ {
				choose[e] = math.Inf(-1)
			}
		}
	}
	order := make([]int, s.experts)
	for e := range order {
		order[e] = e
	}
	sort.SliceStable(order, func(i, j int) bool { return choose[order[i]] > choose[order[j]] })
	sel := order[:s.used]
	var sum float64
	for _, e := range sel {
		sum += probs[e]
	}
	norm := s.normW || s.arch == "qwen3moe"
	out := make([]float64, s.embd)
	for _, e := range sel {
		w := probs[e]
		if norm {
			w /= sum
		}
		if s.wScale != 0 {
			w *= s.wScale
		}
		for j, v := range r.swiglu(p, "_exps", h, s.ffExp, e) {
			out[j] += w * v
		}
	}
	if s.shared > 0 || s.ffShared > 0 {
		width, gate := s.ffExp*s.shared, 1.0
		if s.ffShared > 0 { // qwen35moe: the shared expert scaled by sigmoid(w · h)
			width = s.ffShared
			gate = 1 / (1 + math.Exp(-matvec(r.vec(p+"ffn_gate_inp_shexp.weight"), h, 1, 0)[0]))
		}
		for j, v := range r.swiglu(p, "_shexp", h, width, 0) {
			out[j] += gate * v
		}
	}
	return out
}

// forward returns the logits after every token of toks (len(toks), vocab).
func (r refModel) forward(toks []int) [][]float64 {
	s := r.s
	E := s.embd
	emb := r.vec("token_embd.weight")
	out := r.vec("output.weight")
	if out == nil {
		out = emb
	}
	factors := r.vec("rope_freqs.weight")
	xs := make([][]float64, len(toks))
	for i, t := range toks {
		xs[i] = append([]float64(nil), emb[t*E:(t+1)*E]...)
	}
	for li := 0; li < s.layers; li++ {
		p := fmt.Sprintf("blk.%d.", li)
		an, fn := r.vec(p+"attn_norm.weight"), r.vec(p+"ffn_norm.weight")
		if fn == nil {
			fn = r.vec(p + "post_attention_norm.weight") // qwen35
		}
		hs := make([][]float64, len(toks))
		for i := range toks {
			hs[i] = rmsnorm(xs[i], an, r.eps)
		}
		var att [][]float64
		switch {
		case s.arch == "deepseek2":
			att = r.mla(p, hs)
		case s.convK > 0 && (li+1)%s.interval != 0:
			att = r.deltaNet(p, hs)
		case s.convK > 0:
			att = r.gatedAttn(p, hs)
		default:
			att = r.gqa(p, hs, factors)
		}
		for i := range toks {
			for d := range att[i] {
				xs[i][d] += att[i][d]
			}
			h := rmsnorm(xs[i], fn, r.eps)
			var ffo []float64
			if s.experts == 0 || li < s.leadDense {
				ffo = r.swiglu(p, "", h, s.ff, 0)
			} else {
				ffo = r.moe(p, h)
			}
			for d := range ffo {
				xs[i][d] += ffo[d]
			}
		}
	}
	on := r.vec("output_norm.weight")
	logits := make([][]float64, len(toks))
	for i := range toks {
		logits[i] = matvec(out, rmsnorm(xs[i], on, r.eps), s.vocab, 0)
	}
	return logits
}
