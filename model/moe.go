package model

import (
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
)

// Gating is how a router turns scores into expert weights
// (expert_gating_func).
type Gating int

const (
	Softmax Gating = 1 // softmax over all experts (Qwen3-MoE, DeepSeek-V2)
	Sigmoid Gating = 2 // independent sigmoids (DeepSeek-V3)
)

// readRouter reads the router's flavour: gating, weight normalization and
// scale, expert groups, shared experts, and whether a selection bias is
// present.
func (c *Config) readRouter(f *gguf.File, m *metaReader) error {
	c.Gating = Gating(m.get("expert_gating_func", int64(Softmax), false))
	c.NExpertGroups = m.get("expert_group_count", 1, false)
	c.NGroupsUsed = m.get("expert_group_used_count", int64(c.NExpertGroups), false)
	c.NExpertShared = m.get("expert_shared_count", 0, false)
	if m.err != nil {
		return m.err
	}
	c.NormWeights = f.Bool(f.ArchKey("expert_weights_norm"), c.Family.NormTopKProb)
	c.WeightsScale = float32(f.Float(f.ArchKey("expert_weights_scale"), 0))
	_, c.ProbsBias = f.Tensor(fmt.Sprintf("blk.%d.exp_probs_b.bias", c.NLeadDense))
	switch {
	case c.Gating != Softmax && c.Gating != Sigmoid:
		return fmt.Errorf("model: expert_gating_func %d is not supported (1 softmax, 2 sigmoid)", c.Gating)
	case c.NExpertGroups < 1 || c.NExpert%c.NExpertGroups != 0 || c.NGroupsUsed < 1 || c.NGroupsUsed > c.NExpertGroups ||
		(c.NExpertGroups > 1 && c.NExpert/c.NExpertGroups < 2):
		return fmt.Errorf("model: %d experts in %d groups, %d used, is invalid", c.NExpert, c.NExpertGroups, c.NGroupsUsed)
	case c.NExpertUse > c.NGroupsUsed*(c.NExpert/c.NExpertGroups):
		return fmt.Errorf("model: %d experts cannot be chosen from %d groups of %d", c.NExpertUse, c.NGroupsUsed, c.NExpert/c.NExpertGroups)
	case math.IsNaN(float64(c.WeightsScale)):
		return fmt.Errorf("model: expert_weights_scale is NaN")
	}
	return nil
}

// moe is a mixture-of-experts FFN, as llama.cpp's build_moe_ffn computes
// it: a router scores the experts for each token (softmax or sigmoid), an
// optional bias shifts the scores that choose experts (not the weights),
// the choice may be limited to the best groups of experts, the top
// n_expert_used are evaluated as SwiGLU FFNs, and their outputs, weighted
// by the router (normalized and scaled where the file says), are summed;
// shared experts, a dense FFN, add to every token.
type moe struct {
	router         kernels.Matrix   // ffn_gate_inp (n_expert, n_embd)
	bias           []float32        // exp_probs_b (n_expert), optional
	gate, up, down []kernels.Matrix // ffn_{gate,up}_exps[e] (n_ff_exp, n_embd), ffn_down_exps[e] (n_embd, n_ff_exp)
	shared         *dense           // ffn_{gate,up,down}_shexp, optional
	sharedGate     []float32        // ffn_gate_inp_shexp (n_embd), optional: scales the shared output by sigmoid(w · h)
}

// sharedWidth is the FFN width of the shared experts.
func (c *Config) sharedWidth() int {
	if c.NFFShared > 0 {
		return c.NFFShared
	}
	return c.NFFExpert * c.NExpertShared
}

func (m *moe) declare(c *Config, l *layerTensors) {
	E, F, X := c.NEmbd, c.NFFExpert, c.NExpert
	l.add("ffn_gate_inp.weight", Weight, &m.router, E, X)
	if c.ProbsBias {
		l.add("exp_probs_b.bias", Bias, &m.bias, X)
	}
	l.add("ffn_gate_exps.weight", Weight, &m.gate, E, F, X)
	l.add("ffn_up_exps.weight", Weight, &m.up, E, F, X)
	l.add("ffn_down_exps.weight", Weight, &m.down, F, E, X)
	if c.NExpertShared > 0 {
		m.shared = &dense{}
		m.shared.declareAs(l, "_shexp", E, c.sharedWidth())
	}
	if c.SharedGate {
		l.add("ffn_gate_inp_shexp.weight", Weight, &m.sharedGate, E)
	}
}

