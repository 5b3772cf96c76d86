package watermark

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Small hand-written SVG charts for the evidence report: a picture a reader
// can check at a glance, with no script and no external file.

const (
	chartW, chartH = 640, 260
	padL, padR     = 64, 16
	padT, padB     = 32, 40 // the legend goes above the plot
)

// evidenceChart draws, over the scored tokens of one text (or one suspect's
// predictions), the running excess of the score over what text without
// the key scores on average, and the excess that p = threshold needs at
// each length: the mark is there where the solid line climbs over the
// dashed one.
func evidenceChart(k Key, scores []float64, threshold float64) template.HTML {
	n := len(scores)
	if n == 0 {
		return ""
	}
	mean := 1.0
	if k.Scheme == RedGreen {
		mean = k.Gamma
	}
	excess := make([]float64, n+1)
	for i, s := range scores {
		excess[i+1] = excess[i] + s - mean
	}
	// The boundary at a few dozen lengths.
	var bx, by []float64
	for _, m := range sampleLengths(n, 48) {
		bx = append(bx, float64(m))
		by = append(by, criticalSum(k, m, threshold)-mean*float64(m))
	}
	lo, hi := 0.0, 0.0
	for _, v := range excess {
		lo, hi = min(lo, v), max(hi, v)
	}
	for _, v := range by {
		hi = max(hi, v)
	}
	hi += 0.05*(hi-lo) + 1
	x := func(i float64) float64 { return padL + (chartW-padL-padR)*i/float64(n) }
	y := func(v float64) float64 { return padT + (chartH-padT-padB)*(hi-v)/(hi-lo) }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="running evidence">`, chartW, chartH, chartW, chartH)
	axes(&sb, lo, hi, y, fmt.Sprintf("scored tokens (%d)", n), "score above chance")
	fmt.Fprintf(&sb, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="zero"/>`, x(0), y(0), x(float64(n)), y(0))
	fmt.Fprintf(&sb, `<polyline class="bound" points="%s"/>`, points(bx, by, x, y))
	xs := make([]float64, n+1)
	for i := range xs {
		xs[i] = float64(i)
	}
	fmt.Fprintf(&sb, `<polyline class="obs" points="%s"/>`, points(xs, excess, x, y))
	// The legend, above the plot: a sample of each line.
	const ly = 14
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="obs"/><text x="%d" y="%d" class="legend">observed</text>`, padL, ly, padL+24, ly, padL+30, ly+4)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="bound"/><text x="%d" y="%d" class="legend">needed for p &lt; %g</text>`, padL+110, ly, padL+134, ly, padL+140, ly+4, threshold)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// pValueChart draws -log10 p of each item as a bar, with the threshold.
func pValueChart(labels []string, logps []float64, threshold float64) template.HTML {
	if len(labels) == 0 {
		return ""
	}
	const barH, gap, left = 22, 8, 220
	h := padT + len(labels)*(barH+gap) + padB
	top := -math.Log10(threshold)
	for _, lp := range logps {
		top = max(top, -lp/math.Ln10)
	}
	top *= 1.1
	const valueW = 90 // room for the value label right of the longest bar
	x := func(v float64) float64 { return left + (chartW-left-padR-valueW)*v/top }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="p-values">`, chartW, h, chartW, h)
	for i, l := range labels {
		yy := padT + i*(barH+gap)
		v := -logps[i] / math.Ln10
		class := "bar"
		if logps[i] < math.Log(threshold) {
			class = "bar hit"
		}
		fmt.Fprintf(&sb, `<text x="%d" y="%d" class="label">%s</text>`, left-6, yy+barH-6, template.HTMLEscapeString(shorten(l, 30)))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" class="%s"/>`, left, yy, math.Max(1, x(v)-left), barH, class)
		// The value right of the bar, or of the threshold line when the
		// bar is shorter.
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="val">%s</text>`, max(x(v), x(-math.Log10(threshold)))+6, yy+barH-6, pLabel(logps[i]))
	}
	ty := h - padB + 4
	fmt.Fprintf(&sb, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="bound"/>`, x(-math.Log10(threshold)), padT-4, x(-math.Log10(threshold)), ty)
	fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="axis">-log10 p (dashed: threshold %g)</text>`, float64(left), h-12, threshold)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

func axes(sb *strings.Builder, lo, hi float64, y func(float64) float64, xlabel, ylabel string) {
	fmt.Fprintf(sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axisline"/>`, padL, padT, padL, chartH-padB)
	fmt.Fprintf(sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axisline"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	for _, v := range niceTicks(lo, hi, 5) {
		fmt.Fprintf(sb, `<text x="%d" y="%.1f" class="tick">%g</text>`, padL-6, y(v)+4, v)
	}
	fmt.Fprintf(sb, `<text x="%d" y="%d" class="axis">%s</text>`, padL, chartH-10, template.HTMLEscapeString(xlabel))
	fmt.Fprintf(sb, `<text x="14" y="%d" class="axis" transform="rotate(-90 14 %d)">%s</text>`, chartH/2+40, chartH/2+40, template.HTMLEscapeString(ylabel))
}

func points(xs, ys []float64, x, y func(float64) float64) string {
	var sb strings.Builder
	for i := range xs {
		fmt.Fprintf(&sb, "%.1f,%.1f ", x(xs[i]), y(ys[i]))
	}
	return strings.TrimSpace(sb.String())
}

// sampleLengths returns up to k lengths from 1 to n, evenly spread.
func sampleLengths(n, k int) []int {
	var out []int
	for i := 1; i <= k; i++ {
		m := max(1, n*i/k)
		if len(out) == 0 || out[len(out)-1] != m {
			out = append(out, m)
		}
	}
	return out
}

// criticalSum returns the score sum over n tokens at which the p-value
// falls to threshold (bisection on the exact tail).
func criticalSum(k Key, n int, threshold float64) float64 {
	target := math.Log(threshold)
	lo, hi := 0.0, float64(n)
	if k.Scheme == Gumbel {
		hi = float64(n)*4 + 60
	}
	for range 60 {
		mid := (lo + hi) / 2
		if logTail(k, n, mid) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

func niceTicks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if span <= 0 {
		return []float64{lo}
	}
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, math.Round(v/step)*step+0) // +0: no "-0" label
	}
	return out
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}

// pLabel writes a p-value from its natural log.
func pLabel(logp float64) string {
	if logp > math.Log(1e-300) {
		return fmt.Sprintf("p = %.2g", math.Exp(logp))
	}
	return fmt.Sprintf("p = 10^%.0f", logp/math.Ln10)
}
