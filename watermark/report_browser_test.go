package watermark

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// The report, rendered by a real browser (Debian's chromium, headless):
// its charts paint (the evidence line, the bound, the bars), the verdicts
// show in their colours, and nothing spills out of the page's column. It
// skips without chromium unless QILIN_REQUIRE_BROWSER=1; QILIN_CHROMIUM
// names another browser binary, QILIN_SCREENSHOTS a folder that keeps the
// screenshot.
func TestReportBrowser(t *testing.T) {
	chromium := os.Getenv("QILIN_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		testdata.SkipMissing(t, "QILIN_REQUIRE_BROWSER", "no browser at "+chromium+" (set QILIN_CHROMIUM): the report's browser test needs chromium")
	}
	rep := browserReport()
	dir := t.TempDir()
	if d := os.Getenv("QILIN_SCREENSHOTS"); d != "" {
		dir = d
	}
	page := filepath.Join(dir, "watermark-report.html")
	shot := filepath.Join(dir, "watermark-report.png")
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const width, height = 1100, 3600
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--screenshot="+shot, "--window-size=1100,3600", "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Fatalf("screenshot is %v, want %dx%d", b, width, height)
	}
	for _, c := range []struct {
		what string
		rgb  [3]uint8
		min  int
	}{
		{"evidence line", [3]uint8{0x1f, 0x5f, 0xa8}, 500},
		{"p < threshold bound", [3]uint8{0xc0, 0x39, 0x2b}, 300},
		{"bars of the p-values", [3]uint8{0x99, 0xaa, 0xbb}, 20},
		{"watermarked verdict", [3]uint8{0xa4, 0x00, 0x00}, 100},
		{"no-evidence verdict", [3]uint8{0x2d, 0x6a, 0x2d}, 100},
	} {
		if n := countColor(img, img.Bounds(), c.rgb); n < c.min {
			t.Errorf("%s: %d pixels of #%02x%02x%02x, want >= %d (%s)", c.what, n, c.rgb[0], c.rgb[1], c.rgb[2], c.min, shot)
		}
	}
	// The column is 760 px wide and centred: the outer 100 px on each side
	// stay blank.
	for _, r := range []image.Rectangle{image.Rect(0, 0, 100, height), image.Rect(width-100, 0, width, height)} {
		if n := countNonWhite(img, r); n > 0 {
			t.Errorf("%d pixels drawn in the margin %v: something is wider than the page (%s)", n, r, shot)
		}
	}
}

// browserReport is a report of the simulated model's texts and suspects:
// a marked text and an unmarked one, a student trained on marked answers
// and the teacher, both reading the answers.
func browserReport() *Report {
	rng := rand.New(rand.NewPCG(60, 60))
	k := randomKey(rng, Gumbel)
	k.ID = "key-a"
	rep := &Report{Title: "Watermark evidence report", Created: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC),
		Command: "qilin watermark report --key-file key.json --text marked.txt --text plain.txt --model stories.gguf --suspect student.gguf --suspect teacher.gguf --data marked --out report.html",
		Keys:    []Key{k}, Model: "stories.gguf", Threshold: DefaultThreshold}
	for _, name := range []string{"marked.txt", "plain.txt"} {
		var mk *Marker
		if name == "marked.txt" {
			mk = NewMarker(k)
		}
		toks := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 300, mk)
		rep.Texts = append(rep.Texts, TextEvidence{Name: name, Excerpt: "Once upon a time, there was a little dog.", Result: Detect(toks, rep.Keys, Options{}), Scores: ScoreText(toks, k)})
	}
	var answers [][]int
	for range 60 {
		p := defaultLM.randomPrompt(rng)
		answers = append(answers, append(p, defaultLM.generate(rng, p, 100, NewMarker(k))...))
	}
	student := trainStudent(defaultLM, k.Context, answers[:3])
	for _, s := range []struct {
		name string
		pred func([]int) []int
	}{
		{"student.gguf", student.preds},
		{"teacher.gguf", func(text []int) []int { return copierPreds(text, 8, len(text)+1) }},
	} {
		in := readOurs(answers, 8, s.pred)
		sc, _, _ := ScoreReading(in, k)
		rep.Suspects = append(rep.Suspects, SuspectEvidence{Name: s.name, Data: "marked", Ours: true, Result: Radioactive(in, rep.Keys, rep.Threshold), Scores: sc})
	}
	return rep
}

// countColor counts the pixels of r within 12 of rgb in every channel.
func countColor(img image.Image, r image.Rectangle, rgb [3]uint8) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if near(c.R, rgb[0]) && near(c.G, rgb[1]) && near(c.B, rgb[2]) {
				n++
			}
		}
	}
	return n
}

func countNonWhite(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if c.R < 250 || c.G < 250 || c.B < 250 {
				n++
			}
		}
	}
	return n
}

func near(a, b uint8) bool { return int(a)-int(b) <= 12 && int(b)-int(a) <= 12 }