func (m *moe) matrices() []kernels.Matrix {
	ms := []kernels.Matrix{m.router, m.gate[0], m.up[0], m.down[0]}
	if m.shared != nil {
		ms = append(ms, m.shared.matrices()...)
	}
	return ms
}

func (m *moe) scratch(c *Config, B int) need {
	E, F, NE, K := c.NEmbd, c.NFFExpert, c.NExpert, c.NExpertUse
	n := need{
		floats: 2*B*NE + B*K + B*E + 2*B*F + B*E + B*K*E + B*E + 2*K*F + K*E,
		ints:   B*K + B + c.NExpertGroups,
		bools:  NE + c.NExpertGroups,
	}
	if m.shared != nil {
		n.floats += B * (2*c.sharedWidth() + E)
	}
	return n
}

func (m *moe) forward(r *Runner, h, x []float32, n int) {
	c := &r.m.Config
	E, NE, K := c.NEmbd, c.NExpert, c.NExpertUse
	probs, choose, selW := r.arena.floats(n*NE), r.arena.floats(n*NE), r.arena.floats(n*K)
	sel := r.arena.ints(n * K)
	rs := routeScratch{taken: r.arena.bools(NE), order: r.arena.ints(c.NExpertGroups), keep: r.arena.bools(c.NExpertGroups)}
	r.matmul(probs, m.router, h, n)
	for i := 0; i < n; i++ {
		m.route(c, probs[i*NE:(i+1)*NE], choose[i*NE:(i+1)*NE], sel[i*K:(i+1)*K], selW[i*K:(i+1)*K], rs)
	}

	slots := r.arena.floats(n * K * E)
	if n == 1 {
		m.experts1(r, h, sel, selW, slots)
	} else {
		m.experts(r, h, sel, selW, slots, n)
	}

	// moe_out = slot 0 + slot 1 + ... (+ the shared experts), then x +=
	// moe_out: llama.cpp's graph, in its order of rounding.
	sum := r.arena.floats(n * E)
	for i := 0; i < n; i++ {
		acc := sum[i*E : (i+1)*E]
		copy(acc, slots[i*K*E:(i*K+1)*E])
		for j := 1; j < K; j++ {
			kernels.Add(acc, slots[(i*K+j)*E:(i*K+j+1)*E])
		}
	}
	if m.shared != nil {
		sh := r.arena.floats(n * E)
		m.shared.apply(r, sh, h, n)
		if m.sharedGate != nil {
			for i := 0; i < n; i++ {
				g := sigmoid(kernels.Dot(m.sharedGate, h[i*E:(i+1)*E]))
				kernels.Scale(sh[i*E:(i+1)*E], g, sh[i*E:(i+1)*E])
			}
		}
		kernels.Add(sum, sh)
	}
	kernels.Add(x[:n*E], sum)
}

// experts writes into slots (n, K, E) each chosen expert's output for the
// n tokens of h (n, E), weighted by the router: each expert evaluates the
// tokens routed to it at once, so its weights are read once per batch.
func (m *moe) experts(r *Runner, h []float32, sel []int, selW, slots []float32, n int) {
	c := &r.m.Config
	E, F, NE, K := c.NEmbd, c.NFFExpert, c.NExpert, c.NExpertUse
	rows := r.arena.ints(n)
	xin := r.arena.floats(n * E)
	gate, up := r.arena.floats(n*F), r.arena.floats(n*F)
	out := r.arena.floats(n * E)
	for e := 0; e < NE; e++ {
		nr := 0
		for i := 0; i < n; i++ {
			for j := 0; j < K; j++ {
				if sel[i*K+j] == e {
					rows[nr] = i*K + j
					nr++
				}
			}
		}
		if nr == 0 {
			continue
		}
		for a, s := range rows[:nr] {
			i := s / K
			copy(xin[a*E:(a+1)*E], h[i*E:(i+1)*E])
		}
		r.matmul(gate, m.gate[e], xin, nr)
		r.matmul(up, m.up[e], xin, nr)
		kernels.SwiGLU(gate[:nr*F], up[:nr*F])
		r.matmul(out, m.down[e], gate, nr)
		for a, s := range rows[:nr] {
			kernels.Scale(slots[s*E:(s+1)*E], selW[s], out[a*E:(a+1)*E])
		}
	}
}

