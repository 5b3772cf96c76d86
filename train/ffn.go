package train

import "github.com/qilin-ai/qilin/kernels"

// SwiGLU, the activation of the feed-forward block:
//
//	a = silu(g) ⊙ u, silu(g) = g * sigmoid(g)
//
// The forward is kernels.SwiGLU, the arithmetic inference uses.

// swigluForward: g (n), u (n) -> a (n).
func swigluForward(a, g, u []float32) {
	copy(a, g)
	kernels.SwiGLU(a, u[:len(a)])
}

// swigluBackward: da (n), g (n), u (n) -> dg (n), du (n), overwritten;
// scratch holds n floats. With σ = sigmoid(g): du = da * g σ and
// dg = da * u * σ (1 + g (1 - σ)).
func swigluBackward(dg, du, da, g, u, scratch []float32) {
	e := scratch[:len(g)]
	for i, v := range g {
		e[i] = -v
	}
	kernels.Exp(e, e)
	for i, v := range g {
		sig := 1 / (1 + e[i])
		d := da[i]
		du[i] = d * v * sig
		dg[i] = d * u[i] * sig * (1 + v*(1-sig))
	}
}
