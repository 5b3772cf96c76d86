package report

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// A chart is drawn as data: the shapes are computed here, in viewBox
// units, and the page's template writes them out as inline SVG, so that
// every text (a model's name is hostile text too) passes through
// html/template's escaping. Colours come from the page's style sheet by
// class: "s0" to "s7" for a model's series, the others by what they mark.

// chart is one inline SVG picture.
type chart struct {
	Label  string // the picture's accessible name
	W, H   float64
	Rects  []shape
	Lines  []shape
	Paths  []polyline
	Dots   []dot
	Texts  []label
	Legend []legendEntry
}

// shape is a rectangle (X, Y, W, H) or a line (X, Y) to (X2, Y2).
type shape struct {
	X, Y, W, H, X2, Y2 float64
	Class              string
	Title              string // the tooltip: the full name and value
}

type polyline struct {
	Points string
	Class  string
}

type dot struct {
	X, Y  float64
	Class string
	Title string
}

type label struct {
	X, Y   float64
	Anchor string // start, middle or end
	Class  string
	Text   string
	Rotate bool // turned a quarter to the left (a vertical axis title)
}

type legendEntry struct {
	X, Y  float64
	Class string
	Text  string
}

// bar is one row of a bar chart; Lo and Hi, when Hi > Lo, draw an error bar.
type bar struct {
	Label     string
	Value     float64
	Lo, Hi    float64
	Series    int    // the colour, s0 to s7
	ValueText string // printed right of the bar
}

// Horizontal bar charts leave room for the labels on the left and for
// the printed value on the right.
const (
	chartWidth = 600.0
	rowH       = 24.0
	barGap     = 6.0
	labelChars = 30 // longer labels are cut in the middle
	topPad     = 10.0
	axisPad    = 42.0
)

// barChart draws one horizontal bar per row from 0 to its Value, on an
// axis from 0 to top (0: the largest value or upper bound), with its
// error bar when it has one. xTitle names the axis; ticks formats a tick.
func barChart(name, xTitle string, rows []bar, top float64, ticks func(float64) string) *chart {
	longest := 0
	for _, r := range rows {
		longest = max(longest, utf8.RuneCountInString(cut(r.Label, labelChars)))
		top = max(top, r.Value, r.Hi)
	}
	if top <= 0 {
		top = 1
	}
	left := 12 + 6.5*float64(longest)
	right := chartWidth - 78
	x := func(v float64) float64 { return left + (right-left)*v/top }
	c := &chart{Label: name, W: chartWidth, H: topPad + float64(len(rows))*(rowH+barGap) + axisPad}
	bottom := c.H - axisPad + 4
	for _, t := range niceScale(top, 5) {
		c.Lines = append(c.Lines, shape{X: x(t), Y: topPad - 4, X2: x(t), Y2: bottom, Class: "grid"})
		c.Texts = append(c.Texts, label{X: x(t), Y: bottom + 14, Anchor: "middle", Class: "tick", Text: ticks(t)})
	}
	c.Texts = append(c.Texts, label{X: (left + right) / 2, Y: c.H - 6, Anchor: "middle", Class: "axis", Text: xTitle})
	for i, r := range rows {
		y := topPad + float64(i)*(rowH+barGap)
		title := r.Label + ": " + r.ValueText
		series := fmt.Sprintf("s%d", r.Series%8)
		c.Texts = append(c.Texts, label{X: left - 6, Y: y + rowH/2 + 4, Anchor: "end", Class: "name", Text: cut(r.Label, labelChars)})
		c.Rects = append(c.Rects, shape{X: left, Y: y, W: max(x(r.Value)-left, 1), H: rowH, Class: "bar " + series, Title: title})
		end := x(r.Value)
		if r.Hi > r.Lo {
			mid := y + rowH/2
			c.Lines = append(c.Lines,
				shape{X: x(r.Lo), Y: mid, X2: x(r.Hi), Y2: mid, Class: "err"},
				shape{X: x(r.Lo), Y: mid - 6, X2: x(r.Lo), Y2: mid + 6, Class: "err"},
				shape{X: x(r.Hi), Y: mid - 6, X2: x(r.Hi), Y2: mid + 6, Class: "err"})
			end = max(end, x(r.Hi))
		}
		c.Texts = append(c.Texts, label{X: end + 5, Y: y + rowH/2 + 4, Anchor: "start", Class: "value", Text: r.ValueText})
	}
	c.Lines = append(c.Lines, shape{X: left, Y: topPad - 4, X2: left, Y2: bottom, Class: "axisline"})
	return c
}