// experts1 is experts for one token: the K chosen experts' gate and up
// products in one pass of the pool, their down products in another, where
// a pass per expert matrix would wait for the pool 3K times. Each value is
// experts' for a batch of one, bit for bit.
func (m *moe) experts1(r *Runner, h []float32, sel []int, selW, slots []float32) {
	c := &r.m.Config
	E, F, K := c.NEmbd, c.NFFExpert, c.NExpertUse
	ws := r.mats[:2*K]
	for j, e := range sel[:K] {
		ws[j], ws[K+j] = m.gate[e], m.up[e]
	}
	gu := r.arena.floats(2 * K * F) // (2K, F): the gates, then the ups
	if ws[0].Type == ws[K].Type {
		r.pool.MatVecs(gu, ws, h[:E], r.act)
	} else {
		r.pool.MatVecs(gu[:K*F], ws[:K], h[:E], r.act)
		r.pool.MatVecs(gu[K*F:], ws[K:], h[:E], r.act)
	}
	for j := range K {
		kernels.SwiGLU(gu[j*F:(j+1)*F], gu[(K+j)*F:(K+j+1)*F])
	}
	for j, e := range sel[:K] {
		ws[j] = m.down[e]
	}
	out := r.arena.floats(K * E) // (K, E)
	r.pool.MatVecs(out, ws[:K], gu[:K*F], r.act)
	for j := range K {
		kernels.Scale(slots[j*E:(j+1)*E], selW[j], out[j*E:(j+1)*E])
	}
}

// route chooses a token's experts from its router scores p (n_expert):
// sel gets them best first (ggml_argsort_top_k's order, which sets the
// order of the sum) and w their weights. choose is scratch of n_expert.
func (m *moe) route(c *Config, p, choose []float32, sel []int, w []float32, rs routeScratch) {
	switch c.Gating {
	case Sigmoid:
		for e, v := range p {
			p[e] = 1 / (1 + float32(math.Exp(float64(-v))))
		}
	default:
		kernels.Softmax(p)
	}
	copy(choose, p)
	if m.bias != nil {
		kernels.Add(choose, m.bias)
	}
	if c.NExpertGroups > 1 {
		limitGroups(choose, c.NGroupsUsed, rs.order, rs.keep)
	}
	// Top K by selection: highest first, ties to the lower expert index.
	// K is small, so K passes beat sorting.
	taken := rs.taken
	clear(taken)
	for j := range sel {
		best := -1
		for e, v := range choose {
			if !taken[e] && (best < 0 || v > choose[best]) {
				best = e
			}
		}
		taken[best] = true
		sel[j] = best
	}

	var sum float64
	for j, e := range sel {
		w[j] = p[e]
		sum += float64(p[e])
	}
	if c.NormWeights {
		s := max(float32(sum), 6.103515625e-5) // clamped as llama.cpp does, to the smallest normal f16

		for j := range w {
			w[j] /= s
		}
	}
	if c.WeightsScale != 0 && c.WeightsScale != 1 {
		for j := range w {
			w[j] *= c.WeightsScale
		}
	}
}

// routeScratch is the router's scratch: a mark per expert, and an order
// and a mark per expert group.
type routeScratch struct {
	taken []bool
	order []int
	keep  []bool
}

// limitGroups keeps in s (n_expert scores in len(order) groups of equal
// size) only the used best groups, by the sum of each group's two best
// scores, setting the others to -inf. order and keep are scratch of one per
// group.
func limitGroups(s []float32, used int, order []int, keep []bool) {
	nGroups := len(order)
	per := len(s) / nGroups
	score := func(g int) float32 {
		a, b := float32(math.Inf(-1)), float32(math.Inf(-1))
		for _, v := range s[g*per : (g+1)*per] {
			if v > a {
				a, b = v, a
			} else if v > b {
				b = v
			}
		}
		return a + b
	}
	for g := range order {
		order[g] = g
	}
	for j := 0; j < used; j++ { // selection of the used best groups
		best := j
		for k := j + 1; k < nGroups; k++ {
			if score(order[k]) > score(order[best]) {
				best = k
			}
		}
		order[j], order[best] = order[best], order[j]
	}
	clear(keep)
	for _, g := range order[:used] {
		keep[g] = true
	}
	for g := 0; g < nGroups; g++ {
		if !keep[g] {
			for e := g * per; e < (g+1)*per; e++ {
				s[e] = float32(math.Inf(-1))
			}
		}
	}
}
