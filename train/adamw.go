package train

import (
	"math"

	"github.com/qilin-ai/qilin/kernels"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), as
// llm.c's gpt2_update: per parameter, in float32,
//
//	m = β1 m + (1-β1) g,  v = β2 v + (1-β2) g²
//	p -= lr (m/(1-β1^t) / (sqrt(v/(1-β2^t)) + ε) + λ p)
//
// with the decay λ on matrices only (decayed). Frozen tensors are skipped.
type AdamW struct {
	Beta1, Beta2, Eps float32
	WeightDecay       float32

	m, v *paramSet
	task adamTask
}

func newAdamW(params *paramSet, weightDecay float32) *AdamW {
	return &AdamW{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: weightDecay, m: params.like(), v: params.like()}
}

// update applies step t (from 1) with learning rate lr.
func (o *AdamW) update(pool *kernels.Pool, params, grads *paramSet, lr float32, t int) {
	o.task = adamTask{o: o, params: params, grads: grads, lr: lr,
		c1: 1 - float32(math.Pow(float64(o.Beta1), float64(t))),
		c2: 1 - float32(math.Pow(float64(o.Beta2), float64(t)))}
	for _, s := range params.specs {
		if s.frozen {
			continue
		}
		o.task.spec = s
		pool.Parallel(s.size(), 1<<14, &o.task)
	}
}

// adamTask updates a range of one tensor's parameters.
type adamTask struct {
	o             *AdamW
	params, grads *paramSet
	spec          tensorSpec
	lr, c1, c2    float32
}

func (t *adamTask) Run(lo, hi int) {
	o, s := t.o, t.spec
	lo, hi = s.off+lo, s.off+hi
	p, g, m, v := t.params.data[lo:hi], t.grads.data[lo:hi], o.m.data[lo:hi], o.v.data[lo:hi]
	wd := float32(0)
	if decayed(s) {
		wd = o.WeightDecay
	}
	b1, b2 := o.Beta1, o.Beta2
	for i, gi := range g {
		mi := b1*m[i] + (1-b1)*gi
		vi := b2*v[i] + (1-b2)*gi*gi
		m[i], v[i] = mi, vi
		mh, vh := mi/t.c1, vi/t.c2
		p[i] -= t.lr * (mh/(float32(math.Sqrt(float64(vh)))+o.Eps) + wd*p[i])
	}
}

// gradNorm returns the L2 norm of the trainable gradients, summed in
// float64 in a fixed order.
func gradNorm(grads *paramSet) float64 {
	var ss float64
	for _, s := range grads.specs {
		if s.frozen {
			continue
		}
		for _, g := range grads.data[s.off : s.off+s.size()] {
			ss += float64(g) * float64(g)
		}
	}
	return math.Sqrt(ss)
}

// scaleGrads multiplies the trainable gradients by f.
func scaleGrads(grads *paramSet, f float32) {
	for _, s := range grads.specs {
		if !s.frozen {
			scale(grads.data[s.off:s.off+s.size()], f)
		}
	}
}

// Schedule is the learning rate over steps: a linear warmup from 0 to LR
// over Warmup steps, then a cosine decay to MinLR at step Steps.
type Schedule struct {
	LR, MinLR     float64
	Warmup, Steps int
}

// At returns the learning rate of step t (from 1).
func (s Schedule) At(t int) float64 {
	if t <= s.Warmup {
		return s.LR * float64(t) / float64(s.Warmup)
	}
	if t >= s.Steps {
		return s.MinLR
	}
	frac := float64(t-s.Warmup) / float64(s.Steps-s.Warmup)
	return s.MinLR + 0.5*(s.LR-s.MinLR)*(1+math.Cos(math.Pi*frac))
}