// point is one measurement of a line chart, with its 95% interval.
type point struct {
	X         int // the index of its category on the horizontal axis
	Y, Lo, Hi float64
	Text      string // the tooltip
}

// series is one model's line.
type series struct {
	Name   string
	Series int
	Points []point
}

// lineChart draws each series over categories spread evenly along the
// horizontal axis (the thinking budgets: 0, 256, 1024, unbounded are
// steps, not distances), on a vertical axis from 0 to 1 shown as percent.
func lineChart(name, xTitle, yTitle string, cats []string, all []series) *chart {
	const left, right, top, plotH = 58.0, chartWidth - 16, 14.0, 220.0
	legendRows := (len(all) + 1) / 2
	c := &chart{Label: name, W: chartWidth, H: top + plotH + 58 + 18*float64(legendRows)}
	bottom := top + plotH
	x := func(i int) float64 {
		if len(cats) == 1 {
			return (left + right) / 2
		}
		return left + 20 + (right-left-40)*float64(i)/float64(len(cats)-1)
	}
	y := func(v float64) float64 { return bottom - plotH*v }
	for _, t := range niceScale(1, 5) {
		c.Lines = append(c.Lines, shape{X: left, Y: y(t), X2: right, Y2: y(t), Class: "grid"})
		c.Texts = append(c.Texts, label{X: left - 6, Y: y(t) + 4, Anchor: "end", Class: "tick", Text: percent(t, 0)})
	}
	for i, cat := range cats {
		c.Texts = append(c.Texts, label{X: x(i), Y: bottom + 16, Anchor: "middle", Class: "tick", Text: cat})
	}
	c.Lines = append(c.Lines,
		shape{X: left, Y: top, X2: left, Y2: bottom, Class: "axisline"},
		shape{X: left, Y: bottom, X2: right, Y2: bottom, Class: "axisline"})
	c.Texts = append(c.Texts,
		label{X: (left + right) / 2, Y: bottom + 36, Anchor: "middle", Class: "axis", Text: xTitle},
		label{X: 14, Y: top + plotH/2, Anchor: "middle", Class: "axis", Text: yTitle, Rotate: true})
	for n, s := range all {
		class := fmt.Sprintf("s%d", s.Series%8)
		pts := ""
		for _, p := range s.Points {
			if p.Hi > p.Lo {
				c.Lines = append(c.Lines,
					shape{X: x(p.X), Y: y(p.Lo), X2: x(p.X), Y2: y(p.Hi), Class: "err " + class},
					shape{X: x(p.X) - 4, Y: y(p.Lo), X2: x(p.X) + 4, Y2: y(p.Lo), Class: "err " + class},
					shape{X: x(p.X) - 4, Y: y(p.Hi), X2: x(p.X) + 4, Y2: y(p.Hi), Class: "err " + class})
			}
			c.Dots = append(c.Dots, dot{X: x(p.X), Y: y(p.Y), Class: class, Title: s.Name + ": " + p.Text})
			pts += fmt.Sprintf("%.1f,%.1f ", x(p.X), y(p.Y))
		}
		c.Paths = append(c.Paths, polyline{Points: pts, Class: "line " + class})
		lx, ly := left+float64(n%2)*(right-left)/2, bottom+58+18*float64(n/2)
		c.Legend = append(c.Legend, legendEntry{X: lx, Y: ly, Class: class, Text: cut(s.Name, 34)})
	}
	return c
}

// niceScale returns about n round tick values from 0 to top.
func niceScale(top float64, n int) []float64 {
	raw := top / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	if !(mag > 0) || math.IsInf(mag, 0) {
		return []float64{0, top} // no round steps at this scale
	}
	step := 10 * mag
	for _, f := range []float64{1, 2, 2.5, 5} {
		if f*mag >= raw {
			step = f * mag
			break
		}
	}
	var out []float64
	for i := 0; i <= n+1 && float64(i)*step <= top*(1+1e-9); i++ {
		out = append(out, float64(i)*step)
	}
	return out
}

// cut shortens s to at most n characters, keeping its start and end (a
// model's file name and its quantization both matter).
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

// percent writes a fraction as a percentage with d decimals.
func percent(v float64, d int) string {
	return strconv.FormatFloat(100*v, 'f', d, 64) + "%"
}
