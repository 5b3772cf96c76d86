package watermark

import (
	"html/template"
	"io"
	"strconv"
	"time"
)

// Report is an evidence report that a person can hand to someone else: the
// texts tested and the suspects read, each with its p-value, a chart of the
// evidence, the parameters and the method. It shows key ids and parameters,
// never secrets.
type Report struct {
	Title     string
	Created   time.Time
	Command   string // the command line that made the report
	Keys      []Key
	Model     string // whose tokenizer the texts were read with
	Threshold float64
	Texts     []TextEvidence
	Suspects  []SuspectEvidence
}

// TextEvidence is one text's detection.
type TextEvidence struct {
	Name    string
	Excerpt string // the start of the text
	Result  Result
	Scores  Scores // the best key's scores, for the chart
}

// SuspectEvidence is one suspect model's radioactivity test.
type SuspectEvidence struct {
	Name   string
	Data   string // the --data directory, if any
	Ours   bool   // the suspect read our marked outputs in Data (ReadingInput.Ours)
	Result RadioResult
	Scores Scores
}

// WriteHTML writes the report as one self-contained HTML page (inline CSS
// and SVG, no script).
func (r *Report) WriteHTML(w io.Writer) error {
	type item struct {
		Name, Excerpt, Verdict, P, Detail string
		Hit                               bool
		Chart                             template.HTML
		Spans                             []Span
	}
	view := struct {
		*Report
		Date           string
		TextItems      []item
		SuspectItems   []item
		PChart         template.HTML
		AnyHit, AnyRad bool
	}{Report: r, Date: r.Created.UTC().Format("2006-01-02 15:04 UTC")}
	var labels []string
	var logps []float64
	keyOf := func(id string) Key {
		for _, k := range r.Keys {
			if k.ID == id {
				return k
			}
		}
		return Key{Scheme: Gumbel}
	}
	for _, t := range r.Texts {
		res := t.Result
		it := item{Name: t.Name, Excerpt: t.Excerpt, P: pLabel(res.LogPValue), Hit: res.Detected, Spans: res.Spans,
			Chart: evidenceChart(keyOf(res.KeyID), t.Scores.S, r.Threshold)}
		it.Verdict = "no watermark found"
		if res.Detected {
			it.Verdict = "watermarked"
			view.AnyHit = true
		}
		it.Detail = detailText(res.Tokens, res.Scored, res.Score, res.Z, res.KeyID, string(res.Scheme))
		view.TextItems = append(view.TextItems, it)
		labels, logps = append(labels, "text "+t.Name), append(logps, res.LogPValue)
	}
	for _, s := range r.Suspects {
		res := s.Result
		it := item{Name: s.Name, P: pLabel(res.LogPValue), Hit: res.Radioactive, Chart: evidenceChart(keyOf(res.KeyID), s.Scores.S, r.Threshold)}
		it.Verdict = "no evidence of training on the marked text"
		if res.Radioactive {
			it.Verdict = "radioactive: trained on the marked text"
			view.AnyRad = true
		}
		it.Detail = detailText(res.Tokens, res.Scored, res.Score, res.Z, res.KeyID, string(res.Scheme)) + "; " + res.Mode + " mode, "
		switch {
		case s.Ours:
			it.Detail += "the suspect read " + itoa(res.Texts) + " of our marked outputs (" + s.Data + "); " +
				itoa(res.Excluded) + " predictions after windows it had read before not scored"
		case s.Data != "":
			it.Detail += itoa(res.Predictions) + " predictions after windows of " + s.Data
		default:
			it.Detail += itoa(res.Texts) + " continuations of its own, " + itoa(res.Predictions) + " predictions"
		}
		view.SuspectItems = append(view.SuspectItems, it)
		labels, logps = append(labels, "suspect "+s.Name), append(logps, res.LogPValue)
	}
	view.PChart = pValueChart(labels, logps, r.Threshold)
	return reportTemplate.Execute(w, view)
}

func detailText(tokens, scored int, score, z float64, key, scheme string) string {
	return itoa(tokens) + " tokens, " + itoa(scored) + " distinct (window, token) pairs scored, score " +
		ftoa(score) + ", z " + ftoa(z) + ", key " + key + " (" + scheme + ")"
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
