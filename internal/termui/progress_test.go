package termui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock advances only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func lines(s string) []string            { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
func frames(s string) []string           { return strings.Split(s, "\r")[1:] }
func mib(n float64) int64                { return int64(n * (1 << 20)) }
func (c *fakeClock) seconds(n float64) func() {
	return func() { c.add(time.Duration(n * float64(time.Second))) }
}

func TestPlainLines(t *testing.T) {
	var out bytes.Buffer
	clk := newClock()
	b := newBar(&out, "model.gguf", mib(100), false, 80, clk.now)
	b.Set(mib(10)) // resumed: 10 MiB already on disk
	for i := 1; i <= 12; i++ {
		clk.add(time.Second)
		b.Set(mib(10) + mib(float64(i))) // 1 MiB/s
	}
	b.Finish()
	want := []string{
		"model.gguf:  15% 15.0 MiB/100.0 MiB 1.0 MiB/s ETA 1m25s",
		"model.gguf:  20% 20.0 MiB/100.0 MiB 1.0 MiB/s ETA 1m20s",
		"model.gguf:  22% 22.0 MiB/100.0 MiB 1.0 MiB/s ETA 1m18s",
	}
	if diff := cmp.Diff(want, lines(out.String())); diff != "" {
		t.Errorf("plain output every 5s, resumed bytes not counted in the speed (-want +got):\n%s", diff)
	}
	b.Set(mib(50))
	b.Finish()
	if n := len(lines(out.String())); n != 3 {
		t.Errorf("output after Finish: %d lines", n)
	}
}

func TestTerminalBar(t *testing.T) {
	var out bytes.Buffer
	clk := newClock()
	b := newBar(&out, "DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf", 1000<<20, true, 100, clk.now)
	b.Set(0)
	clk.add(50 * time.Millisecond)
	b.Set(1 << 20) // too soon to redraw
	clk.add(2 * time.Second)
	b.Set(500 << 20)
	b.Finish()
	got := frames(out.String())
	if len(got) != 3 {
		t.Fatalf("%d frames, want 3 (start, one redraw, finish): %q", len(got), out.String())
	}
	mid := got[1]
	for _, want := range []string{"...", "Q4_K_M.gguf [", " 50% 500.0 MiB/1000.0 MiB", "243.9 MiB/s ETA 2s", "\x1b[K"} {
		if !strings.Contains(mid, want) {
			t.Errorf("frame %q lacks %q", mid, want)
		}
	}
	bar := mid[strings.Index(mid, "[")+1 : strings.Index(mid, "]")]
	if fill := strings.Count(bar, "="); len(bar) < 10 || fill < len(bar)/2-1 || fill > len(bar)/2+1 {
		t.Errorf("bar %q of %d columns is %d filled at 50%%", bar, len(bar), fill)
	}
	if w := len(strings.TrimSuffix(mid, "\x1b[K")); w > 99 {
		t.Errorf("frame of %d columns on a 100-column terminal", w)
	}
	if !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("Finish did not end the line")
	}
	// A narrow terminal drops the bar and shortens the label from the left.
	out.Reset()
	b = newBar(&out, "DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf", 1000<<20, true, 50, clk.now)
	b.Set(10 << 20)
	f := frames(out.String())[0]
	if strings.Contains(f, "] ") || !strings.Contains(f, "...") || !strings.Contains(f, "Q4_K_M.gguf") {
		t.Errorf("narrow frame %q", f)
	}
	if w := len(strings.TrimSuffix(f, "\x1b[K")); w > 49 {
		t.Errorf("frame of %d columns on a 50-column terminal", w)
	}
}

func TestUnknownTotal(t *testing.T) {
	var out bytes.Buffer
	clk := newClock()
	b := newBar(&out, "x", 0, false, 80, clk.now)
	b.Set(0)
	clk.add(5 * time.Second)
	b.Set(5 << 20)
	if diff := cmp.Diff("x: 5.0 MiB 1.0 MiB/s\n", out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFormats(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	got := []string{
		Bytes(0), Bytes(1023), Bytes(1536), Bytes(392_000_000), Bytes(1 << 40), Bytes(5 << 50),
		Duration(45 * time.Second), Duration(185 * time.Second), Duration(7260 * time.Second),
		Ago(time.Time{}, now), Ago(now.Add(-10*time.Second), now), Ago(now.Add(-time.Minute), now),
		Ago(now.Add(-3*time.Hour), now), Ago(now.Add(-50*time.Hour), now),
	}
	want := []string{
		"0 B", "1023 B", "1.5 KiB", "373.8 MiB", "1.0 TiB", "5.0 PiB",
		"45s", "3m05s", "2h01m",
		"never", "just now", "1 minute ago", "3 hours ago", "2 days ago",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCountBar(t *testing.T) {
	var buf bytes.Buffer
	b := NewCountBar(&buf, "scoring", 400, "tokens")
	b.Set(0)
	b.Set(400)
	b.Finish()
	if out := buf.String(); !strings.Contains(out, "400 tokens/400 tokens") || strings.Contains(out, "B/") {
		t.Errorf("count bar printed %q, want counts of tokens", out)
	}
}

func TestCounter(t *testing.T) {
	var out bytes.Buffer
	clk := newClock()
	b := newBar(&out, "train", 200, false, 80, clk.now)
	b.countUnits("steps")
	b.Set(0)
	for i := 1; i <= 10; i++ {
		clk.add(time.Second)
		b.SetNote("loss 2.314")
		b.Set(int64(2 * i)) // 2 steps/s
	}
	want := []string{
		"train:   5% 10 steps/200 steps 2 steps/s ETA 1m35s loss 2.314",
		"train:  10% 20 steps/200 steps 2 steps/s ETA 1m30s loss 2.314",
	}
	if diff := cmp.Diff(want, lines(out.String())); diff != "" {
		t.Errorf("counter lines (-want +got):\n%s", diff)
	}
}
