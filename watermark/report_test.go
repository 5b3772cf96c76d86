package watermark

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestReportHTML(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 50))
	k, other := randomKey(rng, Gumbel), randomKey(rng, RedGreen)
	k.ID, other.ID = "key-a", "key-b"
	keys := []Key{k, other}
	marked := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 200, NewMarker(k))
	plain := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 200, nil)
	rep := &Report{Title: "Evidence <test>", Created: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), Keys: keys, Threshold: 1e-6}
	for name, toks := range map[string][]int{"marked.txt": marked, "plain.txt": plain} {
		r := Detect(toks, keys, Options{})
		rep.Texts = append(rep.Texts, TextEvidence{Name: name, Excerpt: "a <b> & c", Result: r, Scores: ScoreText(toks, keys[0])})
	}
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<title>Evidence &lt;test&gt;</title>", `id="summary"`, `id="method"`, `id="limits"`, `id="parameters"`,
		"marked.txt", "plain.txt", "key-a", "key-b", "a &lt;b&gt; &amp; c", `aria-label="running evidence"`, `aria-label="p-values"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Count(page, "no watermark found") < 1 || !strings.Contains(page, ">watermarked</span>") {
		t.Error("report does not give both verdicts")
	}
	for _, key := range keys {
		if strings.Contains(page, hex.EncodeToString(key.Secret)) {
			t.Fatal("report shows a secret")
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("report is not self-contained (script or external reference)")
	}
	// Every chart is well-formed XML.
	for _, svg := range regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1) {
		d := xml.NewDecoder(strings.NewReader(strings.ReplaceAll(svg, "&lt;", "&#60;")))
		for {
			if _, err := d.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Errorf("chart is not well-formed: %v\n%s", err, svg[:min(200, len(svg))])
				}
				break
			}
		}
	}
}

// criticalSum is where the exact tail crosses the threshold.
func TestCriticalSum(t *testing.T) {
	for _, k := range []Key{{Scheme: Gumbel}, {Scheme: RedGreen, Gamma: 0.25}} {
		for _, n := range []int{1, 10, 200} {
			s := criticalSum(k, n, 1e-6)
			if k.Scheme == RedGreen && n == 1 {
				if s != 1 { // unreachable: 1 green token is p = 0.25
					t.Errorf("redgreen n=1: critical sum %g, want 1 (the most there is)", s)
				}
				continue
			}
			if logTail(k, n, s) > -13.8155 || (k.Scheme == Gumbel && logTail(k, n, s-1e-6) < -13.8156) {
				t.Errorf("%s n=%d: critical sum %g gives ln p %g", k.Scheme, n, s, logTail(k, n, s))
			}
		}
	}
}
