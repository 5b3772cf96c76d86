package train

import (
	"math"

	"github.com/qilin-ai/qilin/kernels"
)

// The losses at one position, from the student's logits z (n_vocab), each
// with its gradient with respect to z:
//
//   - SFT: cross-entropy of the target token, softmax(z) - onehot;
//   - top-k distillation: the forward KL from the teacher's recorded top-k
//     distribution, the rest of its mass as one bucket, to the student's
//     distribution over the same k tokens plus the bucket of all others;
//   - online distillation: the forward or reverse KL between the teacher's
//     full distribution and the student's.
//
// With a temperature τ both distributions are softened (z/τ) and the KL is
// multiplied by τ², so that its gradients keep their scale as τ varies.

// softmaxRow writes the log-softmax of z/τ (invT = 1/τ) into lp and the
// softmax into q, all (n_vocab). The exponentials are summed in float64.
func softmaxRow(lp, q, z []float32, invT float32) {
	mx := float32(math.Inf(-1))
	for i, v := range z {
		s := v * invT
		lp[i] = s
		mx = max(mx, s)
	}
	for i := range lp {
		lp[i] -= mx
	}
	kernels.Exp(q, lp)
	var sum float64
	for _, v := range q {
		sum += float64(v)
	}
	ls, inv := float32(math.Log(sum)), float32(1/sum)
	for i := range lp {
		lp[i] -= ls
		q[i] *= inv
	}
}

// crossEntropy returns -log softmax(z)[target] and adds w * (softmax(z) -
// onehot(target)) to dz. lp and q are scratch (n_vocab).
func crossEntropy(dz, z, lp, q []float32, target int, w float32) float64 {
	softmaxRow(lp, q, z, 1)
	for i, v := range q {
		dz[i] += w * v
	}
	dz[target] -= w
	return -float64(lp[target])
}

// topkKL returns τ² KL(p ‖ q) for the teacher's top-k distribution p (ids,
// logprobs, the remaining mass 1 - Σp as one bucket) and the student's q =
// softmax(z/τ) over the same ids plus the bucket of every other token, and
// adds w * its gradient to dz. The teacher's recorded probabilities are
// softened as p_j^(1/τ), the bucket as one outcome, and renormalized. lp is
// scratch (n_vocab); mark is scratch (n_vocab) that must be all false and
// is left so. lp and q are scratch (n_vocab).
func topkKL(dz, z, lp, q []float32, mark []bool, ids []int32, logps []float32, tau, w float32) float64 {
	softmaxRow(lp, q, z, 1/tau)
	// The teacher: p_j = exp(logp_j), bucket r = 1 - Σ p_j, each softened.
	var sumP float64
	for _, l := range logps {
		sumP += math.Exp(float64(l))
	}
	rest := max(0, 1-sumP)
	pt := make64(len(ids))
	var zt float64
	for j, l := range logps {
		pt[j] = math.Exp(float64(l) / float64(tau))
		zt += pt[j]
	}
	restT := 0.0
	if rest > 0 {
		restT = math.Pow(rest, 1/float64(tau))
	}
	zt += restT
	// The student's mass outside the teacher's ids.
	for _, id := range ids {
		mark[id] = true
	}
	var qRest float64
	for i, v := range q {
		if !mark[i] {
			qRest += float64(v)
		}
	}
	var kl float64
	for j, id := range ids {
		if p := pt[j] / zt; p > 0 {
			kl += p * (math.Log(p) - float64(lp[id]))
		}
	}
	if restT > 0 {
		pr := restT / zt
		kl += pr * (math.Log(pr) - math.Log(max(qRest, 1e-300)))
	}
	// Gradient τ (q_i - target_i): target is p_j on the teacher's ids and
	// the bucket's mass spread in proportion to q elsewhere.
	bucket := 0.0
	if restT > 0 && qRest > 0 {
		bucket = restT / zt / qRest
	}
	g := w * tau
	fb := float32(bucket)
	for i, v := range q {
		t := v * fb
		if mark[i] {
			t = 0
		}
		dz[i] += g * (v - t)
	}
	for j, id := range ids {
		dz[id] -= g * float32(pt[j]/zt)
		mark[id] = false
	}
	return float64(tau*tau) * kl
}

// fullKL returns τ² KL(p ‖ q) (forward) or τ² KL(q ‖ p) (reverse) between
// the teacher's p = softmax(y/τ) and the student's q = softmax(z/τ), and
// adds w * its gradient with respect to z to dz. s holds four scratch rows
// (4, n_vocab).
func fullKL(dz, z, y, s []float32, reverse bool, tau, w float32) float64 {
	V := len(z)
	lq, q, lp, p := s[:V], s[V:2*V], s[2*V:3*V], s[3*V:4*V]
	softmaxRow(lq, q, z, 1/tau)
	softmaxRow(lp, p, y, 1/tau)
	g := w * tau
	var kl float64
	if !reverse {
		// d/dz = τ (q - p)
		for i := range q {
			if p[i] > 0 {
				kl += float64(p[i]) * float64(lp[i]-lq[i])
			}
			dz[i] += g * (q[i] - p[i])
		}
		return float64(tau*tau) * kl
	}
	// Reverse: KL = Σ q (log q - log p); d/dz_i = τ q_i (log q_i - log p_i - KL).
	for i := range q {
		if q[i] > 0 {
			kl += float64(q[i]) * float64(lq[i]-lp[i])
		}
	}
	k := float32(kl)
	for i := range q {
		if q[i] > 0 {
			dz[i] += g * q[i] * (lq[i] - lp[i] - k)
		}
	}
	return float64(tau*tau) * kl
}

// make64 returns a small float64 slice; the top-k lists are short (at most
// 20 in the OpenAI API), so this stays on the stack in practice.
func make64(n int) []float64 {
	if n <= 32 {
		var a [32]float64
		return a[:n]
	}
	return make([]float64, n)
}
