package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/kernels"
)

// tinyConfig is a model small enough for finite differences of the whole
// forward: two layers, GQA 4/2, a vocabulary of 37.
func tinyConfig(arch string, tied bool) Config {
	return Config{Arch: arch, NVocab: 37, NEmbd: 16, NLayer: 2, NHead: 4, NHeadKV: 2, HeadDim: 4, NFF: 24,
		NCtx: 64, RopeBase: 10000, NormEps: 1e-5, Tied: tied}
}

// roughen redraws a model's trainable parameters with a larger spread than
// the initialization (matrices with standard deviation std, norms around
// 1), so that every path carries gradient of some size.
func roughen(m *Model, rng *rand.Rand, std float64) {
	for _, s := range m.params.specs {
		if s.frozen {
			continue
		}
		v := m.params.data[s.off : s.off+s.size()]
		for i := range v {
			if strings.HasSuffix(s.name, "norm.weight") {
				v[i] = float32(1 + 0.3*rng.NormFloat64())
			} else {
				v[i] = float32(std * rng.NormFloat64())
			}
		}
	}
}

// addTopK gives some targets of b a teacher top-k list.
func addTopK(rng *rand.Rand, b *Batch, vocab int) {
	b.KDID, b.KDLogp = nil, nil
	for i := range b.Target {
		b.KDOff[i] = int32(len(b.KDID))
		if b.Target[i] >= 0 && rng.IntN(2) == 0 {
			k := 1 + rng.IntN(4)
			left := 1.0
			for _, id := range rng.Perm(vocab)[:k] {
				p := left * (0.2 + 0.5*rng.Float64())
				left -= p
				b.KDID = append(b.KDID, int32(id))
				b.KDLogp = append(b.KDLogp, float32(math.Log(p)))
			}
		}
	}
	b.KDOff[len(b.Target)] = int32(len(b.KDID))
}

// checkModelGrad compares the model's gradients of the weighted loss with
// finite differences of the float64 twin, a sample of entries per tensor.
func checkModelGrad(t *testing.T, m *Model, b *Batch, w lossWeights, perTensor int) {
	rng := rand.New(rand.NewPCG(9, 9))
	ref := newRef64(m)
	m.zeroGrad()
	m.step(b, w)
	loss := func() float64 { return ref.loss64(b, w) }
	for _, s := range m.params.specs {
		if s.frozen {
			continue
		}
		checkGradTol(t, s.name, ref.w[s.name], m.grads.get(s.name), sample(rng, s.size(), perTensor), loss, gradTolModel)
	}
}

func TestModelGrad(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, tc := range []struct {
		arch    string
		tied    bool
		kd      string
		tau     float32
		reverse bool
	}{
		{"llama", true, "none", 1, false},
		{"qwen2", false, "topk", 2, false},
		{"llama", false, "online", 1.5, true},
		{"qwen2", true, "online", 1, false},
	} {
		t.Run(fmt.Sprintf("%s/tied=%v/kd=%s", tc.arch, tc.tied, tc.kd), func(t *testing.T) {
			c := tinyConfig(tc.arch, tc.tied)
			rng := rand.New(rand.NewPCG(7, 7))
			m, err := NewStudent(c, pool, 2, 9, 1)
			if err != nil {
				t.Fatal(err)
			}
			roughen(m, rng, 0.4)
			b := testBatch(rng, 2, 9, c.NVocab)
			b.Target[3] = -1 // a position without loss
			w := lossWeights{ce: 0.3, kd: 0.5, tau: tc.tau, reverse: tc.reverse}
			switch tc.kd {
			case "topk":
				addTopK(rng, b, c.NVocab)
			case "online":
				w.teacher = to32(randVec64(rng, 2*9*c.NVocab, 2))
			}
			checkModelGrad(t, m, b, w, 10)
		})
	}
}
