package engine

import (
	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/watermark"
)

// Watermark returns the Processor that marks one request's output (its
// reasoning and its answer) with key k, through the control hook: a
// redgreen key biases the logits of each position's green tokens, a gumbel
// key is a Drawer that picks the token from the final distribution by the
// keyed Gumbel-max rule. The window is the last k.Context tokens before the
// position, prompt included. A greedy request (Step.Greedy) is left as it
// is: its tokens are not drawn, so they cannot carry a mark. Make one
// Processor per request; k must be valid.
func Watermark(k watermark.Key) Processor {
	m := watermark.NewMarker(k)
	if k.Scheme == watermark.Gumbel {
		return &gumbelDraw{m: m}
	}
	return greenBias{m: m}
}

// greenBias is the redgreen scheme's Processor.
type greenBias struct{ m *watermark.Marker }

func (g greenBias) Process(st *Step) error {
	if !st.Greedy() {
		g.m.WindowAfter(st.Prompt, st.Output).BiasGreen(st.Logits, g.m.Key().Gamma, g.m.Key().Delta)
	}
	return nil
}

// gumbelDraw is the gumbel scheme's Drawer.
type gumbelDraw struct {
	m     *watermark.Marker
	ids   []int     // (n) scratch: the candidates' ids
	probs []float64 // (n) and probabilities
}

func (g *gumbelDraw) Process(*Step) error { return nil }

func (g *gumbelDraw) Draw(st *Step, dist []sample.TokenProb) int {
	g.ids, g.probs = g.ids[:0], g.probs[:0]
	for _, c := range dist {
		g.ids = append(g.ids, c.ID)
		g.probs = append(g.probs, c.Prob)
	}
	i := g.m.WindowAfter(st.Prompt, st.Output).Gumbel(g.ids, g.probs)
	if i < 0 {
		return -1 // no candidate: the sampler's own draw decides
	}
	return g.ids[i]
}
