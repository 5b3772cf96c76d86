package train

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strings"
)

// Series is one line of a chart.
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool
	Dots   bool // mark each point (sparse series such as validation)
}

// chart palette: distinguishable, and readable in grey.
var chartColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// LossChart renders series as an SVG line chart titled title, x labelled
// xLabel, y labelled yLabel.
func LossChart(title, xLabel, yLabel string, series []Series) []byte {
	const W, H, left, right, top, bottom = 760, 420, 64, 170, 40, 52
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for i := range s.X {
			if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				continue
			}
			x0, x1 = math.Min(x0, s.X[i]), math.Max(x1, s.X[i])
			y0, y1 = math.Min(y0, s.Y[i]), math.Max(y1, s.Y[i])
		}
	}
	if math.IsInf(x0, 1) {
		x0, x1, y0, y1 = 0, 1, 0, 1
	}
	xt, yt := niceTicks(x0, x1, 6), niceTicks(math.Min(y0, 0), y1, 6)
	x0, x1, y0, y1 = xt[0], xt[len(xt)-1], yt[0], yt[len(yt)-1]
	px := func(x float64) float64 { return float64(left) + (x-x0)/(x1-x0)*pw }
	py := func(y float64) float64 { return float64(top) + (1-(y-y0)/(y1-y0))*ph }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	for _, v := range xt {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`, px(v), top, px(v), H-bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(v), H-bottom+16, tickLabel(v))
	}
	for _, v := range yt {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`, left, py(v), W-right, py(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, py(v)+4, tickLabel(v))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", left, top, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", float64(left)+pw/2, H-12, html.EscapeString(xLabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", float64(top)+ph/2, html.EscapeString(yLabel))
	for k, s := range series {
		color := chartColors[k%len(chartColors)]
		var pts []string
		for i := range s.X {
			if !math.IsNaN(s.Y[i]) && !math.IsInf(s.Y[i], 0) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[i]), py(s.Y[i])))
			}
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6"%s points="%s"><title>%s</title></polyline>`+"\n",
			color, dash, strings.Join(pts, " "), html.EscapeString(s.Name))
		if s.Dots {
			for _, p := range pts {
				xy := strings.Split(p, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, xy[0], xy[1], color)
			}
			b.WriteString("\n")
		}
		ly := top + 14 + 20*k
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`, W-right+12, ly, W-right+36, ly, color, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", W-right+42, ly+4, html.EscapeString(s.Name))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for v := math.Floor(lo/step) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, v)
	}
	if ticks[len(ticks)-1] < hi {
		ticks = append(ticks, ticks[len(ticks)-1]+step)
	}
	return ticks
}

func tickLabel(v float64) string {
	if math.Abs(v) < 1e-12 {
		return "0"
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}

// StepSeries returns a run's loss curves from its log: training CE, KD
// where present, validation CE where present, each prefixed by prefix.
func StepSeries(prefix string, steps []Step) []Series {
	var train, kd, val Series
	train.Name, kd.Name, val.Name = prefix+"train loss", prefix+"KD loss", prefix+"val loss"
	kd.Dashed, val.Dots = true, true
	for _, s := range steps {
		train.X, train.Y = append(train.X, float64(s.Step)), append(train.Y, s.Loss)
		if s.KDLoss != nil {
			kd.X, kd.Y = append(kd.X, float64(s.Step)), append(kd.Y, *s.KDLoss)
		}
		if s.ValLoss != nil {
			val.X, val.Y = append(val.X, float64(s.Step)), append(val.Y, *s.ValLoss)
		}
	}
	out := []Series{train}
	if len(kd.X) > 0 {
		out = append(out, kd)
	}
	if len(val.X) > 0 {
		out = append(out, val)
	}
	return out
}

// WriteLossChart writes the loss curves of a run's log as an SVG at path.
func WriteLossChart(path, title string, steps []Step) error {
	svg := LossChart(title, "step", "loss (nats per target token)", StepSeries("", steps))
	if err := replaceFile(path, svg); err != nil {
		return err
	}
	return nil
}
