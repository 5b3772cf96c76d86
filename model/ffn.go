package model

import "github.com/qilin-ai/qilin/kernels"

// dense is the SwiGLU feed-forward network: x += W_down (silu(W_gate h) *
// W_up h). The shared experts of an MoE layer are one too.
type dense struct {
	gate, up, down kernels.Matrix // ffn_gate, ffn_up (n_ff, n_embd), ffn_down (n_embd, n_ff)
}

func (d *dense) declare(c *Config, l *layerTensors) { d.declareAs(l, "", c.NEmbd, c.NFF) }

// declareAs declares ffn_{gate,up,down}<suffix> of width ff.
func (d *dense) declareAs(l *layerTensors, suffix string, E, ff int) {
	l.add("ffn_gate"+suffix+".weight", Weight, &d.gate, E, ff)
	l.add("ffn_up"+suffix+".weight", Weight, &d.up, E, ff)
	l.add("ffn_down"+suffix+".weight", Weight, &d.down, ff, E)
}

func (d *dense) matrices() []kernels.Matrix { return []kernels.Matrix{d.gate, d.up, d.down} }

func (d *dense) scratch(c *Config, B int) need { return need{floats: B * (2*c.NFF + c.NEmbd)} }

func (d *dense) forward(r *Runner, h, x []float32, n int) {
	out := r.arena.floats(n * d.down.Rows)
	d.apply(r, out, h, n)
	kernels.Add(x[:len(out)], out)
}

// apply writes the FFN's output for the n rows of h into out (n, n_embd).
func (d *dense) apply(r *Runner, out, h []float32, n int) {
	F := d.gate.Rows
	gate, up := r.arena.floats(n*F), r.arena.floats(n*F)
	r.matmul(gate, d.gate, h, n)
	r.matmul(up, d.up, h, n)
	kernels.SwiGLU(gate, up)
	r.matmul(out, d.down, gate, n)
}
