package model

import "github.com/qilin-ai/qilin/kernels"

// moe is a mixture-of-experts FFN: a router scores the experts for each
// token, the top n_expert_used are evaluated as SwiGLU FFNs, and their
// outputs, weighted by the router, are added to the residual stream.
type moe struct {
	router         kernels.Matrix   // ffn_gate_inp (n_expert, n_embd)
	gate, up, down []kernels.Matrix // ffn_{gate,up}_exps[e] (n_ff_exp, n_embd), ffn_down_exps[e] (n_embd, n_ff_exp)
}

func (m *moe) declare(c *Config, l *layerTensors) {
	E, F, X := c.NEmbd, c.NFFExpert, c.NExpert
	l.add("ffn_gate_inp.weight", Weight, &m.router, E, X)
	l.add("ffn_gate_exps.weight", Weight, &m.gate, E, F, X)
	l.add("ffn_up_exps.weight", Weight, &m.up, E, F, X)
	l.add("ffn_down_exps.weight", Weight, &m.down, F, E, X)
}

func (m *moe) matrices() []kernels.Matrix {
	return []kernels.Matrix{m.router, m.gate[0], m.up[0], m.down[0]}
}

func (m *moe) scratch(c *Config, B int) need {
	E, F, NE, K := c.NEmbd, c.NFFExpert, c.NExpert, c.NExpertUse
	return need{
		floats: B*NE + B*K + B*E + 2*B*F + B*E,
		ints:   B*K + B,
		bools:  NE,
	}
}

// forward routes each token to its top experts by softmax router weight and
// adds the weighted sum of their SwiGLU FFN outputs. Tokens routed to the
// same expert are evaluated together so each expert's weights are read once.
func (m *moe) forward(r *Runner, h, x []float32, n int) {
	c := &r.m.Config
	E, F, NE, K := c.NEmbd, c.NFFExpert, c.NExpert, c.NExpertUse
	route, selW := r.arena.floats(n*NE), r.arena.floats(n*K)
	sel, expRows := r.arena.ints(n*K), r.arena.ints(n)
	taken := r.arena.bools(NE)
	r.matmul(route, m.router, h, n)
	for i := 0; i < n; i++ {
		p := route[i*NE : (i+1)*NE]
		kernels.Softmax(p)
		// Top K by selection: highest probability first, ties to the lower
		// expert index. K is small, so K passes beat sorting.
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
			sel[i*K+j] = best
			selW[i*K+j] = p[best]
			sum += p[best]
		}
		if c.Family.NormTopKProb {
			for j := 0; j < K; j++ {
				selW[i*K+j] /= sum
			}
		}
	}
	xin := r.arena.floats(n * E)
	gate, up := r.arena.floats(n*F), r.arena.floats(n*F)
	out := r.arena.floats(n * E)
	for e := 0; e < NE; e++ {
		rows := expRows[:0]
		for i := 0; i < n; i++ {
			for j := 0; j < K; j++ {
				if sel[i*K+j] == e {
					rows = append(rows, i)
				}
			}
		}
		if len(rows) == 0 {
			continue
		}
		nr := len(rows)
		for a, i := range rows {
			copy(xin[a*E:(a+1)*E], h[i*E:(i+1)*E])
		}
		r.matmul(gate, m.gate[e], xin, nr)
		r.matmul(up, m.up[e], xin, nr)
		kernels.SwiGLU(gate[:nr*F], up[:nr*F])
		r.matmul(out, m.down[e], gate, nr)
		for a, i := range rows {
			var w float32
			for j := 0; j < K; j++ {
				if sel[i*K+j] == e {
					w = selW[i*K+j]
				}
			}
			kernels.Axpy(x[i*E:(i+1)*E], w, out[a*E:(a+1)*E])
		}
	}
}
